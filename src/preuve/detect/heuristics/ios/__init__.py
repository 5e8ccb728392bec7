"""Heuristic rules on iOS records: one module each (discovered by being there)."""
