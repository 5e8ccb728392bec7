"""netusage.sqlite: the same schema as DataUsage, kept by networkd (filesystem dumps)."""

from __future__ import annotations

from typing import ClassVar

from preuve.artifacts.ios.datausage import DataUsage


class NetUsage(DataUsage):
    name = "netusage"
    title = "Network usage by process (netusage.sqlite)"
    paths: ClassVar[tuple[str, ...]] = (
        "/private/var/networkd/netusage.sqlite",
        "/private/var/networkd/db/netusage.sqlite",
    )
