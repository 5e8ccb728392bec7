"""Indicators of compromise: STIX 2.1 loading, normalisation and the matching index."""
