"""Where a sweep's jobs run: the backend interface, OpenAI and Azure through the `openai` client,
and what the service commands do over it (submit, sync, cancel, run).

Nothing here is imported by `ftsweep --help`, `validate` or `plan`: the client loads on first use.
"""

from ftsweep.provider.backend import Backend, Transient, TrialJob, UploadedFile
from ftsweep.provider.connect import connect
from ftsweep.provider.retry import Retry
from ftsweep.provider.run import CancelReport, RunReport, cancel, run
from ftsweep.provider.service import ServiceBackend
from ftsweep.provider.submit import SubmitReport, submit
from ftsweep.provider.sync import SyncReport, sync

__all__ = [
    "Backend",
    "CancelReport",
    "Retry",
    "RunReport",
    "ServiceBackend",
    "SubmitReport",
    "SyncReport",
    "Transient",
    "TrialJob",
    "UploadedFile",
    "cancel",
    "connect",
    "run",
    "submit",
    "sync",
]
