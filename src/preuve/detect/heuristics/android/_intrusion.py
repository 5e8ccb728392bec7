"""What the intrusion-log rules share: where the technique is published."""

from __future__ import annotations

MVT_REFERENCE = (
    "MVT (mvt-project), check-intrusion-logs SecurityEvent heuristics; Android SecurityLog "
    "(developer.android.com/reference/android/app/admin/SecurityLog)"
)
INTRUSION_LOGGING = (
    "Amnesty International Security Lab, Android Intrusion Logging as a new source of data for consensual "
    "forensic analysis (2026); Android SecurityLog (developer.android.com/reference/android/app/admin/SecurityLog)"
)
