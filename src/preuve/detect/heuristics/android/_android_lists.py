"""Package lists the Android rules share (facts about Android and its app stores, kept in one place).

Where MVT (mvt-project, ``mvt/android/utils.py``) publishes a list, every name
of it is here, so preuve flags at least what MVT flags; names preuve adds are
in the same set.
"""

from __future__ import annotations

PLAY_STORE = "com.android.vending"
# Stores that MVT reports for information only (THIRD_PARTY_STORE_INSTALLERS): open-source app stores.
THIRD_PARTY_STORES = frozenset({"org.fdroid.fdroid", "com.aurora.store"})
KNOWN_STORES = frozenset({
    PLAY_STORE, "com.google.android.feedback", "com.sec.android.app.samsungapps", "com.huawei.appmarket",
    "com.amazon.venezia", "com.xiaomi.market", "com.xiaomi.mipicks", "com.heytap.market", "com.oppo.market",
    "com.bbk.appstore", "com.vivo.appstore", "com.google.android.gms", "com.android.shell",
}) | THIRD_PARTY_STORES
BROWSERS = frozenset({
    "com.android.chrome", "com.chrome.beta", "com.chrome.dev", "org.mozilla.firefox", "org.mozilla.firefox_beta",
    "com.sec.android.app.sbrowser", "com.opera.browser", "com.opera.mini.native", "com.microsoft.emmx",
    "com.brave.browser", "com.UCMobile.intl", "com.uc.browser.en", "com.android.browser", "com.mi.globalbrowser",
    "com.duckduckgo.mobile.android", "com.kiwibrowser.browser", "com.vivaldi.browser", "com.yandex.browser",
})
# The system's package installer: the installer of an APK file opened on the phone (a browser download, a
# file shared in a chat). MVT's BROWSER_INSTALLERS are the first two.
PACKAGE_INSTALLERS = frozenset({
    "com.google.android.packageinstaller", "com.android.packageinstaller", "com.samsung.android.packageinstaller",
    "com.miui.packageinstaller",
})
ROOT_PACKAGES = frozenset({
    # MVT's ROOT_PACKAGES
    "com.noshufou.android.su", "com.noshufou.android.su.elite", "eu.chainfire.supersu", "com.koushikdutta.superuser",
    "com.thirdparty.superuser", "com.yellowes.su", "com.koushikdutta.rommanager", "com.koushikdutta.rommanager.license",
    "com.dimonvideo.luckypatcher", "com.chelpus.lackypatch", "com.ramdroid.appquarantine",
    "com.ramdroid.appquarantinepro", "com.devadvance.rootcloak", "com.devadvance.rootcloakplus",
    "de.robv.android.xposed.installer", "com.saurik.substrate", "com.zachspong.temprootremovejb",
    "com.amphoras.hidemyroot", "com.amphoras.hidemyrootadfree", "com.formyhm.hiderootPremium", "com.formyhm.hideroot",
    "me.phh.superuser", "eu.chainfire.supersu.pro", "com.kingouser.com", "com.topjohnwu.magisk",
    # preuve's additions: later root managers and one-click rooting tools
    "io.github.huskydg.magisk", "com.kingroot.kinguser", "com.kingo.root", "com.smedialink.oneclickroot",
    "com.zhiqupk.root.global", "com.alephzain.framaroot", "org.lsposed.manager", "me.weishu.kernelsu",
})
# MVT's SECURITY_PACKAGES (maker security agents), then preuve's additions (Play services, the Play Store,
# Samsung device security and attestation, Google's certificate and config updaters).
SECURITY_PACKAGES = frozenset({
    "com.policydm", "com.samsung.android.app.omcagent", "com.samsung.android.securitylogagent",
    "com.sec.android.soagent",
    "com.android.vending", "com.google.android.gms.supervision", "com.samsung.android.sm.devicesecurity",
    "com.samsung.android.knox.attestation", "com.google.android.configupdater",
    "com.google.android.apps.work.oobconfig",
})
# MVT's SYSTEM_UPDATE_PACKAGES (over-the-air update agents), then preuve's additions.
SYSTEM_UPDATE_PACKAGES = frozenset({
    "com.android.updater", "com.google.android.gms", "com.huawei.android.hwouc", "com.lge.lgdmsclient",
    "com.motorola.ccc.ota", "com.oneplus.opbackup", "com.oppo.ota", "com.transsion.systemupdate", "com.wssyncmldm",
    "com.samsung.android.app.updatecenter",
})
PLATFORM_PREFIXES = (
    "android", "com.android.", "com.google.android.", "com.samsung.", "com.sec.", "com.qualcomm.",
    "com.qti.", "com.huawei.", "com.miui.", "com.xiaomi.", "com.oneplus.", "com.oplus.", "com.coloros.",
    "com.motorola.", "com.sonymobile.", "com.lge.", "com.mediatek.", "com.vivo.", "com.bbk.",
)


def is_platform_package(package: str) -> bool:
    """A package named like the OS or its maker's own apps (a name can be imitated: a hint, not proof)."""
    return package == "android" or package.startswith(PLATFORM_PREFIXES[1:])


# MVT's SUSPICIOUS_MOUNT_POINTS are /system, /vendor, /product and /system_ext, matched as prefixes
# ("/system_dlkm", "/vendor/firmware_mnt" are in); preuve adds the ODM partitions.
SYSTEM_PREFIXES = ("/system", "/vendor", "/product", "/odm")
# Partitions that Android itself mounts with noatime (MVT's ALLOWLIST_NOATIME).
NOATIME_ALLOWED = frozenset({"/system_dlkm", "/system_ext", "/product", "/vendor", "/vendor_dlkm"})


def is_system_partition(mount_point: str) -> bool:
    """/system, /vendor, /product, /odm and what starts with them, as MVT matches them."""
    return mount_point.startswith(SYSTEM_PREFIXES)
