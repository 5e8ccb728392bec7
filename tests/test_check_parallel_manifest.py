"""A big Manifest.db is read in row ranges like sms.db (Manifest.record_table): the same output, byte for
byte, as a sequential read, damaged MBFiles and their warnings included."""

from __future__ import annotations

from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from tests.test_check_parallel import _same, parts_read  # noqa: F401 - the fixture is used by name


def _backup(root: Path, damaged: int) -> Path:
    builder = BackupBuilder(root)
    for n in range(600):
        domain = f"AppDomain-com.vendor{n % 7}.app" if n % 3 else "HomeDomain"
        relative = (f"Library/WebKit/WebsiteData/LocalStorage/https_www.site{n}.example_0.localstorage" if n % 50 == 1
                    else f"Library/Caches/{n % 13}/file{n}.dat")
        builder.add_file(domain, relative, b"x" * (n % 97))
    builder.add_link("HomeDomain", "Library/link", "../target")
    for n in range(damaged):  # spread over the table: several parts warn
        builder.set_mbfile("HomeDomain", f"Library/Caches/{(n * 3 * 40) % 13}/file{n * 3 * 40}.dat", b"bplist00broken")
    return builder.finish()


def test_manifest_read_in_parts_is_byte_identical(
    pegasus_feed: Path, tmp_path: Path, parts_read: list[object]  # noqa: F811 - the fixture imported above
) -> None:
    backup = _backup(tmp_path / "backup", damaged=0)
    _same(backup, pegasus_feed, tmp_path, 2)
    assert any(isinstance(part, int) and part > 600 for part in parts_read)  # the Manifest, in parts


def test_manifest_with_damaged_mbfiles_in_parts_reports_as_sequential(
    pegasus_feed: Path, tmp_path: Path, parts_read: list[object]  # noqa: F811 - the fixture imported above
) -> None:
    backup = _backup(tmp_path / "backup", damaged=5)
    _same(backup, pegasus_feed, tmp_path, 2)
    assert parts_read  # the split was attempted (the engine reads sequentially what warns)
