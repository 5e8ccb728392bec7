"""Package lists the Android rules share (facts about Android and its app stores, kept in one place)."""

from __future__ import annotations

PLAY_STORE = "com.android.vending"
KNOWN_STORES = frozenset({
    PLAY_STORE, "com.google.android.feedback", "com.sec.android.app.samsungapps", "com.huawei.appmarket",
    "com.amazon.venezia", "com.xiaomi.market", "com.xiaomi.mipicks", "com.heytap.market", "com.oppo.market",
    "com.bbk.appstore", "com.vivo.appstore", "org.fdroid.fdroid", "com.aurora.store", "com.google.android.gms",
    "com.android.shell",
})
BROWSERS = frozenset({
    "com.android.chrome", "com.chrome.beta", "com.chrome.dev", "org.mozilla.firefox", "org.mozilla.firefox_beta",
    "com.sec.android.app.sbrowser", "com.opera.browser", "com.opera.mini.native", "com.microsoft.emmx",
    "com.brave.browser", "com.UCMobile.intl", "com.uc.browser.en", "com.android.browser", "com.mi.globalbrowser",
    "com.duckduckgo.mobile.android", "com.kiwibrowser.browser", "com.vivaldi.browser", "com.yandex.browser",
})
PACKAGE_INSTALLERS = frozenset({
    "com.google.android.packageinstaller", "com.android.packageinstaller", "com.samsung.android.packageinstaller",
    "com.miui.packageinstaller",
})
ROOT_PACKAGES = frozenset({
    "com.topjohnwu.magisk", "io.github.huskydg.magisk", "eu.chainfire.supersu", "com.noshufou.android.su",
    "com.noshufou.android.su.elite", "com.koushikdutta.superuser", "com.thirdparty.superuser",
    "com.yellowes.su", "me.phh.superuser", "com.kingroot.kinguser", "com.kingo.root", "com.kingouser.com",
    "com.smedialink.oneclickroot", "com.zhiqupk.root.global", "com.alephzain.framaroot",
    "com.devadvance.rootcloak", "com.devadvance.rootcloakplus", "de.robv.android.xposed.installer",
    "org.lsposed.manager", "com.saurik.substrate", "com.zachspong.temprootremovejb", "com.amphoras.hidemyroot",
    "com.formyhm.hideroot", "com.ramdroid.appquarantine", "me.weishu.kernelsu",
})
SECURITY_PACKAGES = frozenset({
    "com.android.vending", "com.google.android.gms", "com.google.android.gms.supervision",
    "com.samsung.android.sm.devicesecurity", "com.samsung.android.knox.attestation",
    "com.google.android.configupdater", "com.sec.android.soagent", "com.wssyncmldm",
    "com.samsung.android.app.updatecenter", "com.android.updater", "com.huawei.android.hwouc",
    "com.google.android.apps.work.oobconfig",
})
PLATFORM_PREFIXES = (
    "android", "com.android.", "com.google.android.", "com.samsung.", "com.sec.", "com.qualcomm.",
    "com.qti.", "com.huawei.", "com.miui.", "com.xiaomi.", "com.oneplus.", "com.oplus.", "com.coloros.",
    "com.motorola.", "com.sonymobile.", "com.lge.", "com.mediatek.", "com.vivo.", "com.bbk.",
)


def is_platform_package(package: str) -> bool:
    """A package named like the OS or its maker's own apps (a name can be imitated: a hint, not proof)."""
    return package == "android" or package.startswith(PLATFORM_PREFIXES[1:])
