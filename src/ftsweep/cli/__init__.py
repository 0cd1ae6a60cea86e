"""The `ftsweep` command line."""

from ftsweep.cli.app import app, main

__all__ = ["app", "main"]
