"""A stand-in on a manual clock and the real openai clients pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from ftsweep.testing import ManualClock, StandIn

MODEL = "gpt-4.1-mini-2025-04-14"
AZURE_VERSION = "2025-04-01-preview"
PHASE = 0.2


def chat_lines(count: int) -> bytes:
    """`count` supervised chat examples, one JSON object a line."""
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(count)
    ]
    return b"\n".join(json.dumps(row).encode() for row in rows) + b"\n"


@pytest.fixture
def service() -> Iterator[StandIn]:
    with StandIn(clock=ManualClock(), phase_seconds=PHASE) as running:
        yield running


@pytest.fixture
def client(service: StandIn) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=service.base_url, api_key=service.api_key, max_retries=0) as c:
        yield c


@pytest.fixture
def azure(service: StandIn) -> Iterator[openai.AzureOpenAI]:
    with openai.AzureOpenAI(
        azure_endpoint=service.azure_endpoint,
        api_key=service.api_key,
        api_version=AZURE_VERSION,
        max_retries=0,
    ) as c:
        yield c


def upload(service: StandIn, client: openai.OpenAI, lines: int = 12) -> str:
    """Upload a training file and let the clock process it; its id."""
    created = client.files.create(file=("train.jsonl", chat_lines(lines)), purpose="fine-tune")
    service.advance(PHASE)
    return created.id


def finish(service: StandIn) -> None:
    """Move the clock past every phase of a job created now."""
    service.advance(3 * PHASE)
