"""Classes found by being there: one module each in a package (artifacts, heuristic rules,
acquisition kinds), so that adding one is adding a module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TypeVar, cast

T = TypeVar("T")


def shipped_classes(package: ModuleType, base: Callable[..., T]) -> Iterator[type[T]]:
    """Every concrete subclass of the class `base` defined in a module of `package` or of its
    subpackages (modules in name order, a subpackage's modules where its name sorts). (`base` is typed
    as a callable because mypy refuses an abstract class for a type[T].)"""
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        if module_info.ispkg:
            yield from shipped_classes(module, base)
            continue
        for obj in list(vars(module).values()):
            # `base in __mro__`, not issubclass: on an ABC, issubclass of a class that is not a subclass
            # asks every subclass the ABC has, and records and rules are many (most of discovery's
            # time went there). Only classes registered with ABC.register differ; none is used here.
            if (
                isinstance(obj, type)
                and obj.__module__ == module.__name__
                and base in obj.__mro__
                and not inspect.isabstract(obj)
            ):
                yield cast(type[T], obj)
