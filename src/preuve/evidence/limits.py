"""Safety bounds applied to everything read from evidence.

Evidence comes from a phone an attacker may have controlled: every parser is
bounded in size, depth and time. The defaults suit real acquisitions (a
multi-gigabyte sms.db is plausible, a 2 GiB plist is not).
"""

from __future__ import annotations

from dataclasses import dataclass

# Small members compress far beyond any sane ratio (a file of zeros): the ratio bound applies only above
# this size (see policy).
RATIO_FLOOR = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 8 * 1024**3  # largest evidence file preuve will hash or copy
    max_read_bytes: int = 256 * 1024**2  # largest file read whole into memory (plists, text)
    max_plist_bytes: int = 64 * 1024**2
    max_plist_depth: int = 200
    max_plist_objects: int = 5_000_000
    max_sqlite_cell_bytes: int = 64 * 1024**2
    sqlite_seconds: float = 600.0  # one artifact's queries on one database
    # The work a connection to an evidence database may do, in SQLite steps: this many per byte of the
    # database (with its journal), never fewer than min_sqlite_steps. Real databases take about one
    # (see evidence.sqlite); a view or a join that multiplies rows takes without end.
    sqlite_steps_per_byte: int = 64
    min_sqlite_steps: int = 4_000_000
    max_text_line_bytes: int = 1024**2
    max_archive_entries: int = 2_000_000
    max_decompression_ratio: int = 200
    max_path_depth: int = 64
    # The longest path a phone's file system holds (Linux's PATH_MAX, Android's; iOS's is 1,024): a
    # listing keeps every path it places for the whole run, so a longer one (a hostile Manifest.db row,
    # a pax header) is refused rather than kept.
    max_path_chars: int = 4096


DEFAULT_LIMITS = Limits()
