"""The case store (SQLite): acquisitions, records, observables and findings kept for retro-hunting."""
