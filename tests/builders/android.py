"""Write Android acquisitions as the real tools do: AndroidQF folders and zips, bugreports, adb backups.

Everything is deterministic (no randomness without a seed) so fixtures hash
the same on every run. Nothing here comes from preuve's readers: the ``adb
backup`` format is written from AOSP's BackupManagerService (PasswordUtils and
the adb backup task), so a mistake in the reader cannot hide in the fixture.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STAMP = 1_700_000_000  # 2023-11-14T22:13:20Z: fixed file times

# adb backup ("ANDROID BACKUP" format), from AOSP's backup service: the first header line, then the format
# version, the compression flag and the encryption name, one a line. PBKDF2_SALT_SIZE is 512 bits and
# PBKDF2_HASH_ROUNDS 10,000 there; the rounds are written in the header, so a smaller count keeps tests fast.
AB_HEADER_LINE = b"ANDROID BACKUP\n"
AB_SALT_BYTES = 512 // 8
AB_ANDROID_ROUNDS = 10_000


def java_char_key_bytes(key: bytes) -> bytes:
    """The master key as Android's checksum PBKDF2 takes it (backup format 2 and later).

    The service turns each key byte into a Java ``char`` with ``(char) b``: Java bytes are signed, so
    0x80..0xFF sign-extend to U+FF80..U+FFFF. PBKDF2WithHmacSHA1 then encodes those chars as UTF-8:
    one byte below 0x80, three bytes (EF BE xx or EF BF xx) for the rest.
    """
    out = bytearray()
    for byte in key:
        if byte < 0x80:
            out.append(byte)
            continue
        char = 0xFF00 | byte  # the sign-extended value, cut to Java's 16-bit char
        out += bytes([0xE0 | (char >> 12), 0x80 | ((char >> 6) & 0x3F), 0x80 | (char & 0x3F)])
    return bytes(out)


def _det(label: str, size: int) -> bytes:
    """Deterministic 'random' bytes (salts, IVs, keys) for reproducible fixtures."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return out[:size]


@dataclass
class PackageSpec:
    name: str
    installer: str | None = "com.android.vending"
    system: bool = False
    disabled: bool = False
    uid: int = 10100
    apk_sha256: str = ""
    cert_sha1: str = ""
    cert_sha256: str = ""
    cert_md5: str = ""

    def as_json(self) -> dict[str, object]:
        sha = self.apk_sha256 or hashlib.sha256(self.name.encode()).hexdigest()
        cert = {
            "Md5": self.cert_md5 or hashlib.md5(b"cert" + self.name.encode()).hexdigest(),  # noqa: S324
            "Sha1": self.cert_sha1 or hashlib.sha1(b"cert" + self.name.encode()).hexdigest(),  # noqa: S324
            "Sha256": self.cert_sha256 or hashlib.sha256(b"cert" + self.name.encode()).hexdigest(),
            "ValidFrom": "2020-01-01T00:00:00Z", "ValidTo": "2050-01-01T00:00:00Z",
            "Issuer": f"CN={self.name}", "Subject": f"CN={self.name}", "SignatureAlgorithm": "SHA256-RSA",
            "SerialNumber": 1,
        }
        return {
            "name": self.name,
            "files": [{
                "path": f"/data/app/~~x==/{self.name}-y==/base.apk", "local_name": "", "md5": "", "sha1": "",
                "sha256": sha, "sha512": "", "certificate": cert, "certificate_error": "",
                "trusted_certificate": False,
            }],
            "installer": self.installer if self.installer is not None else "null",
            "uid": self.uid, "disabled": self.disabled, "system": self.system, "third_party": not self.system,
        }


def getprop_text(props: Mapping[str, str]) -> str:
    return "".join(f"[{k}]: [{v}]\n" for k, v in props.items())


def ps_text(processes: Sequence[tuple[str, int, int, str]]) -> str:
    lines = ["USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME"]
    for user, pid, ppid, name in processes:
        lines.append(f"{user:<12} {pid:>5} {ppid:>5} 1000000  50000 0                   0 S {name}")
    return "\n".join(lines) + "\n"


