"""Turning records into findings: indicator matching and heuristic rules."""
