"""Decoders of the file formats evidence comes in (plists, gzip checkpoints)."""