def adb_public_key(comment: str) -> str:
    """An adb public key line (base64 of a fixed 524-byte RSA key structure) and its comment."""
    import base64

    return base64.b64encode(_det("adbkey:" + comment, 524)).decode() + " " + comment


@dataclass
class DumpsysSpec:
    accessibility: Sequence[str] = ()  # components "pkg/.Cls"
    device_admins: Sequence[str] = ()
    sms_receivers: Sequence[str] = ()
    install_allowed: Sequence[str] = ()
    adb_keys: Sequence[str] = ()  # comments of keys
    # (name, installer or None for "installerPackageName=null", system, disabled)
    packages: Sequence[tuple[str, str | None, bool, bool]] = ()
    uninstalled: Sequence[str] = ()  # packages the battery history saw removed
    installed_accessibility: Sequence[str] = ()  # components listed as installed (enabled or not)
    invalid_adb_keys: Sequence[str] = ()  # comments of trusted keys written cut short (not valid base64)

    def text(self) -> str:
        out = ["-------------------------------------------------------------------------------",
               "DUMP OF SERVICE accessibility:",
               "ACCESSIBILITY MANAGER (dumpsys accessibility)",
               "User state[",
               "     attributes:{id=0, touchExplorationEnabled=false}",
               ]
        if self.installed_accessibility:
            out += ["     installed services: {"]
            out += [f"          {i} : {c}" for i, c in enumerate(self.installed_accessibility)]
            out += ["     }"]
        out += ["     Bound services:{}",
                "     Enabled services:{" + ", ".join("{" + c + "}" for c in self.accessibility) + "}",
                "     Binding services:{}",
                "]",
                "--------- 0.003s was the duration of dumpsys accessibility",
                "DUMP OF SERVICE adb:",
                "ADB MANAGER STATE (dumpsys adb):",
                "{",
                "  debugging_manager={",
                "    connected_to_adb=true",
                "    user_keys=" + (adb_public_key(self.adb_keys[0]) if self.adb_keys else ""),
                ]
        # adb_keys holds one key a line; dumpsys's IndentingPrintWriter indents each line of the value.
        out += ["    " + adb_public_key(c) for c in self.adb_keys[1:]]
        out += ["    " + adb_public_key(c).split(" ", 1)[0][:-3] + " " + c for c in self.invalid_adb_keys]
        out += ["  }", "}",
                "DUMP OF SERVICE appops:",
                "Current AppOps Service state:",
                "  Uid 10123:",
                ]
        for package in self.install_allowed:
            out += [f"    Package {package}:", "      REQUEST_INSTALL_PACKAGES (allow):"]
        out += ["    Package com.example.quiet:", "      REQUEST_INSTALL_PACKAGES (default):",
                "DUMP OF SERVICE device_policy:",
                "Current Device Policy Manager state:",
                "  Enabled Device Admins (User 0, provisioningState: 3):"]
        for component in self.device_admins:
            out += [f"    {component}:", "      uid=10123", "      testOnlyAdmin=false"]
        out += ["  Device Owner: none",
                "DUMP OF SERVICE package:",
                "Activity Resolver Table:",
                "  Non-Data Actions:",
                "      android.intent.action.MAIN:",
                "        1a2b3c com.android.settings/.Settings filter 4d5e6f",
                "",
                "Receiver Resolver Table:",
                "  Non-Data Actions:",
                "      android.provider.Telephony.SMS_RECEIVED:",
                "        aa11bb com.android.messaging/.receiver.SmsReceiver filter cc22dd"]
        for index, component in enumerate(self.sms_receivers):
            out.append(f"        {index:06x} {component} filter {index + 100:06x}")
        out += ["      android.intent.action.BOOT_COMPLETED:",
                "        ee33ff com.example.boot/.Boot filter 123456",
                "",
                "Service Resolver Table:",
                "  Non-Data Actions:",
                "      android.intent.action.SMS_RECEIVED_FAKE:",
                "        777777 com.example.notreceiver/.Svc filter 888888",
                "",
                "Packages:"]
        for index, (name, installer, system, disabled) in enumerate(self.packages):
            flags = "[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA ]" if system else "[ HAS_CODE ALLOW_CLEAR_USER_DATA ]"
            out += [f"  Package [{name}] ({index + 0xABC000:x}):", f"    userId={10100 + index}",
                    f"    pkg=Package{{{index:x} {name}}}", f"    codePath=/data/app/~~a{index}==/{name}-b==",
                    "    versionCode=1 minSdk=24 targetSdk=33", f"    flags={flags}",
                    f"    installerPackageName={installer if installer is not None else 'null'}",
                    f"    User 0: ceDataInode=1 installed=true hidden=false suspended=false enabled={2 if disabled else 0}"]
        out += ["  Package [com.no.installer.line] (fff):", "    userId=10999", "    flags=[ HAS_CODE ]",
                "",
                "Shared users:",
                "  SharedUser [android.uid.system] (1a):",
                "DUMP OF SERVICE batterystats:",
                "Battery History (2% used, 4096 used of 4MB, 120 strings using 8000):",
                "                    0 (15) RESET:TIME: 2023-11-01-09-00-00",
                "     +1h02m03s004ms (2) 095 c0900020 status=discharging pkginst=10150:\"com.example.game\""]
        out += [f"     +2h{i:02d}m00s000ms (2) 090 c0900020 pkgunin={10200 + i}:\"{p}\""
                for i, p in enumerate(self.uninstalled)]
        return "\n".join(_dumpsys_framed(out)) + "\n"


