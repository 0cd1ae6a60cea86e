"""The local backend's tests: a tiny model built once a session, the trainers' environment, and
helpers that write trial folders.

Without the `local` extra (torch, transformers, TRL and the graders' libraries) these tests are
not collected, except in CI (`CI=true`), where a missing extra fails them: `.ci/run` installs it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ftsweep.local.backend import missing_packages
from tests.study.conftest import postgres_server_url, postgres_url

__all__ = [
    "DATA",
    "jsonl",
    "postgres_server_url",
    "postgres_url",
    "tiny_model",
    "tiny_tokenizer",
    "trainer_env",
    "write_jsonl",
]

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
MISSING = missing_packages()

if MISSING and os.environ.get("CI") != "true":
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header() -> str | None:
    if MISSING:
        return f"tests/local: not collected, the local extra lacks {', '.join(MISSING)}"
    return None


def trainer_env() -> dict[str, str]:
    """Offline, one thread a process (two cores here), no GPU."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ftsweep.local.tiny import build

    return build(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def write_jsonl(path: Path, rows: list[Mapping[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def jsonl(tmp_path: Path) -> Callable[[str, list[Mapping[str, Any]]], Path]:
    return lambda name, rows: write_jsonl(tmp_path / name, rows)
