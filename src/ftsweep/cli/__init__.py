"""The `ftsweep` command line."""

from ftsweep.cli import check as _check_command  # noqa: F401  (registers it on app)
from ftsweep.cli import doctor as _doctor_command  # noqa: F401  (registers it on app)
from ftsweep.cli import loop as _loop_commands  # noqa: F401  (registers them on app)
from ftsweep.cli import service as _service_commands  # noqa: F401  (registers them on app)
from ftsweep.cli.app import app, main

__all__ = ["app", "main"]
