"""The output formats: each renders a run (records, findings, coverage) one way (see report/outdir.py,
the one path that writes an output folder)."""