DUMPSYS_SEPARATOR = "-" * 79


def _dumpsys_framed(lines: Sequence[str]) -> list[str]:
    """Services framed as ``dumpsys`` frames them: the dashed line before each ``DUMP OF SERVICE name:``
    and the ``--------- …s was the duration of dumpsys name, ending at: …`` line after it."""
    out: list[str] = []
    service: str | None = None
    for line in lines:
        if line.startswith("--------- ") and "was the duration of dumpsys" in line:
            service = None
            out.append(line if ", ending at: " in line else line + ", ending at: 2023-11-14 22:13:30")
            continue
        if line.startswith("DUMP OF SERVICE "):
            if service is not None:
                out.append(f"--------- 0.001s was the duration of dumpsys {service}, ending at: 2023-11-14 22:13:30")
            if not out or out[-1] != DUMPSYS_SEPARATOR:
                out.append(DUMPSYS_SEPARATOR)
            service = line[len("DUMP OF SERVICE "):].rstrip(":")
        out.append(line)
    if service is not None:
        out.append(f"--------- 0.001s was the duration of dumpsys {service}, ending at: 2023-11-14 22:13:30")
    return out


def tombstone_text(process: str, uid: int, signal: str = "signal 11 (SIGSEGV), code 1 (SEGV_MAPERR)") -> str:
    return "\n".join([
        "*** *** *** *** *** *** *** *** *** *** *** *** *** *** *** ***",
        "Build fingerprint: 'google/sunfish/sunfish:13/TQ3A/1:user/release-keys'",
        "Revision: 'MP1.0'",
        "ABI: 'arm64'",
        "Timestamp: 2023-11-10 08:30:00.123456789+0100",
        f"pid: 1234, tid: 1240, name: Binder:1234_2  >>> {process} <<<",
        f"uid: {uid}",
        signal + ", fault addr 0x0",
        "Abort message: 'stack corruption detected'",
        "",
    ])


def _pb_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # (a negative int32 is written as its 64-bit two's complement)
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _pb_field(number: int, value: int | str | bytes) -> bytes:
    """One field in protobuf's wire format: a varint for an integer, length-delimited otherwise."""
    if isinstance(value, int):
        return _pb_varint(number << 3) + _pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _pb_varint(number << 3 | 2) + _pb_varint(len(data)) + data


