"""CLI commands, one module per topic; each lists its click commands in COMMANDS.

``COMMAND_MODULES`` says which module declares each top-level command, so that
``preuve check`` imports the module of ``check`` alone (every module pulls in
its own part of the library, and the sum is slow to import). It must match the
modules' COMMANDS (a test checks it); a command missing from it is still found,
by importing every module.
"""

COMMAND_MODULES: dict[str, str] = {
    "artifacts": "check",
    "backup-key": "backup",
    "case": "case",
    "check": "check",
    "demo": "check",
    "export": "verify",
    "export-stix": "export_stix",
    "fleet": "case",
    "iocs": "iocs",
    "rehunt": "case",
    "serve": "serve",
    "timeline": "check",
    "verify": "verify",
}
