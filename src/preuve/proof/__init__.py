"""Proof: re-deriving findings from the evidence or a proof package (verify.py)."""
