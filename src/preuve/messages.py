"""Plain words for the errors the operating system and SQLite raise, naming the file concerned.

``str(OSError)`` reads ``[Errno 28] No space left on device: 'out/x'``; people are shown
``out/x: the disk is full`` instead. The CLI maps every such error here, in one place.
"""

from __future__ import annotations

import errno
import sqlite3

_WORDS = {
    errno.ENOENT: "no such file or folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EEXIST: "already exists",
    errno.ENOTDIR: "a part of this path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTEMPTY: "the folder is not empty",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EMFILE: "too many files are open",
    errno.EIO: "input/output error (a failing disk or a disconnected drive?)",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EXDEV: "cannot be moved across file systems",
    errno.EBUSY: "the file or folder is busy",
    errno.EINVAL: "invalid argument",
}


def os_error_words(exc: OSError) -> str:
    """What went wrong, in plain words, without the file or the errno number."""
    return _WORDS.get(exc.errno or -1) or (exc.strerror or "").lower() or type(exc).__name__


def os_error_text(exc: OSError) -> str:
    """``FILE: what went wrong`` in plain words, without the errno number."""
    words = os_error_words(exc)
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    if not names:
        return words[:1].upper() + words[1:]
    return f"{' -> '.join(names)}: {words}"


def sqlite_error_text(exc: sqlite3.Error, path: object | None = None) -> str:
    """A SQLite error in plain words, naming the database when it is known."""
    text = str(exc).strip() or type(exc).__name__
    lowered = text.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        text = "not a SQLite database, or a damaged one"
    elif "database is locked" in lowered:
        text = "the database is locked by another program"
    elif "unable to open" in lowered:
        text = "the database cannot be opened (missing folder or no permission)"
    elif "disk i/o" in lowered or "disk is full" in lowered:
        text = "the disk could not be written (full, or read-only)"
    return f"{path}: {text}" if path is not None else text


def error_text(exc: BaseException) -> str:
    """Plain words for any error: preuve's own messages as they are, OS and SQLite errors mapped."""
    from preuve.evidence.errors import PreuveError

    if isinstance(exc, PreuveError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_text(exc)
    if isinstance(exc, sqlite3.Error):
        return sqlite_error_text(exc)
    if isinstance(exc, MemoryError):
        return "out of memory"
    return str(exc) or type(exc).__name__
