"""A mutation campaign: real acquisitions damaged at random, each copy checked by `preuve check`.

    python3 -m tests.fuzz.campaign ACQUISITION... [--minutes 20] [--seed 1] [--found DIR] [--iocs PATH]

Each round copies one of the acquisitions (a folder or a file) into a private folder, damages one
to three of its files, and runs `python3 -m preuve check` on the copy in its own process. The damage
is what a broken disk, a cut transfer or a hostile phone leaves:

- bytes: flipped, cut short, a page zeroed or two pages swapped, garbage inserted, a run repeated,
  the first bytes (every format's header) overwritten, an 8-byte integer made extreme;
- an SQLite database's cells given values of another type (huge integers, infinities, NUL bytes,
  invalid UTF-8, paths that climb, blobs where text was);
- a JSON, NDJSON or plist file's values given another type (null for a list, a list for a string);
- a zip's member rewritten damaged inside a valid zip, or the zip's own headers patched (a version
  or a compression method zipfile does not know, the encrypted flag, a wrong CRC).

A round is kept in the `--found` folder, with what was done and what went wrong, when the run:
shows a traceback or an "unexpected error"; exits with a code the README does not list; changes the
evidence copy; reports an error naming a Python exception (a parser's bug dressed as a read error);
exits 0 (a full check) while some artifact failed or the acquisition was damaged; or takes more than
a minute. The rounds are reproducible from `--seed`.

It imports nothing of preuve: it runs the command line as a user does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import plistlib
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

EXIT_CODES = (0, 1, 2, 3)
# A Python exception's name in a reported error: a parser that raised where it should have said what
# is wrong with the file.
INTERNAL = re.compile(
    r"\b(Traceback|TypeError|AttributeError|KeyError|IndexError|UnboundLocalError|AssertionError|NameError|"
    r"ZeroDivisionError|RecursionError|NotImplementedError|StopIteration|UnicodeDecodeError|"
    r"UnicodeEncodeError|OverflowError|struct\.error)\b"
)


class Mutator:
    """Damage for one round, drawn from its own random generator (reproducible from the seed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- bytes ---------------------------------------------------------------------------------
    def bytes(self, data: bytes) -> tuple[bytes, str]:
        rng = self.rng
        if not data:
            return b"\x00" * rng.randint(1, 100), "filled"
        if rng.random() < 0.35:
            done = self.structured(data)
            if done is not None:
                return done
        kind = rng.choice(["flip", "flip", "flip", "cut", "zero-page", "garbage", "repeat", "header", "integer",
                           "swap-pages"])
        out = bytearray(data)
        page = 4096 if len(out) > 8192 else 512
        if kind == "flip":
            for _ in range(rng.choice([1, 2, 5, 20, 100])):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == "cut":
            del out[rng.randrange(len(out)) :]
        elif kind == "zero-page":
            at = rng.randrange(max(1, len(out) // page)) * page
            out[at : at + page] = bytes(len(out[at : at + page]))
        elif kind == "garbage":
            at = rng.randrange(len(out))
            out[at:at] = rng.randbytes(rng.choice([1, 16, 512, 5000]))
        elif kind == "repeat":
            at = rng.randrange(len(out))
            run = bytes(out[at : at + rng.randrange(1, 4097)])
            out[at:at] = run * rng.choice([2, 10])
        elif kind == "header":
            for _ in range(4):
                out[rng.randrange(min(len(out), 112))] = rng.choice([0, 0xFF, 0x7F, 0x80, 1, rng.randrange(256)])
        elif kind == "integer":
            at = rng.randrange(len(out))
            out[at : at + 8] = rng.choice([b"\xff" * 8, b"\x7f" + b"\xff" * 7, b"\x80" + bytes(7), bytes(8)])
        else:  # swap-pages
            pages = max(1, len(out) // page)
            first, second = rng.randrange(pages) * page, rng.randrange(pages) * page
            one, other = bytes(out[first : first + page]), bytes(out[second : second + page])
            if len(one) == len(other):
                out[first : first + page], out[second : second + page] = other, one
        return bytes(out), kind

    # -- typed values --------------------------------------------------------------------------
    def odd_value(self) -> Any:
        return self.rng.choice([
            None, True, 0, -1, 2**64, -(2**70), 1.5e308, "", "x" * 5000, "\x00", "../../../etc", [], {}, [None],
            {"": None}, [[[[[]]]]], "http://evil.example/", 1e-300, "2023-13-45T99:99:99Z", {"a": [1, {"b": None}]},
        ])

    def retype(self, value: Any) -> Any:
        """`value` with one node, drawn at random, replaced by a value of another type."""
        if isinstance(value, dict) and value and self.rng.random() < 0.8:
            key = self.rng.choice(list(value))
            value[key] = self.retype(value[key])
            return value
        if isinstance(value, list) and value and self.rng.random() < 0.8:
            index = self.rng.randrange(len(value))
            value[index] = self.retype(value[index])
            return value
        return self.odd_value()

    def structured(self, data: bytes) -> tuple[bytes, str] | None:
        """A JSON, NDJSON or plist file with values of another type (None: not one of them)."""
        start = data.lstrip()[:1]
        if start in (b"{", b"["):
            try:
                value = json.loads(data)
            except ValueError:
                lines = data.split(b"\n")
                for _ in range(self.rng.choice([1, 3])):
                    index = self.rng.randrange(len(lines))
                    try:
                        lines[index] = json.dumps(self.retype(json.loads(lines[index]))).encode()
                    except ValueError:
                        pass
                return b"\n".join(lines), "ndjson-types"
            for _ in range(self.rng.choice([1, 2, 5])):
                value = self.retype(value)
            return json.dumps(value).encode(), "json-types"
        if data.startswith((b"bplist00", b"<?xml")):
            try:
                value = plistlib.loads(data)
                for _ in range(self.rng.choice([1, 2, 5])):
                    value = self.retype(value)
                binary = data.startswith(b"bplist")
                return plistlib.dumps(_plist_safe(value), fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML), \
                    "plist-types"
            except (ValueError, TypeError, OverflowError, plistlib.InvalidFileException, ExpatError):
                return None  # (not a plist, or not well-formed XML: left to the byte damage)
        return None

    def sqlite_cells(self, path: Path) -> str:
        """Cells of an SQLite database given values of another type (SQLite takes any type in any column)."""
        rng = self.rng
        done: list[str] = []
        conn = sqlite3.connect(path)
        try:
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            for _ in range(rng.choice([1, 3, 10])):
                if not tables:
                    break
                table = rng.choice(tables)
                columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
                if not columns:
                    continue
                column = rng.choice(columns)
                value = rng.choice([
                    None, 0, -1, 2**63 - 1, -(2**63), 2**31, 1e308, float("inf"), float("-inf"), -1e15, 7e11, "",
                    "x" * rng.choice([1, 1000, 100000]), "\x00abc", b"\xed\xa0\x80", "../../etc/passwd",
                    "/private/var/../../x", "http://evil.example/" + "a" * 50, "\u202e\x00\n\r,\"", b"",
                    rng.randbytes(rng.choice([1, 8, 64, 3000])), b"bplist00" + rng.randbytes(40),
                    "2023-01-01T00:00:00Z", "9999999999999999999999", rng.randrange(-10**12, 10**12),
                ])
                how = rng.choice(["one", "all", "insert"])
                try:
                    # (names from the copy's own schema; one that breaks the statement is refused below)
                    if how == "one":
                        conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = '  # noqa: S608
                                     f'(SELECT rowid FROM "{table}" ORDER BY random() LIMIT 1)', (value,))
                    elif how == "all":
                        conn.execute(f'UPDATE "{table}" SET "{column}" = ?', (value,))  # noqa: S608
                    else:
                        conn.execute(f'INSERT INTO "{table}" ("{column}") VALUES (?)', (value,))  # noqa: S608
                    done.append(f"{table}.{column} {how} {str(value)[:30]!r}")
                except sqlite3.Error as exc:
                    done.append(f"{table}.{column} refused ({exc})")
            conn.commit()
        finally:
            conn.close()
        return "sqlite cells: " + "; ".join(done)

    # -- zips ----------------------------------------------------------------------------------
    def zip_member(self, path: Path) -> str:
        """One member of a zip rewritten damaged, in a zip that stays valid."""
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        if not members:
            return "empty zip"
        victim = self.rng.choice(list(members))
        members[victim], kind = self.bytes(members[victim])
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return f"member {victim}: {kind}"

    def zip_headers(self, path: Path) -> str:
        """A zip's own headers patched (APPNOTE offsets): a version or a compression method zipfile does
        not know, the encrypted flag or a wrong CRC, for one member or all."""
        data = bytearray(path.read_bytes())
        how = self.rng.choice(["version", "method", "encrypted", "crc"])
        every = self.rng.random() < 0.3
        entries = [m.start() for m in re.finditer(b"PK\x01\x02", data)]
        chosen = entries if every or not entries else [self.rng.choice(entries)]
        for at in chosen:
            if at + 46 > len(data):
                continue
            local = struct.unpack_from("<I", data, at + 42)[0]
            local_ok = local + 30 <= len(data)
            if how == "version":
                struct.pack_into("<H", data, at + 6, self.rng.choice([64, 117, 0xFFFF]))
            elif how == "method":
                method = self.rng.choice([9, 12, 14, 93, 99, 0xFFFF])
                struct.pack_into("<H", data, at + 10, method)
                if local_ok:
                    struct.pack_into("<H", data, local + 8, method)
            elif how == "encrypted":
                for flags in (at + 8, local + 6) if local_ok else (at + 8,):
                    struct.pack_into("<H", data, flags, struct.unpack_from("<H", data, flags)[0] | 1)
            else:
                struct.pack_into("<I", data, at + 16, self.rng.randrange(2**32))
        path.write_bytes(bytes(data))
        return f"zip headers: {how} ({'every member' if every else 'one member'})"

    # -- a round -------------------------------------------------------------------------------
    def damage(self, root: Path) -> list[str]:
        """Damage one to three files under `root` (or `root` itself, a file); what was done."""
        notes: list[str] = []
        for _ in range(self.rng.choice([1, 1, 1, 2, 3])):
            files = _files(root)
            if not files:
                break
            target = self.rng.choices(files, [_weight(f) for f in files])[0]
            head = _head(target)
            where = target.name if target == root else str(target.relative_to(root))
            try:
                if head.startswith(b"SQLite format 3") and self.rng.random() < 0.5:
                    notes.append(f"{where}: {self.sqlite_cells(target)}")
                    continue
                if head.startswith(b"PK\x03\x04") and self.rng.random() < 0.6:
                    notes.append(f"{where}: {self.zip_headers(target) if self.rng.random() < 0.4 else self.zip_member(target)}")
                    continue
            except Exception as exc:  # noqa: BLE001 - a file an earlier damage broke: damage its bytes instead
                notes.append(f"{where}: structured damage refused ({exc}); bytes instead")
            data, kind = self.bytes(target.read_bytes())
            target.write_bytes(data)
            notes.append(f"{where}: {kind}")
        return notes


def _plist_safe(value: Any) -> Any:
    """A value plistlib can write (no None, no NUL in text, integers within its range)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(k): _plist_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plist_safe(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return 2**63 - 1
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(f for f in root.rglob("*") if f.is_file() and not f.is_symlink())


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(16)
    except OSError:
        return b""


def _weight(path: Path) -> int:
    """How often a file is chosen: the formats parsers read first, everything else now and then."""
    head = _head(path)
    if head.startswith(b"SQLite format 3"):
        return 6
    if head.startswith((b"bplist", b"<?xml", b"PK\x03\x04")):
        return 4
    if path.suffix.lower() in (".gz", ".ab", ".tar", ".json", ".txt", ".log", ".csv", ".plist", ".ndjson"):
        return 3
    return 1


def _digest(root: Path) -> dict[str, str]:
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in _files(root)}


def _problems(code: int | str, stderr: str, out: Path, seconds: float, changed: bool) -> list[str]:
    """What went wrong in one round (nothing: an empty list)."""
    problems: list[str] = []
    if code not in EXIT_CODES:
        problems.append(f"exit code {code}")
    if "Traceback" in stderr or "unexpected error" in stderr:
        problems.append("traceback: " + stderr.strip().splitlines()[-1][:300] if stderr.strip() else "traceback")
    if changed:
        problems.append("the evidence copy changed")
    if seconds > 60:
        problems.append(f"slow: {seconds:.0f} s")
    try:
        run = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return problems  # (no run.json: a fatal error, already judged by its code and its text)
    said = [f"{a['name']}: {m}" for a in run.get("artifacts", []) for m in a.get("errors", []) + a.get("warnings", [])]
    said += [f"run: {m}" for m in run.get("warnings", [])]
    acquisition = run.get("coverage", {}).get("acquisition", {})
    said += [f"acquisition: {p}" for p in acquisition.get("problems") or []]
    internal = [m for m in said if INTERNAL.search(m)]
    if internal:
        problems.append("an error naming a Python exception: " + " | ".join(m[:300] for m in internal[:3]))
    failed = [a["name"] for a in run.get("artifacts", []) if a.get("status") == "failed" or a.get("errors")]
    if code == 0 and (failed or acquisition.get("problems") or acquisition.get("status") != "read"):
        problems.append(f"exit 0 (a full check) although {failed or acquisition}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("acquisitions", nargs="+", type=Path)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=None, help="stop after this many rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--found", type=Path, default=Path("campaign-found"))
    parser.add_argument("--iocs", type=Path, action="append", default=[])
    parser.add_argument("--password", default="pw", help="for encrypted acquisitions (names with 'enc')")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    args.found.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="campaign-"))
    password = work / "password.txt"
    password.write_text(args.password + "\n")
    deadline = time.monotonic() + 60 * args.minutes
    rounds = kept = 0
    try:
        while time.monotonic() < deadline and (args.rounds is None or rounds < args.rounds):
            rounds += 1
            source = rng.choice(args.acquisitions)
            folder = work / f"round-{rounds}"
            folder.mkdir()
            copy = folder / source.name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy)
            notes = Mutator(random.Random(rng.randrange(2**32))).damage(copy)
            before = _digest(copy)
            out = folder / "out"
            command = [sys.executable, "-m", "preuve", "check", str(copy), "-o", str(out), "-q", "--jobs",
                       rng.choice(["1", "2"])]
            for feed in args.iocs:
                command += ["--iocs", str(feed)]
            if "enc" in source.name:
                command += ["--password-file", str(password)]
            started = time.monotonic()
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                                      check=False)
                code: int | str = done.returncode
                stderr = done.stderr
            except subprocess.TimeoutExpired:
                code, stderr = "timeout", ""
            seconds = time.monotonic() - started
            problems = _problems(code, stderr, out, seconds, _digest(copy) != before)
            if problems:
                kept += 1
                keep = args.found / f"{args.seed}-{rounds}-{source.name}"
                shutil.rmtree(out, ignore_errors=True)
                shutil.move(str(copy), keep)
                note = {"acquisition": str(source), "damage": notes, "problems": problems, "command": command[1:],
                        "stderr": stderr[-3000:]}
                Path(f"{keep}.json").write_text(json.dumps(note, indent=1))
                print(f"round {rounds}: {source.name}: {notes} -> {problems}", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{rounds} rounds, {kept} kept in {args.found}")
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main())
