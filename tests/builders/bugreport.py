"""A bugreport's dumpstate text and zip members, written the way ``adb bugreport`` writes them.

Section markers, column layouts and indentation follow dumpstate (``------ TITLE (command) ------``,
``------ 0.1s was the duration of 'TITLE' ------`` printed when a section ends, sometimes inside
the next one), toybox ``ps -A -T -Z -O …``, ``dumpsys`` (``DUMP OF SERVICE name:`` blocks closed
by ``--------- 0.01s was the duration of dumpsys name, ending at: …``) and the kernel's
``/proc/<pid>/mountinfo``. Nothing here imports preuve: the texts are written out by hand.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

RULE = "-" * 79
MAIN = "bugreport-sunfish-TQ3A.230901.001-2023-11-14-22-13-20.txt"

PROPS = [
    "[persist.sys.timezone]: [Europe/Paris]",
    "[persist.sys.boot.reason.history]: [reboot,userrequested,1699990000",
    "kernel_panic,1699900000",
    "reboot,ota,1699800000]",
    "[ro.build.version.security_patch]: [2023-09-01]",
    "[ro.product.model]: [Pixel 4a]",
]

PS = [
    "LABEL                          USER           PID   TID  PPID     VSZ    RSS WCHAN            ADDR S PRI  NI "
    "RTPRIO SCH PCY     TIME CMD            ",
    "u:r:init:s0                    root             1     1     0 10943556  6476 do_epoll_wait       0 S  19   0 "
    "     - 0     fg 00:00:03 init",
    "u:r:system_server:s0           system         900   900   700 15000000 300000 do_epoll_wait      0 S  18  -2 "
    "     - 0     fg 00:05:00 system_server",
    "u:r:system_server:s0           system         900   912   700 15000000 300000 binder_ioctl_write_read 0 S  24 "
    " -4      - 0     fg 00:00:01 Binder:900_1",
    "u:r:untrusted_app:s0:c12,c257,c512,c768 u0_a12 5678  5678   690 14000000 90000 do_epoll_wait      0 S  10 -10 "
    "     - 0     ta 00:00:07 com.spy.agent",
    "u:r:untrusted_app:s0:c12,c257,c512,c768 u0_a12 5678  5690   690 14000000 90000 futex_wait_queue_me 0 S  20   0 "
    "     - 0     ta 00:00:00 spyworker",
]

APPOPS = [
    "DUMP OF SERVICE appops:",
    "Current AppOps Service state:",
    "  Settings:",
    "    top_state_settle_time=+30s0ms",
    "  Uid 2000:",
    "    state=cch",
    "    capability=LCMN",
    "      LEGACY_STORAGE: mode=allow",
    "    Package com.android.shell:",
    "      READ_CLIPBOARD (allow):",
    "        null=[",
    "          Access: [top-s] 2023-11-14 21:50:01.123 (-23m19s877ms)",
    "        ]",
    "  Uid 10123:",
    "    state=cch",
    "    Package com.spy.app:",
    "      REQUEST_INSTALL_PACKAGES (allow):",
    "        Access: [fg-s] 2023-11-10 10:00:00.000 (-4d12h13m20s)",
    "      CAMERA (ignore):",
    "    Package com.android.vending:",
    "      REQUEST_INSTALL_PACKAGES (allow):",
    "--------- 0.004s was the duration of dumpsys appops, ending at: 2023-11-14 22:13:30",
]

SETTINGS = [
    "DUMP OF SERVICE settings:",
    "CONFIG SETTINGS (user 0)",
    "_id:3 name:activity_manager/max_cached_processes pkg:com.google.android.gms value:32 default:32 "
    "defaultSystemSet:true tag:null",
    "",
    "GLOBAL SETTINGS (user 0)",
    "version: 205",
    "_id:36 name:adb_enabled pkg:com.android.settings value:1 default:0 defaultSystemSet:true",
    "_id:58 name:package_verifier_enable pkg:com.android.vending value:0 default:1 defaultSystemSet:true tag:null",
    "  History (1):",
    "    time:11-10 10:00:00.000 mode:update oldValue:1 newValue:0 package:com.android.vending",
    "",
    "SECURE SETTINGS (user 0)",
    "version: 205",
    "_id:12 name:enabled_accessibility_services pkg:com.android.settings value:com.spy.app/com.spy.app.A11y "
    "default:null defaultSystemSet:false",
    "_id:13 name:bluetooth_name pkg:android value:Pixel",
    "of Alice default:null defaultSystemSet:false",
    "",
    "Historical operations",
    "  11-10 10:00:00.000 update global package_verifier_enable 0 com.android.vending",
    "--------- 0.010s was the duration of dumpsys settings, ending at: 2023-11-14 22:13:31",
]

PACKAGE = [
    "DUMP OF SERVICE package:",
    "Activity Resolver Table:",
    "  Full MIME Types:",
    "      vnd.android.cursor.item/contact:",
    "        1f5c3d0 com.android.contacts/.activities.ContactEditorActivity",
    "",
    "  Non-Data Actions:",
    "      android.intent.action.MAIN:",
    "        8f2c3a1 com.spy.app/.MainActivity",
    "        77aa001 com.android.contacts/.activities.ContactEditorActivity",
    "",
    "Receiver Resolver Table:",
    "  Non-Data Actions:",
    "      android.provider.Telephony.NEW_OUTGOING_SMS:",
    "        33aa11 com.spy.app/.OutSms",
    "",
    "--------- 0.100s was the duration of dumpsys package, ending at: 2023-11-14 22:13:32",
]

BATTERY = [
    "DUMP OF SERVICE batterystats:",
    "Battery History (3% used, 12KB used of 4096KB, 150 strings using 9KB):",
    "                    0 (15) RESET:TIME: 2023-11-01-09-00-00",
    '     +1h02m03s004ms (2) 095 c0900020 status=discharging pkginst=7:"com.example.game"',
    '     +2h00m00s000ms (2) 090 c0900020 pkgunin=3:"com.spy.gone"',
    '     +3h00m00s000ms (2) 090 c0900020 +top=u0a12:"com.spy.agent" +job=u0a12:"com.spy.agent/.UploadJob"',
    '     +3h00m01s000ms (2) 090 c0900020 +wake_lock=u0a200:"*alarm*:com.spy.gone/.Beacon"',
    '     +3h00m02s000ms (2) 090 c0900020 -job=u0a12:"com.spy.agent/.UploadJob" +wake_lock=1000:"NlpWakeLock"',
    "",
    "Daily stats:",
    "  Current start time: 2023-11-14-03-00-00",
    "  Next min deadline: 2023-11-15-01-00-00",
    "  Current daily steps:",
    "    Discharge total time: 1d 2h 0m 0s 0ms  (from 60 steps)",
    "  Daily from 2023-11-13-03-00-00 to 2023-11-14-03-00-00:",
    "    Discharge total time: 1d 1h 0m 0s 0ms  (from 55 steps)",
    "    Package changes:",
    "      Uninstall com.spy.gone",
    "      Update com.bank.app vers=120",
    "  Daily from 2023-11-12-03-00-00 to 2023-11-13-03-00-00:",
    "    Package changes:",
    "      Update com.bank.app vers=130",
    "      Update com.example.game vers=7",
    "      Update com.pkg.installer vers=3",
    "      Update com.old.thing vers=0",
    "--------- 0.300s was the duration of dumpsys batterystats, ending at: 2023-11-14 22:13:33",
]

DBINFO = [
    "DUMP OF SERVICE dbinfo:",
    "Applications Database Info:",
    "",
    "** Database info for pid 5678 [com.spy.agent] **",
    "",
    "Connection pool for /data/user/0/com.spy.agent/databases/loot.db:",
    "  Open: true",
    "  Max connections: 1",
    "  Available primary connection:",
    "    Connection #0:",
    "      isPrimaryConnection: true",
    "      onlyAllowReadOnlyOperations: false",
    "      Most recently executed operations:",
    '        0: [2023-11-14 22:00:00.123] executeForLastInsertedRowId took 2ms - succeeded, '
    'sql="INSERT INTO sms VALUES (?)", path=/data/user/0/com.spy.agent/databases/loot.db',
    '        1: [2023-11-14 21:59:00.001] execute took 1ms - succeeded, sql="PRAGMA journal_mode"',
    "--------- 0.002s was the duration of dumpsys dbinfo, ending at: 2023-11-14 22:13:34",
]

COMPAT = [
    "DUMP OF SERVICE platform_compat:",
    "ChangeId(135634846; name=CALL_ACTIVITY_RESULT_BEFORE_RESUME; enabled; rawOverrides={}; )",
    "ChangeId(168419799; name=DOWNSCALED; disabled; overridable; rawOverrides={com.spy.gone=true, "
    "com.android.chrome=false}; rawOverridesStr={})",
    "--------- 0.001s was the duration of dumpsys platform_compat, ending at: 2023-11-14 22:13:35",
]

MOUNTINFO_INIT = [
    "23 1 253:5 / / ro,relatime shared:1 - ext4 /dev/block/dm-5 ro,seclabel",
    "24 23 0:6 / /dev rw,nosuid,relatime shared:2 - tmpfs tmpfs rw,seclabel,size=2854900k,mode=755",
    "30 23 253:6 / /vendor ro,relatime shared:5 - ext4 /dev/block/dm-6 ro,seclabel",
    "40 23 253:7 / /product rw,relatime shared:8 - ext4 /dev/block/dm-7 ro,seclabel",
]
# An app's namespace: the same mounts (other ids), plus /system_ext writable in this namespace only.
MOUNTINFO_APP = [
    "1023 1022 253:5 / / ro,relatime master:1 - ext4 /dev/block/dm-5 ro,seclabel",
    "1030 1023 253:6 / /vendor ro,relatime master:5 - ext4 /dev/block/dm-6 ro,seclabel",
    "1041 1023 253:9 / /system_ext rw,relatime master:9 - ext4 /dev/block/dm-9 rw,seclabel",
]


def dumpsys_block(lines: list[str]) -> list[str]:
    return [RULE, *lines]


def dumpstate_text(*, bare: bool = False, duration_inside: bool = True) -> str:
    """The main dumpstate text; `bare`: only the dumpsys output, as ``adb shell dumpsys`` saves it."""
    services = [*dumpsys_block(APPOPS), *dumpsys_block(SETTINGS), *dumpsys_block(PACKAGE),
                *dumpsys_block(BATTERY), *dumpsys_block(DBINFO), *dumpsys_block(COMPAT)]
    if bare:
        return "\n".join(services) + "\n"
    out = [
        "========================================================",
        "== dumpstate: 2023-11-14 22:13:20",
        "========================================================",
        "",
        "Build: TQ3A.230901.001",
        "Bugreport format version: 2.0",
        "",
        "------ SYSTEM PROPERTIES (getprop) ------",
        *PROPS,
        "------ 0.050s was the duration of 'SYSTEM PROPERTIES' ------",
        "------ PROCESSES AND THREADS (ps -A -T -Z -O pri,nice,rtprio,sched,pcy,time) ------",
        *PS[:3],
    ]
    if duration_inside:  # a parallel task's timing line lands in the middle of this section
        out.append("------ 0.002s was the duration of 'DUMP TRACES' ------")
    out += [
        *PS[3:],
        "------ 0.400s was the duration of 'PROCESSES AND THREADS' ------",
        "------ MOUNTS (/proc/mounts) ------",
        "/dev/block/dm-5 / ext4 ro,seclabel,relatime 0 0",
        "/dev/block/dm-8 /system ext4 rw,seclabel,relatime 0 0",
        "/dev/block/dm-8 /system rw,seclabel 0 0",  # no type column: not a mount line
        "------ DUMPSYS CRITICAL (/system/bin/dumpsys) ------",
        *services,
        "------ 1.000s was the duration of 'DUMPSYS' ------",
        "------ UPTIME (uptime) ------",
        "[ro.fake.after.section]: [not a property here]",
        " 22:13:40 up 3 days,  2:01,  0 users,  load average: 1.00, 1.10, 1.20",
        "",
    ]
    return "\n".join(out)


def bugreport_members(dumpstate: str | None = None, mountinfo: bool = True) -> dict[str, bytes]:
    members = {
        "main_entry.txt": MAIN.encode(),
        "version.txt": b"2.0",
        MAIN: (dumpstate if dumpstate is not None else dumpstate_text()).encode(),
        "dumpstate_log.txt": b"dumpstate log\n",
        "dumpstate_board.txt": b"board\n",
    }
    if mountinfo:
        members["FS/proc/1/mountinfo"] = ("\n".join(MOUNTINFO_INIT) + "\n").encode()
        members["FS/proc/5678/mountinfo"] = ("\n".join(MOUNTINFO_APP) + "\n").encode()
    return members


def write_zip(path: Path, members: dict[str, bytes], folder: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(f"{folder}/{name}" if folder else name, (2023, 11, 14, 22, 13, 20))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def write_folder(root: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root
