"""Heuristic rules: one module each, stating severity, reason and the published source.

A rule subscribes to record types and looks at one record at a time
(:meth:`Rule.check`). Rules that need to see many records (a burst, a gap)
use records that their artifact derives for that purpose, so rules stay
stateless and a run stays streaming.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ClassVar

from preuve.discovery import shipped_classes
from preuve.model import Finding, Observable, Record, Severity


class Rule(ABC):
    name: ClassVar[str]
    severity: ClassVar[Severity]
    record_types: ClassVar[tuple[type[Record], ...]]
    reason: ClassVar[str]  # why this matters, in plain words
    reference: ClassVar[str]  # who published the technique
    # A rule whose findings are many occurrences of one problem (files missing from a backup, processes
    # listed for review) sets this: its findings sharing a group key (see `finding`) are reported as one
    # finding with the count and every occurrence (check.group_findings), worded by `group_explanation`.
    grouped: ClassVar[bool] = False

    @abstractmethod
    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        """Findings for one record (usually none)."""

    def finding(
        self,
        record: Record,
        artifact: str,
        explanation: str,
        *,
        observable: Observable | None = None,
        severity: Severity | None = None,
        group: str | None = "",
    ) -> Finding:
        """A finding on `record`; for a grouped rule, `group` names what its occurrences share (one finding
        per rule, artifact and group), and None keeps this finding apart."""
        first = next(record.timestamps(), None)
        return Finding(
            severity=self.severity if severity is None else severity,
            artifact=artifact,
            explanation=explanation,
            locator=record.locator,
            rule=self.name,
            observable=observable,
            timestamp=first.when if first else None,
            record_sha256=record.content_sha256(),
            group_key=group if self.grouped and group is not None else None,
        )

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        """The explanation of the one finding that stands for `findings` (all of one group key)."""
        return f"{len(findings)} occurrences of this sign; the first: {findings[0].explanation}"


def discover_rules(platform: str | None = None) -> list[Rule]:
    """One instance of every rule in :mod:`preuve.detect.heuristics` (its `ios` and `android` packages;
    only the one of `platform` when it is one of them: a rule reads the records of its platform's
    artifacts, and a run on one platform need not import the other's rules and artifacts), sorted by
    name."""
    from preuve.detect import heuristics
    from preuve.detect.heuristics import android, ios

    packages = {"ios": ios, "android": android}
    found: dict[str, Rule] = {}
    chosen = (packages[platform],) if platform in packages else (heuristics,)
    for rule in (rule for package in chosen for rule in shipped_classes(package, Rule)):
        if rule.name in found:
            raise RuntimeError(f"two rules are named {rule.name!r}")
        found[rule.name] = rule()
    return [found[name] for name in sorted(found)]


class RuleSet:
    """Rules dispatched by record type (exact class), built once per run."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._by_type: dict[type[Record], list[Rule]] = {}
        for rule in rules:
            for record_type in rule.record_types:
                self._by_type.setdefault(record_type, []).append(rule)
        self.subscribed: frozenset[type[Record]] = frozenset(self._by_type)

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        for rule in self._by_type.get(type(record), ()):
            yield from rule.check(record, artifact)

    def for_type(self, record_type: type[Record]) -> Sequence[Rule]:
        """The rules that look at records of exactly this type (usually none)."""
        return self._by_type.get(record_type, ())

    def checks_by_type(self) -> dict[type[Record], tuple[Callable[[Record, str], Iterable[Finding]], ...]]:
        """Each subscribed record type and the `check` of every rule looking at it, in order (one dict
        lookup per record for a run, instead of a test and a call)."""
        return {record_type: tuple(rule.check for rule in rules) for record_type, rules in self._by_type.items()}
