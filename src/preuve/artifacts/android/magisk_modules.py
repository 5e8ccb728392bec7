"""Magisk modules on a rooted phone, as AndroidQF collects them (its ``magisk_modules`` module).

With root access already working on the phone, AndroidQF lists ``/data/adb/modules`` and writes
``magisk_modules/manifest.json``: its schema version (1), a status (``collected``, ``partial``,
``no_modules``, ``root_unavailable``, ``collection_failed``) and one entry per module folder, with
the module's ``module.prop`` copied to ``magisk_modules/NNNN/module.prop`` when it could be, and which
of its state files (``disable``, ``remove``, ``update``) exist. A Magisk module runs with root at every
boot: each is one record, with what its ``module.prop`` says of it (id, name, version, author,
description, update address).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.policy import member_name
from preuve.model import Kind, Observable, Record

MANIFEST = f"{AQF}/magisk_modules/manifest.json"
_MAX_PROP_BYTES = 1024 * 1024  # AndroidQF copies no module.prop larger (maxModulePropSize)
_MAX_MODULES = 4096
_MAX_VALUE_CHARS = 4096  # of a property kept (a module.prop is a few short lines)
_STATE_FILES = ("disable", "remove", "update")
# The manifest's statuses that mean modules may be missing from it, and why.
_INCOMPLETE = {
    "partial": "AndroidQF could not collect every module's metadata",
    "collection_failed": "AndroidQF could not list the modules",
}


@dataclass(kw_only=True)
class MagiskModule(Record):
    """One folder of /data/adb/modules, and what its module.prop says (None for what it does not)."""

    record_type: ClassVar[str] = "android:magisk_modules:module"
    device_path: str | None
    directory_name: str | None
    module_prop: str | None  # AndroidQF's status of its module.prop: "collected", "missing", "too_large"…
    module_id: str | None
    name: str | None
    version: str | None
    version_code: str | None
    author: str | None
    description: str | None
    update_json: str | None  # where Magisk looks for the module's updates
    disabled: bool | None  # None when its state files could not all be checked
    removal_pending: bool | None
    update_pending: bool | None

    def observables(self) -> Iterator[Observable]:
        if self.device_path:
            yield Observable(Kind.FILE_PATH, self.device_path)
        if self.update_json and self.update_json.lower().startswith(("http://", "https://")):
            yield Observable(Kind.URL, self.update_json)

    def summary(self) -> str:
        label = self.module_id or self.directory_name or self.device_path or "?"
        return f"Magisk module {label}" + (f" ({self.name})" if self.name and self.name != label else "")


def module_properties(text: str) -> dict[str, str]:
    """The ``key=value`` lines of a module.prop (comments and lines without ``=`` left out), as Magisk
    reads them: the first ``=`` splits, both sides trimmed, a later line replacing an earlier one."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key.strip():
            found[key.strip()] = value.strip()[:_MAX_VALUE_CHARS]
    return found


def _text(value: object) -> str | None:
    return value[:_MAX_VALUE_CHARS] if isinstance(value, str) and value else None


class MagiskModules(Artifact):
    name = "android_magisk_modules"
    platform = "android"
    title = "Magisk modules (AndroidQF magisk_modules/)"
    paths: ClassVar[tuple[str, ...]] = (MANIFEST,)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        manifest = load_json(ctx, path)
        if not isinstance(manifest, dict):
            raise EvidenceError(path, "expected a JSON object")
        if manifest.get("schema_version") != 1:
            raise EvidenceError(path, f"schema version {manifest.get('schema_version')!r} is not one preuve reads (1)")
        status = manifest.get("status")
        if status == "root_unavailable":
            ctx.warn(f"{path}: AndroidQF found no working root access: Magisk modules were not collected")
        elif isinstance(status, str) and status in _INCOMPLETE:
            ctx.error(path, f"status {status!r}: {_INCOMPLETE[status]}; modules may be missing")
        modules = manifest.get("modules")
        if not isinstance(modules, list):
            raise EvidenceError(path, "no list of modules")
        if len(modules) > _MAX_MODULES:
            ctx.error(path, f"{len(modules):,} modules listed; the first {_MAX_MODULES:,} were read")
        for index, entry in enumerate(modules[:_MAX_MODULES]):
            if not isinstance(entry, dict):
                ctx.warn(f"{path}: modules[{index}] is not an object: left out")
                continue
            yield self._module(ctx, path, index, entry)

    def _module(self, ctx: ArtifactContext, path: str, index: int, entry: dict[str, object]) -> MagiskModule:
        status = _text(entry.get("module_prop_status"))
        properties: dict[str, str] = {}
        if status == "collected":
            prop = self._prop_path(entry.get("module_prop_path"))
            if prop is None:
                ctx.warn(f"{path}: modules[{index}]: module.prop path {entry.get('module_prop_path')!r} is "
                         "missing or leaves magisk_modules/: not read")
            elif not ctx.fs.is_file(prop):
                ctx.warn(f"{path}: modules[{index}]: {prop} is not in the acquisition")
            else:
                try:
                    data = ctx.fs.read_bytes(prop, _MAX_PROP_BYTES)
                    properties = module_properties(data.decode("utf-8", "replace"))
                except EvidenceError as exc:
                    ctx.warn(f"{prop}: {exc.reason}: not read")
        states = entry.get("state_files")
        known = isinstance(states, list) and all(isinstance(s, str) for s in states)
        complete = known and entry.get("state_files_complete") is True
        present = {s for s in states if s in _STATE_FILES} if known and isinstance(states, list) else set()
        return MagiskModule(
            locator=ctx.locator(path, key_path=f"/modules/{index}"),
            device_path=_text(entry.get("device_path")),
            directory_name=_text(entry.get("directory_name")),
            module_prop=status,
            module_id=properties.get("id") or None,
            name=properties.get("name") or None,
            version=properties.get("version") or None,
            version_code=properties.get("versionCode") or None,
            author=properties.get("author") or None,
            description=properties.get("description") or None,
            update_json=properties.get("updateJson") or None,
            disabled="disable" in present if complete else None,
            removal_pending="remove" in present if complete else None,
            update_pending="update" in present if complete else None,
        )

    @staticmethod
    def _prop_path(value: object) -> str | None:
        """The device path of a module.prop AndroidQF copied (``magisk_modules/<folder>/module.prop``), or
        None when the manifest names none, or a path that would leave ``magisk_modules/``."""
        if not isinstance(value, str) or "\\" in value:
            return None
        name = member_name(value)
        if name is None or name != value.strip("/") or not name.startswith("magisk_modules/"):
            return None
        parts = name.split("/")
        if len(parts) < 3 or parts[-1] != "module.prop":
            return None
        return f"{AQF}/{name}"
