"""Android intrusion logs given on their own: a folder of them, one log file, or the zip the phone wrote.

Advanced Protection's "Download and Decrypt" writes the logs to
``/sdcard/Download/Intrusion Logging/`` on the phone (a zip of date-named
``.txt`` files of JSON lines); analysts also bring that folder, one of its
files or the zip, copied off the phone. They appear where the phone kept
them, at ``/sdcard/Download/Intrusion Logging/<name>``, and the
``android_intrusion_logs`` artifact reads them there (AndroidQF's copy, in
``intrusion_logs/`` of its acquisition, is read at its own place).

Detection reads little: the first line of at most a few candidate files (or
zip members), which must be a JSON object naming an intrusion-log event.
"""

from __future__ import annotations

import json
import posixpath
import stat as statmod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.fs import DeviceFS, MountFS, listed, normalize_device_path
from preuve.evidence.limits import Limits
from preuve.evidence.policy import FILE, open_regular_file
from preuve.evidence.sources.archive import ArchiveNames, readable_zip
from preuve.evidence.sources.base import at
from preuve.evidence.sources.folder import FileSource, FolderSource, walk_folder

DEVICE_DIR = "/sdcard/Download/Intrusion Logging"
_TEXT = (".txt", ".ndjson", ".jsonl", ".json")
_KNOWN = ("dns_event", "connect_event", "security_event")
_FIRST_LINE_BYTES = 64 * 1024
_MAX_CANDIDATES = 20  # files (or members) whose first line is read to decide
_MAX_LISTED = 2_000  # entries looked at while deciding
_MAX_DEPTH = 3
_DETECTION_LIMITS = Limits(max_archive_entries=100_000)  # a zip of more members is not looked into
_MAX_MEMBER_BYTES = 1024**3


def looks_like_log_line(data: bytes) -> bool:
    """Whether the first non-empty line of `data` is an intrusion-log event."""
    for raw in data.split(b"\n"):
        line = raw.strip().removeprefix(b"\xef\xbb\xbf").strip()
        if not line:
            continue
        try:
            value = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            return False
        if not isinstance(value, dict) or not value:
            return False
        return any(
            isinstance(event, dict) and (key in _KNOWN or "event_time" in event) for key, event in value.items()
        )
    return False


def _first_bytes(stream: BinaryIO) -> bytes:
    return stream.readline(_FIRST_LINE_BYTES) + stream.readline(_FIRST_LINE_BYTES)


def _text_file_is_log(path: Path) -> bool:
    try:
        with open_regular_file(path, str(path)) as stream:
            return looks_like_log_line(_first_bytes(stream))
    except (OSError, EvidenceError):
        return False


def _zip_is_log(path: Path) -> bool:
    """Whether one of the first text members of a zip starts with an intrusion-log event."""
    source = readable_zip(path, _DETECTION_LIMITS)
    if source is None:
        return False
    try:
        checked = 0
        for member in source.members():
            if member.type != FILE or member.size > _MAX_MEMBER_BYTES or not member.name.lower().endswith(_TEXT):
                continue
            checked += 1
            if checked > _MAX_CANDIDATES:
                break
            try:
                with source.open(member.name, member.name) as stream:
                    if looks_like_log_line(_first_bytes(stream)):
                        return True
            except EvidenceError:
                continue
    except EvidenceError:  # more members than detection looks at
        return False
    finally:
        source.close()
    return False


def _file_is_log(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".zip"):
        return _zip_is_log(path)
    if name.endswith(_TEXT):
        return _text_file_is_log(path)
    return False


def _candidates(root: Path) -> Iterator[Path]:
    """Files under `root` (a few levels down, a bounded number, links never followed) that may be logs."""
    bounds = Limits(max_path_depth=_MAX_DEPTH, max_archive_entries=_MAX_LISTED)
    try:
        for rel, st in walk_folder(root, bounds):
            if statmod.S_ISREG(st.st_mode) and rel.lower().endswith((".zip", *_TEXT)):
                yield root / rel
    except LimitExceeded:
        return


def _folder_is_logs(root: Path) -> bool:
    for count, candidate in enumerate(_candidates(root)):
        if count >= _MAX_CANDIDATES:
            return False
        if _file_is_log(candidate):
            return True
    return False


class AndroidIntrusionLogs(AcquisitionKind):
    name = "android_intrusion_logs"
    platform = "android"
    specificity = 20
    description = (
        "Android intrusion logs (a folder of them, one .txt/.ndjson log, or the .zip the phone downloads)"
    )

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        if path.is_dir():
            return _folder_is_logs(path)
        if path.is_file():
            return _file_is_log(path)
        return False

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="android")
        if path.is_dir():
            fs.mount(FolderSource(path, ctx.limits, path.name), at(DEVICE_DIR))
        else:
            device = normalize_device_path(posixpath.join(DEVICE_DIR, path.name.replace("/", "_")))
            if device is None or not device.startswith(DEVICE_DIR + "/"):
                raise AcquisitionError(f"{path}: a file name preuve cannot place")
            fs.mount(FileSource(path, ctx.limits), lambda name: device)
        return listed(fs, path, ctx.warn)
