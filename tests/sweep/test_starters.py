"""Starter sweeps: each method's starter loads, validates and plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ftsweep.api.job import JobRequest
from ftsweep.errors import SweepFileError
from ftsweep.sweep import Sweep, load_sweep, plan
from ftsweep.sweep.starters import starter, starter_name

from .conftest import canonical

EXPECTED = {
    # method: (strategy, trials it plans)
    "supervised": ("grid", 18),
    "dpo": ("bayes", 24),
    "reinforcement": ("random", 8),
}


def filled(text: str) -> str:
    """A starter with its placeholders replaced, as its comments tell the user to."""
    text = text.replace("training_file: file-REPLACE-ME", "training_file: file-train")
    text = text.replace("validation_file: file-REPLACE-ME", "validation_file: file-valid")
    return text.replace("REPLACE-ME-reasoning-model", "o3-mini-2025-01-31")


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_a_starter_as_written_is_refused_for_its_placeholders_alone(
    method: str, load: Callable[..., Sweep]
) -> None:
    with pytest.raises(SweepFileError) as exc:
        load(starter(method, f"my-{method}", f"sweeps/{method}.yaml"))
    expected = ["training_file", "validation_file"]
    if method == "reinforcement":
        expected.insert(0, "model")
    assert [p.path for p in exc.value.problems] == expected
    assert all(p.message.startswith("is a placeholder: put the real ") for p in exc.value.problems)


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_starter_loads_and_plans(method: str, load: Callable[..., Sweep]) -> None:
    text = filled(starter(method, f"my-{method}", f"sweeps/{method}.yaml"))
    sweep = load(text)
    assert sweep.name == f"my-{method}" and sweep.method == method
    strategy, count = EXPECTED[method]
    assert sweep.strategy == strategy
    planned = plan(sweep)
    trials = list(planned)
    assert len(trials) == count
    assert len({repr(sorted(t.params.items())) for t in trials}) == count  # no repeats
    for trial, body in zip(trials, planned.bodies(), strict=True):
        assert sweep.space.contains(trial.params)
        assert canonical(JobRequest.model_validate(body).to_body()) == canonical(body)


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_starter_mentions_its_path_and_says_what_to_replace(method: str) -> None:
    text = starter(method, "x", "sweeps/x.yaml")
    assert "ftsweep validate sweeps/x.yaml" in text and "ftsweep plan sweeps/x.yaml" in text
    assert "file-REPLACE-ME" in text
    assert "First replace every REPLACE-ME with your\n# own value" in text
    assert text.startswith("# A ftsweep sweep file.")


def test_a_starter_with_an_odd_path_still_loads(write_sweep: Callable[..., Path]) -> None:
    # braces and colons in a path do not break the YAML
    path = write_sweep(filled(starter("dpo", "d", "odd {name}: dir/d.yaml")))
    assert load_sweep(path).name == "d"


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("stem", ["a" * 70, "été 2026!", "-._", "x" * 39 + "-yyy"])
def test_a_name_from_any_file_name_makes_a_starter_that_validates(
    method: str, stem: str, load: Callable[..., Sweep]
) -> None:
    """A 70-character file name gave a starter whose name (and suffix) validate refused."""
    name = starter_name(stem)
    assert load(filled(starter(method, name, f"{stem}.yaml"))).name == name
