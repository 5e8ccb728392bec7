"""Checking many acquisitions side by side: a local process pool, or a Dask cluster."""
