"""A tar's headers read by a forked process while this one places the members (TarSource.members through
evidence.parallel.beside): the members, refused names, damaged members, what is wrong with the
archive and the index of each member's bytes are those of one read, on archives of every format,
damaged or cut anywhere, plain or compressed, whether the process beside ends well or dies."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preuve.evidence.sources.tar as tar_module
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.tarheaders import scan_tar_headers
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.evidence.sources.tar import TarSource
from tests.evidence.test_tarheaders import _all_archives

pytestmark = pytest.mark.skipif(not can_fork(2), reason="headers are read beside only where processes fork")

_COMPRESS = {"tar": lambda data: data, "tar.gz": gzip.compress, "tar.xz": lzma.compress, "tar.bz2": bz2.compress}


def _listing(path: Path, jobs: int, workdir: Path) -> tuple[object, ...]:
    try:
        source = TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=workdir)
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        return ("not opened", type(exc).__name__, str(exc))
    try:
        members = list(source.members())
        error = None
    except EvidenceError as exc:
        members, error = [], exc.reason
    finally:
        source.close()
    return members, error, source.refused, source.damaged, source.damage, source._files, source._huge  # noqa: SLF001


def _scanned(data: bytes) -> int:
    """How many headers one scan of the archive reads before it ends or fails."""
    count = 0
    try:
        for _ in scan_tar_headers(io.BytesIO(data), "t.tar", None, []):
            count += 1
    except Exception:  # noqa: BLE001, S110 - counted up to where it fails
        pass
    return count


def _same(tmp_path: Path, data: bytes, fmt: str) -> tuple[object, ...]:
    path = tmp_path / f"dump.{fmt}"
    path.write_bytes(_COMPRESS[fmt](data))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    one = _listing(path, 1, work)
    assert _listing(path, 2, work) == one
    assert list(work.iterdir()) == []
    if fmt == "tar" and one[0] != "not opened" and one[1] is None:
        # every header read before the end or the damage is a member or a refused name
        members, refused = one[0], one[2]
        assert isinstance(members, list) and isinstance(refused, list)
        assert len(members) + len(refused) == _scanned(data)
    return one


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tar_module, "_HEADER_BATCH", 3)


@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax", "hand-made"])
@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "tar.xz", "tar.bz2"])
def test_every_format_as_one_read(tmp_path: Path, archive: str, fmt: str) -> None:
    members = _same(tmp_path, _all_archives()[archive], fmt)[0]
    assert isinstance(members, list) and len(members) > 3


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "tar.xz"])
def test_cut_and_damaged_as_one_read(tmp_path: Path, fmt: str) -> None:
    data = _all_archives()["pax"]
    cut = _same(tmp_path, data[: len(data) * 2 // 3], fmt)
    assert cut[4]  # said to be cut short
    damaged = bytearray(data)
    damaged[512 * 9 + 148] ^= 0xFF  # a checksum, a few members in
    found = _same(tmp_path, bytes(damaged), fmt)
    assert found[3]  # members after it reported lost


def test_a_process_beside_that_dies_leaves_the_rest_to_this_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = os.getpid()
    original = TarSource._headers

    def dying(self: TarSource, budget: int | None, checkpoints: bool = True):  # noqa: ANN202 - the batches, then death beside
        for number, batch in enumerate(original(self, budget, checkpoints)):
            if number == 2 and os.getpid() != here:
                os._exit(1)
            yield batch

    monkeypatch.setattr(TarSource, "_headers", dying)
    _same(tmp_path, _all_archives()["gnu"], "tar")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    archive=st.sampled_from(["ustar", "gnu", "pax", "hand-made"]),
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.integers(min_value=0, max_value=255)),
                     max_size=3),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
)
def test_damaged_anywhere_as_one_read(tmp_path_factory: pytest.TempPathFactory, archive: str,
                                      changes: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(_all_archives()[archive])
    for at, value in changes:
        if at < len(data):
            data[at] = value
    _same(tmp_path_factory.mktemp("damaged"), bytes(data[:cut] if cut is not None else data), "tar")


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.bz2"])
def test_a_compressed_stream_cut_anywhere_says_where(tmp_path: Path, fmt: str) -> None:
    """A stream cut inside a member: the scan says the archive is cut short (a gzip stream), or the
    decompressor fails after the members read (bzip2, xz); either reaches the run, with every member
    read before it listed."""
    data = _all_archives()["gnu"]
    packed = _COMPRESS[fmt](data)
    path = tmp_path / f"dump.{fmt}"
    work = tmp_path / "work"
    work.mkdir()
    for cut in range(len(packed) // 2, len(packed), max(1, len(packed) // 7)):
        path.write_bytes(packed[:cut])
        one = _listing(path, 1, work)
        assert _listing(path, 2, work) == one
        if one[0] == "not opened" or one[1] is not None:
            continue
        members, refused, damage = one[0], one[2], one[4]
        assert isinstance(members, list) and isinstance(refused, list) and isinstance(damage, list)
        read = len(members) + len(refused)
        assert len(damage) == 1
        assert damage[0].startswith(("the archive is cut short: it ends after ",
                                     f"the archive is damaged after {read} member(s)")), damage


def _members_written(count: int, seed: int) -> tuple[bytes, dict[str, bytes]]:
    """A tar (by tarfile) of `count` files of mixed sizes, text that compresses and bytes that do not."""
    import random
    import tarfile

    rng = random.Random(seed)
    contents: dict[str, bytes] = {}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for number in range(count):
            name = f"private/var/mobile/f{number // 50}/file{number}.bin"
            size = rng.choice([0, 1, 511, 512, 513, 4_000, 70_000])
            data = rng.randbytes(size) if number % 3 else (b"%06d " % number) * (size // 7)
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000 + number
            archive.addfile(info, io.BytesIO(data))
            contents[name] = data
    return out.getvalue(), contents


def test_a_gzip_tar_read_beside_opens_its_members_from_checkpoints_of_a_pass_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .tar.gz whose headers are read beside: its checkpoints are taken by a pass on a thread here,
    held to a little past the headers received. The listing is that of one read, every member's bytes
    read back are those written, and checkpoints spread through the archive (not only its start)."""
    import functools

    import preuve.evidence.formats.gzindex as gzindex_module

    data, contents = _members_written(400, 5)
    path = tmp_path / "dump.tar.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tar_module, "GzipCheckpoints", functools.partial(tar_module.GzipCheckpoints, every=200_000))
    monkeypatch.setattr(tar_module, "_CHECKPOINTS_AHEAD", 100_000)
    monkeypatch.setattr(gzindex_module, "_STEP", 150_000)
    one = _listing(path, 1, work)
    source = TarSource(path, DEFAULT_LIMITS, jobs=2, workdir=work)
    try:
        members = list(source.members())
        assert (members, None, source.refused, source.damaged, source.damage, source._files, source._huge) == one  # noqa: SLF001
        points = source._gzip._points  # type: ignore[union-attr]  # noqa: SLF001
        assert len(points) > 10
        assert points[-1].out_pos > len(data) - 2_000_000  # taken up to the last members
        for name, expected in contents.items():
            with source.open(name, name) as member:
                assert member.read() == expected, name
    finally:
        source.close()
    assert list(work.iterdir()) == []


