"""What the demo backup (preuve.builders.demo, seed 2021) must yield against the packaged Pegasus feed.

Written by hand from the traces the demo plants; every test on the demo asserts against these.
"""

from __future__ import annotations

from collections import Counter

# indicator matches: fservernetd (DataUsage), roleaccountd.plist (Manifest), accountpfd (osanalytics),
# the attacker account (idstatuscache, sms), free247downloads.com (Safari), tookcheckout.com and
# newenvelope.net (sms)
DEMO_INDICATOR_FINDINGS = 8
# rules: threat notification, /var/tmp attachment, fast redirect, deleted process, process-id gap,
# the 5 unbundled processes (one review-list finding, grouped: its count is 5), Lockdown Mode state
DEMO_RULE_FINDINGS = 7
DEMO_UNBUNDLED_PROCESSES = 5
DEMO_FINDINGS = DEMO_INDICATOR_FINDINGS + DEMO_RULE_FINDINGS
# the deleted process is high and Lockdown Mode recorded off is low, as MVT rates them; the five
# unbundled processes are one review-list finding. A Counter, so that it equals both the summary
# (which lists every severity, "medium": 0 included) and a count of the report's cards (where a
# severity without findings has none).
DEMO_SEVERITIES = Counter({"critical": 3, "high": 8, "medium": 0, "low": 3, "info": 1})
DEMO_SMS_MESSAGES = 65
DEMO_SMS_FINDINGS = 4  # three Pegasus matches and the threat notification
