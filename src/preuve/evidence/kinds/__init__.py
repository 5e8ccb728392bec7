"""One module per acquisition kind; see :mod:`preuve.evidence.acquisition`."""