def test_a_gzip_tar_damaged_in_its_middle_read_beside(tmp_path: Path) -> None:
    """Compressed bytes changed in the middle of a .tar.gz: the headers read beside and the pass taking
    its checkpoints both stop at the damage. The listing is that of one read, and every member listed
    reads back the bytes one read gives (before the damage, those written)."""
    data, contents = _members_written(300, 6)
    packed = bytearray(gzip.compress(data, mtime=0))
    for at in range(len(packed) // 2, len(packed) // 2 + 64):
        packed[at] ^= 0x5A
    path = tmp_path / "dump.tar.gz"
    path.write_bytes(bytes(packed))
    work = tmp_path / "work"
    work.mkdir()
    one = _listing(path, 1, work)
    sources = [TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=work) for jobs in (1, 2)]
    try:
        listed = [list(source.members()) for source in sources]
        assert (listed[1], None, *[getattr(sources[1], a) for a in ("refused", "damaged", "damage", "_files", "_huge")]) == one
        assert listed[0] == listed[1]
        assert sources[1].damage and 0 < len(listed[1]) < len(contents)

        def read(source: TarSource, name: str) -> bytes | str:
            try:
                with source.open(name, name) as stream:
                    return stream.read()
            except Exception as exc:  # noqa: BLE001 - compared, whatever it is
                return f"{type(exc).__name__}: {exc}"

        for member in listed[1]:
            assert read(sources[1], member.name) == read(sources[0], member.name), member.name
        first = listed[1][0].name
        assert read(sources[1], first) == contents[first]
    finally:
        for source in sources:
            source.close()


def test_a_gzip_bomb_read_beside_is_inflated_no_further_than_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member of zeros that inflates past the decompression bound: the listing read beside stops there
    as one read does, and the pass taking the checkpoints here inflates the archive no further than the
    bound and one block (it is let go a checkpoint's spacing past the headers, never past the bound)."""
    import functools
    import tarfile

    from preuve.evidence.policy import RATIO_FLOOR

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for number in range(20):
            info = tarfile.TarInfo(f"private/var/mobile/f{number}.txt")
            info.size = 1000
            archive.addfile(info, io.BytesIO(bytes([65 + number % 26]) * 1000))
        info = tarfile.TarInfo("private/var/mobile/zeros.bin")
        info.size = 48 * 1024 * 1024
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    path = tmp_path / "dump.tar.gz"
    path.write_bytes(gzip.compress(out.getvalue(), compresslevel=9, mtime=0))
    budget = path.stat().st_size * DEFAULT_LIMITS.max_decompression_ratio + RATIO_FLOOR
    assert budget < 48 * 1024 * 1024
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tar_module, "GzipCheckpoints", functools.partial(tar_module.GzipCheckpoints, every=256 * 1024))
    told: list[int] = []
    reach = tar_module.CheckpointPass.reach

    def told_to(self: object, out_pos: int) -> None:
        told.append(out_pos)
        reach(self, out_pos)  # type: ignore[arg-type]

    monkeypatch.setattr(tar_module.CheckpointPass, "reach", told_to)
    one = _listing(path, 1, work)
    source = TarSource(path, DEFAULT_LIMITS, jobs=2, workdir=work)
    try:
        members = list(source.members())
        assert (members, None, source.refused, source.damaged, source.damage, source._files, source._huge) == one  # noqa: SLF001
        assert len(members) == 20 and "decompression ratio bound" in source.damaged[0]
        assert told and max(told) <= budget
        points = source._gzip._points  # type: ignore[union-attr]  # noqa: SLF001
        assert points[-1].out_pos <= budget + 1024 * 1024
    finally:
        source.close()