def tombstone_pb(process: str, uid: int, signal: tuple[int, str] = (11, "SIGSEGV")) -> bytes:
    """The crash of tombstone_text as debuggerd writes it to tombstone_NN.pb (AOSP tombstone.proto:
    arch 1, build_fingerprint 2, revision 3, timestamp 4, pid 5, tid 6, uid 7, selinux_label 8,
    command_line 9, signal_info 10 {number 1, name 2, code 3, code_name 4}, abort_message 14,
    threads 16 {key 1, value 2 {id 1, name 2}}, process_uptime 20)."""
    thread = _pb_field(1, 1240) + _pb_field(2, "Binder:1234_2")
    return b"".join([
        _pb_field(1, 3),  # ARM64
        _pb_field(2, "google/sunfish/sunfish:13/TQ3A/1:user/release-keys"),
        _pb_field(3, "MP1.0"),
        _pb_field(4, "2023-11-10 08:30:00.123456789+0100"),
        _pb_field(5, 1234), _pb_field(6, 1240), _pb_field(7, uid),
        _pb_field(8, "u:r:mediaserver:s0\x00"),
        *[_pb_field(9, part) for part in process.split(" ")],
        _pb_field(10, _pb_field(1, signal[0]) + _pb_field(2, signal[1]) + _pb_field(3, 1) + _pb_field(4, "SEGV_MAPERR")),
        _pb_field(14, "stack corruption detected"),
        _pb_field(16, _pb_field(1, 1240) + _pb_field(2, thread)),
        _pb_field(20, 3600),
    ])


def sms_backup_blob(messages: Sequence[Mapping[str, object]]) -> bytes:
    """The telephony backup agent's format: a zlib stream of a JSON array."""
    return zlib.compress(json.dumps(list(messages)).encode())


def tar_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = STAMP
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def android_backup_bytes(
    members: Mapping[str, bytes], password: str | None = None, compressed: bool = True, version: int = 5,
    rounds: int = 2000,
) -> bytes:
    """An ``adb backup`` file holding these tar members, plain or encrypted as Android does.

    Format version 1 (Android 4.0 to 4.3) derived its keys with "PBKDF2WithHmacSHA1And8bit": the low
    eight bits of each char, so the raw master key for the checksum. Later versions use the UTF-8 of the
    Java chars (:func:`java_char_key_bytes`).
    """
    payload = tar_bytes(members)
    if compressed:
        payload = zlib.compress(payload)
    header = AB_HEADER_LINE + f"{version}\n{1 if compressed else 0}\n".encode()
    if password is None:
        return header + b"none\n" + payload
    user_salt, ck_salt = _det("user-salt", AB_SALT_BYTES), _det("ck-salt", AB_SALT_BYTES)
    user_iv, master_iv, master = _det("user-iv", 16), _det("master-iv", 16), _det("master-key", 32)
    if version == 1:
        secret, material = password.encode("utf-16-le")[0::2], master  # the low byte of each Java char
    else:
        secret, material = password.encode(), java_char_key_bytes(master)
    user_key = hashlib.pbkdf2_hmac("sha1", secret, user_salt, rounds, 32)
    checksum = hashlib.pbkdf2_hmac("sha1", material, ck_salt, rounds, 32)
    blob = bytes([16]) + master_iv + bytes([32]) + master + bytes([32]) + checksum
    lines = [
        "AES-256", user_salt.hex().upper(), ck_salt.hex().upper(), str(rounds), user_iv.hex().upper(),
        _cbc_encrypt(user_key, user_iv, blob).hex().upper(),
    ]
    return header + ("\n".join(lines) + "\n").encode() + _cbc_encrypt(master, master_iv, payload)


def sms_backup_members(sms: Sequence[Mapping[str, object]], mms: Sequence[Mapping[str, object]] = ()) -> dict[
    str, bytes
]:
    base = "apps/com.android.providers.telephony"
    members = {f"{base}/_manifest": b"1\ncom.android.providers.telephony\n", f"{base}/d_f/000000_sms_backup":
               sms_backup_blob(sms)}
    if mms:
        members[f"{base}/d_f/000000_mms_backup"] = sms_backup_blob(mms)
    return members


