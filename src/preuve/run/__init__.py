"""The run: one acquisition through every artifact, the matcher and the rules (engine.py)."""
