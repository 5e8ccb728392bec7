"""Where a program lives on an iPhone, as rules judge it.

iOS runs its own programs from the read-only system volume (``/System``,
``/usr``, ``/Applications``, cryptexes under ``/private/preboot``) and
installed apps from ``/private/var/containers/Bundle``. A program running
from anywhere else on the writable data volume was put there after the
system was installed: Pegasus ran from
``/private/var/db/com.apple.xpc.roleaccountd.staging/`` (Amnesty, 2021).
"""

from __future__ import annotations

import posixpath

_DATA_VOLUME = ("/private/var/", "/var/")
_APP_BUNDLES = ("/private/var/containers/Bundle/", "/var/containers/Bundle/")


def on_writable_volume(path: str) -> bool:
    """True for an absolute path on the data volume outside the installed-app bundles.

    The path is normalised first, so ``..`` cannot walk out of a bundle folder unnoticed.
    """
    if not path.startswith("/"):
        return False
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    return (normal + "/").startswith(_DATA_VOLUME) and not normal.startswith(_APP_BUNDLES)
