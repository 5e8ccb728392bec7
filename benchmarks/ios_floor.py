"""The floor of benchmarks/ios_backup.py: read the rows preuve reads, with plain sqlite3, doing nothing.

Run as its own process (``python3 benchmarks/ios_floor.py BACKUP``) and kept to the standard
library, so its time is the interpreter's start plus SQLite's work and nothing else: no import of
preuve or of the benchmark's builders. Prints the number of rows read.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

SMS = ("HomeDomain", "Library/SMS/sms.db")
DATAUSAGE = ("WirelessDomain", "Library/Databases/DataUsage.sqlite")

# The same columns and joins as the sms and datausage artifacts' queries.
FLOOR_SQL = (
    "SELECT m.ROWID, m.guid, m.text, m.service, m.is_from_me, m.date, m.date_read, m.attributedBody, "
    "m.payload_data, m.message_summary_info, m.balloon_bundle_id, m.account, m.destination_caller_id, "
    "m.handle_id, h.id FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID",
    "SELECT p.Z_PK, p.ZPROCNAME, p.ZBUNDLENAME, p.ZFIRSTTIMESTAMP, p.ZTIMESTAMP, u.wifi_in, u.wifi_out, "
    "u.wwan_in, u.wwan_out FROM ZPROCESS p LEFT JOIN (SELECT ZHASPROCESS AS pid, SUM(ZWIFIIN) AS wifi_in, "
    "SUM(ZWIFIOUT) AS wifi_out, SUM(ZWWANIN) AS wwan_in, SUM(ZWWANOUT) AS wwan_out FROM ZLIVEUSAGE "
    "GROUP BY ZHASPROCESS) u ON u.pid = p.Z_PK ORDER BY p.Z_PK",
)


def floor(backup: Path) -> int:
    """Find sms.db and DataUsage.sqlite through Manifest.db and read their rows. Returns the row count."""
    manifest = sqlite3.connect(f"file:{backup / 'Manifest.db'}?mode=ro&immutable=1", uri=True)
    rows = 0
    try:
        for (domain, relative), sql in zip((SMS, DATAUSAGE), FLOOR_SQL, strict=True):
            found = manifest.execute(
                "SELECT fileID FROM Files WHERE domain = ? AND relativePath = ?", (domain, relative)
            ).fetchone()
            fid = found[0] if found else hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()  # noqa: S324
            conn = sqlite3.connect(f"file:{backup / fid[:2] / fid}?mode=ro&immutable=1", uri=True)
            try:
                for _row in conn.execute(sql):
                    rows += 1
            finally:
                conn.close()
    finally:
        manifest.close()
    return rows


if __name__ == "__main__":
    print(floor(Path(sys.argv[1])))