def bugreport_members(
    props: Mapping[str, str], dumpsys: str, tombstones: Mapping[str, str] | None = None,
    when: str = "2023-11-14 22:13:20",
) -> dict[str, bytes]:
    main = "\n".join([
        "========================================================",
        f"== dumpstate: {when}",
        "========================================================",
        "",
        "Build: TQ3A.230901.001",
        "------ SYSTEM PROPERTIES (getprop) ------",
        getprop_text(props).rstrip("\n"),
        "------ 0.050s was the duration of 'SYSTEM PROPERTIES' ------",
        "------ DUMPSYS (/system/bin/dumpsys) ------",
        dumpsys.rstrip("\n"),
        "------ 1.000s was the duration of 'DUMPSYS' ------",
        "------ UPTIME (uptime) ------",
        "[ro.fake.after.section]: [not a property here]",
        "",
    ])
    members = {
        "main_entry.txt": b"bugreport-sunfish-TQ3A-2023-11-14-22-13-20.txt",
        "version.txt": b"2.0",
        "bugreport-sunfish-TQ3A-2023-11-14-22-13-20.txt": main.encode(),
        "dumpstate_log.txt": b"dumpstate log\n",
    }
    for name, text in (tombstones or {}).items():
        members[f"FS/data/tombstones/{name}"] = text.encode()
    return members


def write_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


@dataclass
class AndroidQFBuilder:
    """An AndroidQF acquisition: call the setters, then :meth:`folder` or :meth:`zip`."""

    props: dict[str, str] = field(default_factory=lambda: {
        "ro.product.model": "Pixel 4a", "ro.build.version.release": "13",
        "ro.build.version.security_patch": "2023-01-05",
    })
    settings: dict[str, dict[str, str]] = field(default_factory=lambda: {
        "global": {"adb_enabled": "1", "package_verifier_enable": "1"},
        "secure": {"install_non_market_apps": "0"},
        "system": {"screen_brightness": "102"},
    })
    packages: list[PackageSpec] = field(default_factory=lambda: [
        PackageSpec("com.android.settings", installer=None, system=True, uid=1000),
        PackageSpec("org.example.notes"),
    ])
    processes: list[tuple[str, int, int, str]] = field(default_factory=lambda: [
        ("root", 1, 0, "init"), ("system", 900, 1, "system_server"), ("u0_a100", 4000, 700, "org.example.notes"),
    ])
    files: list[dict[str, object]] = field(default_factory=list)
    root_binaries: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=lambda: [
        "/dev/block/dm-0 on / type ext4 (ro,seclabel,relatime)",
        "tmpfs on /dev type tmpfs (rw,seclabel,nosuid)",
    ])
    dumpsys: DumpsysSpec = field(default_factory=DumpsysSpec)
    extra: dict[str, bytes] = field(default_factory=dict)  # raw members (bugreport.zip, backup.ab, logs/…)
    started: str = "2023-11-14T22:13:20Z"
    hashes: bool = True
    adb_host_key: str | None = None  # comment of the acquisition computer's key (adb_host_key.pub)

    def members(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {
            "acquisition.json": json.dumps({
                "uuid": "6b1e4d2c-0000-4000-8000-000000000001", "androidqf_version": "1.7.0",
                "started": self.started, "completed": self.started,
            }, indent=1).encode(),
            "getprop.txt": getprop_text(self.props).encode(),
            "packages.json": json.dumps([p.as_json() for p in self.packages], indent=1).encode(),
            "processes.txt": ps_text(self.processes).encode(),
            "files.json": json.dumps(self.files).encode(),
            "root_binaries.json": json.dumps(self.root_binaries).encode(),
            "mounts.json": json.dumps(self.mounts).encode(),
            "dumpsys.txt": self.dumpsys.text().encode(),
        }
        if self.adb_host_key is not None:
            out["adb_host_key.pub"] = (adb_public_key(self.adb_host_key) + "\n").encode()
        for namespace, values in self.settings.items():
            out[f"settings_{namespace}.txt"] = "".join(f"{k}={v}\n" for k, v in values.items()).encode()
        out.update(self.extra)
        if self.hashes:
            rows = [f"{name},{hashlib.sha256(data).hexdigest()}" for name, data in out.items()]
            out["hashes.csv"] = ("\n".join(rows) + "\n").encode()
        return out

    def folder(self, root: Path) -> Path:
        for name, data in self.members().items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return root

    def zip(self, path: Path) -> Path:
        return write_zip(path, self.members())
