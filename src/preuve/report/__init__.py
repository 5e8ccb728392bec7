"""Outputs: views over records and findings."""
