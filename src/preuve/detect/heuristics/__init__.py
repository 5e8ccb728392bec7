"""One module per heuristic rule (discovered by :func:`preuve.detect.rules.discover_rules`)."""
