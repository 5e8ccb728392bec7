"""`python -m preuve`."""

from preuve.cli import main

main()
