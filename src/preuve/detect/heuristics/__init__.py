"""One module per heuristic rule, in `ios/` or `android/` like the artifacts they read (discovered by
:func:`preuve.detect.rules.discover_rules`)."""
