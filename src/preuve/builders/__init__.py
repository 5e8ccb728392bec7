"""Code that writes the synthetic backup `preuve demo` checks (the tests use it too; the other fixture
builders live in tests/builders, outside the installed package).

Nothing here reads evidence; everything here writes synthetic evidence into a
folder the caller chooses.
"""
