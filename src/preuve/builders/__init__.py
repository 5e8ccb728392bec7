"""Code that writes realistic acquisitions and indicator bundles: the demo and the tests use it.

Nothing here reads evidence; everything here writes synthetic evidence into a
folder the caller chooses.
"""
