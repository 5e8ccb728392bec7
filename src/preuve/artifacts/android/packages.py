"""AndroidQF packages.json: installed apps, their installer, APK hashes and signing certificates.

Each package yields one record carrying its app id, the SHA-256 of each APK
file and the MD5/SHA-1/SHA-256 of each signing certificate as observables
(feeds such as Echap's stalkerware list publish SHA-1 certificate hashes in
upper case; matching normalises case).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, iter_json_items
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.values import as_bool_word, as_int_digits, text_or_number
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Observable, Record


@dataclass(frozen=True, slots=True)
class PackageFile:
    path: str | None
    sha256: str | None
    cert_sha256: str | None
    cert_sha1: str | None
    cert_md5: str | None
    cert_subject: str | None


@dataclass(kw_only=True)
class AndroidPackage(Record):
    record_type: ClassVar[str] = "android:packages:package"
    name: str
    installer: str | None
    uid: int | None
    system: bool | None
    disabled: bool | None
    third_party: bool | None
    files: tuple[PackageFile, ...]
    # False when the source does not say: dumpsys omits a missing installer, and AndroidQF writes "" when the
    # phone's `pm list packages` has no -i option (it writes "null" for an app that no installer installed).
    installer_recorded: bool = True

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.name)
        for item in self.files:
            if item.sha256:
                yield Observable(Kind.SHA256, item.sha256)
            if item.cert_sha256:
                yield Observable(Kind.CERT_SHA256, item.cert_sha256)
            if item.cert_sha1:
                yield Observable(Kind.CERT_SHA1, item.cert_sha1)
            if item.cert_md5:
                yield Observable(Kind.CERT_MD5, item.cert_md5)

    def summary(self) -> str:
        return f"Package {self.name} (installer {self.installer or 'none'})"


def _file(value: object) -> PackageFile | None:
    if not isinstance(value, dict):
        return None
    cert = value.get("certificate")
    cert = cert if isinstance(cert, dict) else {}

    def c(name: str) -> str | None:
        found = text_or_number(cert.get(name)) or text_or_number(cert.get(name.lower())) or text_or_number(cert.get(name.upper()))
        return found or None

    return PackageFile(
        path=text_or_number(value.get("path")),
        sha256=text_or_number(value.get("sha256")) or None,
        cert_sha256=c("Sha256"),
        cert_sha1=c("Sha1"),
        cert_md5=c("Md5"),
        cert_subject=c("Subject"),
    )


_MAX_FLAGS = 200_000


def system_flags(ctx: ArtifactContext) -> dict[str, bool] | None:
    """Package name -> its system flag, from AndroidQF's packages.json; None when there is none to read.

    Other artifacts (dumpsys receivers, device admins) use it to tell a preinstalled app from one named
    like it. A packages.json that cannot be read is reported by the packages artifact itself.
    """
    path = f"{AQF}/packages.json"
    if not ctx.fs.is_file(path):
        return None
    flags: dict[str, bool] = {}
    try:
        for _index, item in iter_json_items(ctx, path):
            if len(flags) >= _MAX_FLAGS:
                break
            if isinstance(item, dict) and (name := text_or_number(item.get("name"))):
                system = as_bool_word(item.get("system"))
                if system is not None:
                    flags[name] = system
    except EvidenceError:
        pass  # what was read before the damage stays usable
    return flags


class Packages(Artifact):
    name = "android_packages"
    platform = "android"
    title = "Installed apps (AndroidQF packages.json)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/packages.json",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        for index, item in iter_json_items(ctx, path):
            if not isinstance(item, dict) or not text_or_number(item.get("name")):
                ctx.warn(f"{path}: entry [{index}] has no package name, skipped")
                continue
            files_raw = item.get("files")
            files = tuple(f for f in (_file(v) for v in (files_raw if isinstance(files_raw, list) else [])) if f)
            installer = text_or_number(item.get("installer"))
            installer_recorded = bool(installer and installer.strip())
            yield AndroidPackage(
                locator=ctx.locator(path, key_path=f"[{index}]"),
                name=str(text_or_number(item.get("name"))),
                installer=None if not installer_recorded or installer == "null" else installer,
                uid=as_int_digits(item.get("uid")),
                system=as_bool_word(item.get("system")),
                disabled=as_bool_word(item.get("disabled")),
                third_party=as_bool_word(item.get("third_party")),
                files=files,
                installer_recorded=installer_recorded,
            )
