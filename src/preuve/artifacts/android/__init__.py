"""Android artifacts, one module each (discovered by :func:`preuve.artifacts.base.discover_artifacts`)."""
