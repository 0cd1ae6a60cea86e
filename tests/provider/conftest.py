"""A stand-in service on a real clock, a sweep with local data files, the environment pointed
at the stand-in, and helpers to read what the service and the study hold."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftsweep.provider import Retry, ServiceBackend, connect
from ftsweep.study import SweepStudy
from ftsweep.sweep import load_sweep
from ftsweep.testing import StandIn

MODEL = "gpt-4.1-mini-2025-04-14"
PHASE = 0.05  # seconds per job phase: a job is done in about four
FAST = Retry(first=0.01, longest=0.05)

SWEEP = """\
name: {name}
method: supervised
model: {model}
training_file: data/train.jsonl
validation_file: data/valid.jsonl
strategy: random
max_trials: {max_trials}
seed: 3
space:
  learning_rate_multiplier: {{low: 0.1, high: 2.0, log: true}}
  n_epochs: {{low: 1, high: 4}}
job:
  suffix: "t-{{trial}}"
service:
  timeout: {timeout}
  poll_interval: 0.05
{extra}"""


def chat_lines(count: int, tag: str = "q") -> str:
    def row(i: int) -> dict[str, object]:
        question = {"role": "user", "content": f"{tag}{i}"}
        return {"messages": [question, {"role": "assistant", "content": "a"}]}

    rows = [row(i) for i in range(count)]
    return "".join(json.dumps(row) + "\n" for row in rows)


def write_sweep(
    folder: Path,
    *,
    name: str = "svc",
    model: str = MODEL,
    max_trials: int = 20,
    timeout: float = 5,
    extra: str = "",
) -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "train.jsonl").exists():
        (data / "train.jsonl").write_text(chat_lines(20))
        (data / "valid.jsonl").write_text(chat_lines(5, "v"))
    path = folder / "sweep.yaml"
    text = SWEEP.format(name=name, model=model, max_trials=max_trials, timeout=timeout, extra=extra)
    path.write_text(text)
    return path


@pytest.fixture
def service() -> Iterator[StandIn]:
    with StandIn(phase_seconds=PHASE) as running:
        yield running


def point_at_openai(service: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a user of OpenAI's API at `service`; no Azure variables."""
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", service.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", service.base_url)


@pytest.fixture
def env(service: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """The environment as a user pointing ftsweep at the stand-in sets it."""
    point_at_openai(service, monkeypatch)
    return service


def point_at_azure(service: StandIn, monkeypatch: pytest.MonkeyPatch, *, dated: bool) -> None:
    """The environment of an Azure user: its endpoint and key, and a dated API version or none
    (the v1 API); no OpenAI variables."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", service.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", service.api_key)
    if dated:
        monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    else:
        monkeypatch.delenv("OPENAI_API_VERSION", raising=False)


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    return write_sweep(tmp_path)


def open_study(path: Path) -> SweepStudy:
    return SweepStudy(load_sweep(path))


_OPENED: list[ServiceBackend] = []


def backend_of(study: SweepStudy, provider: str | None = None) -> ServiceBackend:
    """The sweep's backend, closed after the test (`_close_backends`)."""
    backend = connect(study.sweep.spec.service, provider, retry=FAST)  # type: ignore[arg-type]
    _OPENED.append(backend)
    return backend


@pytest.fixture(autouse=True)
def _close_backends() -> Iterator[None]:
    """Every backend a test opened is closed when it ends: an open socket left to the garbage
    collector is a ResourceWarning, which fails whichever test is running when it comes."""
    yield
    while _OPENED:
        _OPENED.pop().close()


def jobs_per_trial(service: StandIn) -> Counter[str]:
    """How many jobs the service holds for each trial key (the dated Azure API keeps no
    metadata: there the suffix names the trial)."""
    keys: Counter[str] = Counter()
    for job in service.jobs:
        key = (job.spec.metadata or {}).get("ftsweep_trial") or f"suffix:{job.spec.suffix}"
        keys[key] += 1
    return keys
