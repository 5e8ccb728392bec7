"""Shortcuts (``Shortcuts.sqlite``): each shortcut with its actions and the URLs they use.

A shortcut can download, open URLs and run scripts; it is a known way to
make a phone act on an attacker's behalf. ``ZSHORTCUTACTIONS.ZDATA`` is a
binary plist (a list of actions: ``WFWorkflowActionIdentifier`` and
``WFWorkflowActionParameters``), decoded with the same bounds as any plist
from evidence; every string in the parameters is searched for links.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import unique
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_int, as_text
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Observable, Record, Timestamp

_SHORTCUT = ("ZNAME", "ZCREATIONDATE", "ZMODIFICATIONDATE", "ZACTIONSDESCRIPTION")  # only what the record holds
_MAX_STRINGS = 100_000


@dataclass(kw_only=True)
class Shortcut(Record):
    record_type: ClassVar[str] = "ios:shortcuts:shortcut"
    shortcut_name: str | None
    created: datetime | None
    modified: datetime | None
    description: str | None
    actions: tuple[str, ...]
    urls: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        for url in self.urls:
            yield Observable(Kind.URL, url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.created is not None:
            yield Timestamp(self.created, "Shortcut created")
        if self.modified is not None:
            yield Timestamp(self.modified, "Shortcut modified")

    def summary(self) -> str:
        return f"Shortcut {self.shortcut_name or '?'}: {', '.join(self.actions) or 'no actions read'}"


def _walk(value: object) -> tuple[list[str], list[str]]:
    """(action identifiers, links) of a decoded action list, iteratively and bounded."""
    actions: list[str] = []
    links: list[str] = []
    if isinstance(value, list):
        for action in value:
            if isinstance(action, dict) and isinstance(action.get("WFWorkflowActionIdentifier"), str):
                actions.append(action["WFWorkflowActionIdentifier"])
    stack: list[object] = [value]
    budget = _MAX_STRINGS
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, str):
            links.extend(extract_urls(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return actions, links


class Shortcuts(SqliteArtifact):
    name = "shortcuts"
    platform = "ios"
    title = "Shortcuts"
    paths = ("/private/var/mobile/Library/Shortcuts/Shortcuts.sqlite",)

    tables = (
        Table("ZSHORTCUT", required=("Z_PK",), optional=_SHORTCUT, key=("Z_PK",)),
        Table("ZSHORTCUTACTIONS", required=("Z_PK", "ZSHORTCUT", "ZDATA")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        shortcuts, actions = self.tables
        # The first actions row of each shortcut, found by one grouped pass (not a subquery per shortcut).
        first = Grouped(actions, "f", by="ZSHORTCUT", to="s.Z_PK", aggregates=(Aggregate("apk", "min", ("f.Z_PK",)),))
        query = Query(shortcuts, "s", joins=(first, Join(actions, "a", on="Z_PK", to="f.apk")))
        for row in db.rows(query):
            pk = as_int(row["_key"])
            action_ids: list[str] = []
            links: list[str] = []
            data = row["a.ZDATA"]
            if isinstance(data, bytes) and data:
                try:
                    action_ids, links = _walk(load_plist(data, f"{db.path} ZSHORTCUT {pk}", db.ctx.limits))
                except EvidenceError as exc:
                    db.ctx.warn(f"{db.path}: actions of shortcut {pk} not decoded ({exc.reason})")
            description = as_text(row["ZACTIONSDESCRIPTION"])
            links.extend(extract_urls(description or ""))
            yield Shortcut(
                locator=db.locator("ZSHORTCUT", pk),
                shortcut_name=as_text(row["ZNAME"]),
                created=from_cocoa(row["ZCREATIONDATE"]),
                modified=from_cocoa(row["ZMODIFICATIONDATE"]),
                description=description,
                actions=tuple(action_ids),
                urls=unique(links),
            )
