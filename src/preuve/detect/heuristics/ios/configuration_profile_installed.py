"""A configuration profile is installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.configuration_profiles import ConfigurationProfile, payload_words
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

# Payloads that let whoever made the profile see or steer the phone's traffic, or manage the phone.
INTERCEPTING = frozenset({
    "com.apple.security.root", "com.apple.vpn.managed", "com.apple.vpn.managed.applayer",
    "com.apple.proxy.http.global", "com.apple.dnsSettings.managed", "com.apple.dnsProxy.managed",
    "com.apple.webcontent-filter", "com.apple.mdm", "com.apple.relay.managed",
})
# Payloads that can silence an app's notifications (MVT flags these as a way to hide an intrusion).
HIDING = frozenset({"com.apple.notificationsettings"})


class ConfigurationProfileInstalled(Rule):
    name = "configuration_profile_installed"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (ConfigurationProfile,)
    reason = (
        "A configuration profile can install certificates the phone trusts, a VPN, a proxy or DNS settings, or "
        "put the phone under remote management; Predator's operators and stalkerware vendors have used profiles. "
        "Employers and schools install them too, so each one should be recognised by the phone's owner."
    )
    reference = (
        "Citizen Lab, 'Pegasus vs. Predator' (2021) and Amnesty International's Cytrox/Predator indicators, "
        "which list a configuration profile id; Amnesty MVT configuration_profiles module"
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, ConfigurationProfile)
        name = record.display_name or record.identifier or record.uuid or "without a name"
        who = f" from {record.organization}" if record.organization else ""
        types = record.payload_types
        kinds = list(dict.fromkeys(payload_words(t) for t in types))
        does = f" It installs {', '.join(kinds)}." if kinds else ""
        intercepts = any(t in INTERCEPTING for t in types)
        hides = any(t in HIDING for t in types)
        risky = intercepts or hides
        signed = "" if record.signers else " It is not signed."
        can = [what for flag, what in ((intercepts, "watch or redirect the phone's traffic"),
                                       (hides, "silence notifications, hiding what an app does")) if flag]
        advice = f" Such a profile can {' and '.join(can)}." if can else ""
        advice += " If the owner or their employer did not install it, treat it as suspicious."
        yield self.finding(
            record,
            artifact,
            f"The configuration profile '{name}'{who} is installed.{does}{signed}{advice}",
            observable=Observable(Kind.PROFILE_ID, record.uuid) if record.uuid else None,
            severity=Severity.HIGH if risky else Severity.MEDIUM,
        )
