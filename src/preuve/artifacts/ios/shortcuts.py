"""Shortcuts (``Shortcuts.sqlite``): each shortcut with its actions and the URLs they use.

A shortcut can download, open URLs and run scripts; it is a known way to
make a phone act on an attacker's behalf. ``ZSHORTCUTACTIONS.ZDATA`` is a
binary plist (a list of actions: ``WFWorkflowActionIdentifier`` and
``WFWorkflowActionParameters``), decoded with the same bounds as any plist
from evidence; every string in the parameters is searched for links.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import integer, pick, text, unique
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Locator, Observable, Record, Timestamp

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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "ZSHORTCUT")
        if "Z_PK" not in columns:
            ctx.error(path, "no ZSHORTCUT table")
            return
        actions = table_columns(conn, "ZSHORTCUTACTIONS")
        if {"Z_PK", "ZSHORTCUT", "ZDATA"} <= actions:
            # The first actions row of each shortcut, found by one grouped pass (not a subquery per shortcut).
            data_sql = "a.ZDATA"
            join = ("LEFT JOIN (SELECT ZSHORTCUT AS sid, MIN(Z_PK) AS apk FROM ZSHORTCUTACTIONS GROUP BY ZSHORTCUT) f "
                    "ON f.sid = s.Z_PK LEFT JOIN ZSHORTCUTACTIONS a ON a.Z_PK = f.apk ")
        else:
            data_sql, join = "NULL", ""
        sql = (f"SELECT s.Z_PK AS pk, {pick(columns, 's', _SHORTCUT)}, {data_sql} AS data FROM ZSHORTCUT s "  # noqa: S608
               f"{join}ORDER BY s.Z_PK")
        for row in iter_rows(conn, sql):
            pk = integer(row["pk"])
            action_ids: list[str] = []
            links: list[str] = []
            data = row["data"]
            if isinstance(data, bytes) and data:
                try:
                    action_ids, links = _walk(load_plist(data, f"{path} ZSHORTCUT {pk}", ctx.limits))
                except EvidenceError as exc:
                    ctx.warn(f"{path}: actions of shortcut {pk} not decoded ({exc.reason})")
            description = text(row["ZACTIONSDESCRIPTION"])
            links.extend(extract_urls(description or ""))
            yield Shortcut(
                locator=Locator(path, sha256, "ZSHORTCUT", pk),
                shortcut_name=text(row["ZNAME"]),
                created=from_cocoa(row["ZCREATIONDATE"]),
                modified=from_cocoa(row["ZMODIFICATIONDATE"]),
                description=description,
                actions=tuple(action_ids),
                urls=unique(links),
            )
