"""WebKit's browsing session resource log (``full_browsing_session_resourceLog.plist``).

A property list with one entry per prevalent resource origin in
``browsingStatistics``: the domains that redirected to it and that it
redirected to at the top frame, and the frames and subresources loaded under
it. Amnesty found Pegasus redirect chains here (a news site, then an
exploit-server domain). Each entry becomes a record carrying every domain of
its chain; the chain itself is kept in order for the reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.ios.webkit_resource_load_statistics import WEBSITE_DATA_DIRS
from preuve.artifacts.rows import container_of, unique
from preuve.artifacts.timeconv import COCOA_EPOCH, from_unix
from preuve.evidence.formats.plists import plist_datetime
from preuve.model import Kind, Locator, Observable, Record, Severity, Timestamp

_LOG = "full_browsing_session_resourceLog.plist"
REDIRECT_RULE = "webkit_redirect_indicator_domain"
_MAX_DOMAINS_PER_LIST = 10_000


@dataclass(kw_only=True)
class SessionResource(Record):
    """An origin of a browsing session, with the redirects into and out of it."""

    record_type: ClassVar[str] = "ios:webkit:session_resource"
    app: str | None
    origin: str | None
    redirected_from: tuple[str, ...]
    redirected_to: tuple[str, ...]
    subframe_under: tuple[str, ...]
    subresource_under: tuple[str, ...]
    had_user_interaction: bool | None
    most_recent_interaction: datetime | None
    last_seen: datetime | None

    def observables(self) -> Iterator[Observable]:
        for domain in unique(
            (self.origin or "", *self.redirected_from, *self.redirected_to, *self.subframe_under,
             *self.subresource_under)
        ):
            yield Observable(Kind.DOMAIN, domain)

    def indicator_follow_up(self, observable: Observable) -> tuple[str, Severity, str] | None:
        """A redirect chain through a domain an indicator names (MVT: high, beside the match itself)."""
        if not self.redirected_from and not self.redirected_to:
            return None
        chain = " -> ".join(
            part for part in (", ".join(self.redirected_from), self.origin or "?", ", ".join(self.redirected_to))
            if part
        )
        return (
            REDIRECT_RULE,
            Severity.HIGH,
            f"The browser was redirected through {observable.value}, a published indicator domain: {chain}. "
            "Exploit chains reach the victim through such redirects; the domains around it deserve a look too.",
        )

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_seen is not None:
            yield Timestamp(self.last_seen, "Origin last seen in a browsing session")
        if self.most_recent_interaction is not None:
            yield Timestamp(self.most_recent_interaction, "User last interacted with the origin")

    def summary(self) -> str:
        chain = [*self.redirected_from, self.origin or "?", *self.redirected_to]
        return "Redirect chain: " + " -> ".join(chain) if len(chain) > 1 else f"Session resource {chain[0]}"


def _domains(value: object) -> tuple[str, ...]:
    """Domains of a list whose items are strings or dicts with 'origin'/'domain' (the format varies)."""
    if not isinstance(value, list):
        return ()
    out: list[str] = []
    for item in value[:_MAX_DOMAINS_PER_LIST]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for key in ("origin", "domain"):
                if isinstance(item.get(key), str):
                    out.append(item[key])
    return unique(out)


def _when(value: object) -> datetime | None:
    """A plist date or Unix seconds; the Cocoa epoch itself is how "never" is written (zero since 2001)."""
    when = plist_datetime(value) if isinstance(value, datetime) else from_unix(value)
    return None if when is None or when <= COCOA_EPOCH else when


class WebkitSessionResourceLog(PlistArtifact):
    name = "webkit_session_resource_log"
    platform = "ios"
    title = "Web redirect chains (WebKit session resource log)"
    paths = tuple(f"{d}/ResourceLoadStatistics/{_LOG}" for d in WEBSITE_DATA_DIRS) + tuple(
        f"{d}/{_LOG}" for d in WEBSITE_DATA_DIRS
    )

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        entries = value.get("browsingStatistics") if isinstance(value, dict) else None
        if not isinstance(entries, list):
            ctx.error(path, "no browsingStatistics list")
            return
        app = container_of(path)
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                ctx.warn(f"{path}: browsingStatistics[{index}] is not a dictionary")
                continue
            origin = entry.get("PrevalentResourceOrigin")
            interaction = entry.get("hadUserInteraction")
            yield SessionResource(
                locator=Locator(path, sha256, key_path=f"browsingStatistics[{index}]"),
                app=app,
                origin=origin if isinstance(origin, str) and origin else None,
                redirected_from=_domains(entry.get("topFrameUniqueRedirectsFrom")),
                redirected_to=_domains(entry.get("topFrameUniqueRedirectsTo")),
                subframe_under=_domains(entry.get("subframeUnderTopFrameOrigins")),
                subresource_under=_domains(entry.get("subresourceUnderTopFrameOrigins")),
                had_user_interaction=interaction if isinstance(interaction, bool) else None,
                most_recent_interaction=_when(entry.get("mostRecentUserInteraction")),
                last_seen=_when(entry.get("lastSeen")),
            )
