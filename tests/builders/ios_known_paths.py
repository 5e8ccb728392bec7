"""Real iOS backup files and where they lie on the device, taken from public sources (not from preuve).

Each entry is (domain, relativePath, backup file id or None, device path, source). The file id is
the one the source hard-codes; a test checks it is SHA-1("<domain>-<relativePath>"), which proves
that the pair is the one real backups use. In a device path, ``*`` stands for one path segment (the
container's UUID on the device, where a backup names the container by bundle or group id).
"""

from __future__ import annotations

MVT = "MVT src/mvt/ios/modules/mixed (BACKUP_IDS, ROOT_PATHS)"
NOTES = "public forensic scripts listing backup file ids"
DISSECT = "dissect.target loaders/itunes.py (DOMAIN_TRANSLATION) and the file's documented device path"

KNOWN_PATHS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("HomeDomain", "Library/SMS/sms.db", "3d0d7e5fb2ce288813306e4d4636395e047a3d28",
     "/private/var/mobile/Library/SMS/sms.db", MVT),
    ("HomeDomain", "Library/Calendar/Calendar.sqlitedb", "2041457d5fe04d39d0ab481178355df6781e6858",
     "/private/var/mobile/Library/Calendar/Calendar.sqlitedb", MVT),
    ("HomeDomain", "Library/AddressBook/AddressBook.sqlitedb", "31bb7ba8914766d4ba40d6dfb6113c8b614be442",
     "/private/var/mobile/Library/AddressBook/AddressBook.sqlitedb", MVT),
    ("HomeDomain", "Library/CallHistoryDB/CallHistory.storedata", "5a4935c78a5255723f707230a451d79c540d2741",
     "/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", MVT),
    ("HomeDomain", "Library/TCC/TCC.db", "64d0019cb3d46bfc8cce545a8ba54b93e7ea9347",
     "/private/var/mobile/Library/TCC/TCC.db", MVT),
    ("HomeDomain", "Library/Preferences/.GlobalPreferences.plist", "0dc926a1810f7aee4e8f38793ed788701f93bf9d",
     "/private/var/mobile/Library/Preferences/.GlobalPreferences.plist", MVT),
    ("HomeDomain", "Library/Shortcuts/Shortcuts.sqlite", "5b4d0b44b5990f62b9f4d34ad8dc382bf0b01094",
     "/private/var/mobile/Library/Shortcuts/Shortcuts.sqlite", MVT),
    ("HomeDomain", "Library/CoreDuet/People/interactionC.db", "1f5a521220a3ad80ebfdc196978df8e7a2e49dee",
     "/private/var/mobile/Library/CoreDuet/People/interactionC.db", MVT),
    ("HomeDomain", "Library/Preferences/com.apple.osanalytics.addaily.plist",
     "f65b5fafc69bbd3c60be019c6e938e146825fa83",
     "/private/var/mobile/Library/Preferences/com.apple.osanalytics.addaily.plist", MVT),
    ("HomeDomain", "Library/Preferences/com.apple.identityservices.idstatuscache.plist",
     "6b97989189901ceaa4e5be9b7f05fb584120e27b",
     "/private/var/mobile/Library/Preferences/com.apple.identityservices.idstatuscache.plist", MVT),
    ("HomeDomain", "Library/Voicemail/voicemail.db", "992df473bbb9e132f4b3b6e4d33f72171e97bc7a",
     "/private/var/mobile/Library/Voicemail/voicemail.db", NOTES),
    ("RootDomain", "Library/Caches/locationd/clients.plist", "a690d7769cce8904ca2b67320b107c8fe5f79412",
     "/private/var/root/Library/Caches/locationd/clients.plist", MVT),
    ("WirelessDomain", "Library/Databases/DataUsage.sqlite", "0d609c54856a9bb2d56729df1d68f2958a88426b",
     "/private/var/wireless/Library/Databases/DataUsage.sqlite", MVT),
    ("CameraRollDomain", "Media/PhotoData/Photos.sqlite", "12b144c0bd44f2b3dffd9186d3f9c05b917cee25",
     "/private/var/mobile/Media/PhotoData/Photos.sqlite", NOTES),
    ("MediaDomain", "Media/Recordings/Recordings.db", "303e04f2a5b473c5ca2127d65365db4c3e055c05",
     "/private/var/mobile/Media/Recordings/Recordings.db", NOTES),
    ("KeychainDomain", "keychain-backup.plist", "51a4616e576dd33cd2abadfea874eb8ff246bf0e",
     "/private/var/Keychains/keychain-backup.plist", NOTES),
    ("AppDomain-com.google.chrome.ios", "Library/Application Support/Google/Chrome/Default/History",
     "faf971ce92c3ac508c018dce1bef2a8b8e9838f1",
     "/private/var/mobile/Containers/Data/Application/*/Library/Application Support/Google/Chrome/Default/History",
     MVT),
    ("AppDomain-com.google.chrome.ios", "Library/Application Support/Google/Chrome/Default/Favicons",
     "55680ab883d0fdcffd94f959b1632e5fbbb18c5b",
     "/private/var/mobile/Containers/Data/Application/*/Library/Application Support/Google/Chrome/Default/Favicons",
     MVT),
    ("AppDomain-com.apple.mobilesafari",
     "Library/WebKit/WebsiteData/ResourceLoadStatistics/full_browsing_session_resourceLog.plist",
     "a500ee38053454a02e990957be8a251935e28d3f",
     "/private/var/mobile/Containers/Data/Application/*/Library/WebKit/WebsiteData/ResourceLoadStatistics/"
     "full_browsing_session_resourceLog.plist", MVT),
    ("AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     "7c7fba66680ef796b916b067077cc246adacf01d",
     "/private/var/mobile/Containers/Shared/AppGroup/*/ChatStorage.sqlite", MVT),
    ("AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ContactsV2.sqlite",
     "b8548dc30aa1030df0ce18ef08b882cf7ab5212f",
     "/private/var/mobile/Containers/Shared/AppGroup/*/ContactsV2.sqlite", MVT),
    # MVT's ROOT_PATHS for this file leaves the app group container out; the file id is MVT's.
    ("AppDomainGroup-group.org.mozilla.ios.Firefox", "profile.profile/browser.db",
     "2e57c396a35b0d1bcbc624725002d98bd61d142b",
     "/private/var/mobile/Containers/Shared/AppGroup/*/profile.profile/browser.db", MVT),
    ("HealthDomain", "Health/healthdb_secure.sqlite", None,
     "/private/var/mobile/Library/Health/healthdb_secure.sqlite", DISSECT),
    ("SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles",
     "Library/ConfigurationProfiles/SharedDeviceConfiguration.plist", None,
     "/private/var/containers/Shared/SystemGroup/*/Library/ConfigurationProfiles/SharedDeviceConfiguration.plist",
     DISSECT),
    ("ProtectedDomain", "trustd/private/TrustStore.sqlite3", None,
     "/private/var/protected/trustd/private/TrustStore.sqlite3", NOTES),
    ("ManagedPreferencesDomain", "mobile/com.apple.purplebuddy.plist", None,
     "/private/var/Managed Preferences/mobile/com.apple.purplebuddy.plist", DISSECT),
    ("SystemPreferencesDomain", "SystemConfiguration/preferences.plist", None,
     "/private/var/preferences/SystemConfiguration/preferences.plist", DISSECT),
)


def matches(device_path: str | None, pattern: str) -> bool:
    """Whether `device_path` is `pattern`, where a ``*`` segment stands for any one segment."""
    if device_path is None:
        return False
    got, want = device_path.split("/"), pattern.split("/")
    return len(got) == len(want) and all(w == "*" or g == w for g, w in zip(got, want, strict=True))
