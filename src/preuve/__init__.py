"""preuve: check phones for mercenary spyware and stalkerware, with proof anyone can re-derive.

The library API lives here; the command line (:mod:`preuve.cli`) only calls it.
Nothing runs at import time.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
