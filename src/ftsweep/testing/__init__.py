"""A stand-in fine-tuning service for tests and pipelines: `with StandIn() as service: ...`.

It serves OpenAI's `/v1` routes and Azure OpenAI's (dated `?api-version=` and `/openai/v1`)
on 127.0.0.1, moves jobs through their phases on an injectable clock, reports metrics from a
deterministic function of the hyperparameters (step by step while a job runs, along a learning
curve whose speed the learning rate sets), and misbehaves on request (`Fault`).
"""

from ftsweep.testing.clock import Clock, ManualClock, SystemClock
from ftsweep.testing.errors import Dialect
from ftsweep.testing.faults import Fault
from ftsweep.testing.lifecycle import JobError
from ftsweep.testing.outcomes import TrialInput, default_outcome, smooth_loss, smooth_reward
from ftsweep.testing.routes import AZURE_API_VERSIONS
from ftsweep.testing.server import DEFAULT_MODELS, StandIn
from ftsweep.testing.store import RequestRecord
from ftsweep.testing.validation import JobSpec

__all__ = [
    "AZURE_API_VERSIONS",
    "DEFAULT_MODELS",
    "Clock",
    "Dialect",
    "Fault",
    "JobError",
    "JobSpec",
    "ManualClock",
    "RequestRecord",
    "StandIn",
    "SystemClock",
    "TrialInput",
    "default_outcome",
    "smooth_loss",
    "smooth_reward",
]
