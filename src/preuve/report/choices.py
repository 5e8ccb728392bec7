"""The output choices the command line offers (timeline files), apart from the code that writes
them, so that `preuve check` reads its options without importing the run."""

from __future__ import annotations

TIMELINE_FORMATS = ("csv", "jsonl")
TIMELINE_CHOICES: dict[str, tuple[str, ...]] = {
    "csv": ("csv",), "jsonl": ("jsonl",), "both": ("csv", "jsonl"), "none": (),
}
# The records are kept whole in artifacts/*.jsonl; a timeline repeats each once per timestamp. None is
# written unless asked for (`check --timeline`), and `preuve timeline OUT` renders one later.
DEFAULT_TIMELINE = "none"
