"""CLI commands, one module per topic; each lists its click commands in COMMANDS."""
