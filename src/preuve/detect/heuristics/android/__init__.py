"""Heuristic rules on Android records: one module each (discovered by being there)."""
