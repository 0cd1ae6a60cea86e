"""Asking a sweep's study for trials (`ftsweep.study.sweep_study`).

The helpers at the top (`sweep_text`, `make_study`, `result`, `optuna_trials`) are shared by the
other study tests.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import StudyError
from ftsweep.study import Result, SweepStudy, trials_frame
from ftsweep.sweep import load_sweep
from ftsweep.sweep.strategies import sequence

MODEL = "gpt-4.1-mini-2025-04-14"
GRID_SPACE = "  n_epochs: [1, 2, 3]\n  batch_size: [auto, 8]\n"
CONTINUOUS_SPACE = (
    "  learning_rate_multiplier: {low: 0.1, high: 4, log: true, auto: true}\n"
    "  n_epochs: {low: 1, high: 10}\n"
)


def sweep_text(
    name: str = "s",
    *,
    strategy: str = "grid",
    space: str = GRID_SPACE,
    method: str = "supervised",
    extra: str = "",
) -> str:
    """A sweep file's text; `extra` is appended (max_trials, objective, ...)."""
    return (
        f"name: {name}\nmethod: {method}\nmodel: {MODEL}\ntraining_file: file-train\n"
        f"validation_file: file-valid\nstrategy: {strategy}\nseed: 7\nspace:\n{space}{extra}"
    )


def make_study(
    directory: Path, text: str, storage: str | None = None, file: str = "sweep.yaml"
) -> SweepStudy:
    """Write the sweep file into `directory` and open its study (default storage beside it)."""
    path = directory / file
    path.write_text(text)
    return SweepStudy(load_sweep(path), storage)


def created(study: SweepStudy) -> SweepStudy:
    """The study, with its (empty) Optuna study made in the storage, as an ask or tell makes it."""
    study.store.load(write=True)
    return study


def result(**fields: Any) -> Result:
    """A succeeded result row; `fields` override (name the trial by trial, key or job_id)."""
    base: dict[str, Any] = {
        "source": "results.csv",
        "row": 2,
        "trial": None,
        "key": None,
        "job_id": None,
        "status": "succeeded",
        "values": {},
        "trained_tokens": None,
        "error": None,
        "resolved": {},
        "job": None,
    }
    base.update(fields)
    return Result(**base)


def optuna_trials(study: SweepStudy) -> list[Any]:
    """Every Optuna trial of the study, discarded and superseded ones included."""
    return list(study.store.optuna_study().get_trials(deepcopy=False))


def params_of(asked: list[Any]) -> list[dict[str, Any]]:
    return [a.params for a in asked]


# --- static strategies ----------------------------------------------------------------------


def test_grid_continues_past_the_points_handed_out(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    first, second = study.ask(3), study.ask(3)
    grid = list(sequence(study.sweep.space, "grid", 7))
    assert params_of(first + second) == grid[:6]
    assert [a.key for a in first + second] == [f"s-{i:04d}" for i in range(6)]
    assert [a.number for a in first + second] == list(range(6))


def test_asked_trials_carry_their_job_body(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    (asked,) = study.ask(1)
    assert asked.body["metadata"] == {"ftsweep_sweep": "s", "ftsweep_trial": "s-0000"}
    assert asked.body["model"] == MODEL
    assert asked.body["method"] == {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": "auto"}},
    }


@pytest.mark.parametrize("strategy", ["random", "sobol"])
@pytest.mark.parametrize("space", [GRID_SPACE, CONTINUOUS_SPACE], ids=["finite", "continuous"])
def test_random_and_sobol_continue_their_seeded_sequence(
    tmp_path: Path, strategy: str, space: str
) -> None:
    study = make_study(tmp_path, sweep_text(strategy=strategy, space=space))
    asked = study.ask(2) + study.ask(3)
    expected = list(itertools.islice(sequence(study.sweep.space, strategy, 7), 5))
    assert params_of(asked) == expected
    assert len({json.dumps(p, sort_keys=True) for p in params_of(asked)}) == 5


def test_a_finite_space_runs_out_cleanly(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(strategy="random"))
    assert len(study.ask(4)) == 4
    assert len(study.ask(4)) == 2
    assert study.ask(4) == []
    frame = trials_frame(study)
    assert len(set(zip(frame["n_epochs"], frame["batch_size"], strict=True))) == len(frame) == 6


@pytest.mark.parametrize("strategy", ["grid", "sobol", "tpe"])
def test_max_trials_is_never_exceeded(tmp_path: Path, strategy: str) -> None:
    space = GRID_SPACE if strategy == "grid" else CONTINUOUS_SPACE
    study = make_study(
        tmp_path, sweep_text(strategy=strategy, space=space, extra="max_trials: 5\n")
    )
    assert len(study.ask(3)) == 3
    assert len(study.ask(3)) == 2
    assert study.ask(1) == []
    assert len(trials_frame(study)) == 5


def test_max_trials_bounds_a_single_large_ask(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 4\n"))
    assert [a.key for a in study.ask(10)] == ["s-0000", "s-0001", "s-0002", "s-0003"]


def test_ask_for_no_trial_is_refused(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with pytest.raises(StudyError, match="ask for 1 to 1,000,000 trials, not 0"):
        study.ask(0)
    with pytest.raises(StudyError, match="ask for 1 to 1,000,000 trials, not 10,000,000"):
        study.ask(10**7)  # a batch never ends on a continuous space without max_trials


def test_same_sweep_and_seed_ask_the_same_configurations(tmp_path: Path) -> None:
    for strategy in ("grid", "random", "sobol"):
        text = sweep_text(
            strategy=strategy, space=CONTINUOUS_SPACE if strategy != "grid" else GRID_SPACE
        )
        (tmp_path / strategy / "a").mkdir(parents=True)
        (tmp_path / strategy / "b").mkdir(parents=True)
        one = make_study(tmp_path / strategy / "a", text)
        two = make_study(tmp_path / strategy / "b", text)
        assert params_of(one.ask(4)) == params_of(two.ask(4)), strategy


_ASK_SCRIPT = textwrap.dedent(
    """\
    import json, sys
    from ftsweep.study import SweepStudy
    from ftsweep.sweep import load_sweep
    study = SweepStudy(load_sweep(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps([[a.key, a.params] for a in study.ask(3)]))
    """
)


def _ask_in_processes(path: Path, count: int, storage: str | None = None) -> list[Any]:
    command = [sys.executable, "-c", _ASK_SCRIPT, str(path), *([storage] if storage else [])]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(count)
    ]
    handed: list[Any] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
        handed += json.loads(out)
    return handed


def test_another_process_asks_the_same_configurations(tmp_path: Path) -> None:
    text = sweep_text(strategy="random", space=CONTINUOUS_SPACE)
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    here = make_study(tmp_path / "here", text)
    (tmp_path / "there" / "sweep.yaml").write_text(text)
    (there,) = [_ask_in_processes(tmp_path / "there" / "sweep.yaml", 1)]
    assert [[a.key, a.params] for a in here.ask(3)] == there


@pytest.mark.parametrize("strategy", ["grid", "tpe"])
def test_processes_asking_at_once_get_distinct_trials(tmp_path: Path, strategy: str) -> None:
    space = "  n_epochs: [1, 2, 3]\n  batch_size: [4, 8, 16]\n"
    path = tmp_path / "sweep.yaml"
    path.write_text(sweep_text(strategy=strategy, space=space))
    handed = _ask_in_processes(path, 3)
    assert len(handed) == 9
    assert len({key for key, _ in handed}) == 9
    assert len({json.dumps(params, sort_keys=True) for _, params in handed}) == 9


# --- adaptive strategies --------------------------------------------------------------------


def test_an_adaptive_batch_is_distinct_even_on_a_small_space(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(strategy="tpe"))
    asked = study.ask(6)
    assert len(asked) == 6
    assert len({json.dumps(p, sort_keys=True) for p in params_of(asked)}) == 6
    assert all(study.sweep.space.contains(p) for p in params_of(asked))
    assert [a.key for a in asked] == [study.key(a.number) for a in asked]
    assert study.ask(2) == []
    assert len(trials_frame(study)) == 6


def test_duplicate_proposals_do_not_count(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(strategy="tpe", extra="max_trials: 6\n"))
    study.ask(4)
    assert len(study.ask(4)) == 2
    trials = study.trials()
    assert [t.number for t in trials] == list(range(6))  # no proposal became a trial of its own
    assert not any(t.discarded is not None for t in trials)


# --- abandoning a batch ---------------------------------------------------------------------


def test_a_batch_that_was_not_delivered_is_abandoned(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 3\n"))
    with pytest.raises(RuntimeError, match="disk full"), study.asking(2) as asked:
        assert len(asked) == 2
        raise RuntimeError("disk full")
    trials = study.trials()
    assert [t.state for t in trials] == ["fail", "fail"]
    assert all(t.discarded == "batch not written" for t in trials)
    assert len(trials_frame(study)) == 0
    again = study.ask(3)  # the abandoned trials do not count toward max_trials
    assert params_of(again) == list(sequence(study.sweep.space, "grid", 7))[:3]
    assert [t.position for t in study.trials()][2:] == [0, 1, 2]
    assert [a.key for a in again] == ["s-0002", "s-0003", "s-0004"]


def test_a_delivered_batch_stays_running(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    with study.asking(2) as asked:
        assert len(asked) == 2
    assert [t.state.name for t in optuna_trials(study)] == ["RUNNING", "RUNNING"]


# --- the study's identity -------------------------------------------------------------------


def test_a_changed_space_is_refused(tmp_path: Path) -> None:
    make_study(tmp_path, sweep_text()).ask(1)
    changed = make_study(tmp_path, sweep_text(space="  n_epochs: [1, 2, 4]\n"))
    location = changed.location.url
    with pytest.raises(StudyError) as caught:
        changed.ask(1)
    assert str(caught.value) == (
        f"the space of sweep 's' changed since its study was created in {location}; a study "
        "keeps its distributions and objectives for life: restore them, or give the sweep a "
        "new name to start a new study"
    )


def test_changed_objectives_are_refused(tmp_path: Path) -> None:
    make_study(tmp_path, sweep_text()).ask(1)
    changed = make_study(tmp_path, sweep_text(extra="objective: {metric: valid_loss}\n"))
    with pytest.raises(StudyError, match="the objectives of sweep 's' changed since"):
        changed.ask(1)


def test_a_new_name_starts_a_new_study_in_the_same_storage(tmp_path: Path) -> None:
    make_study(tmp_path, sweep_text()).ask(2)
    other = make_study(tmp_path, sweep_text(name="t", space="  n_epochs: [1, 2, 4]\n"))
    assert [a.key for a in other.ask(1)] == ["t-0000"]


def test_default_storage_is_beside_the_sweep_file(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text())
    study.ask(1)
    assert study.location.path == tmp_path / ".ftsweep" / "journal.log"
    assert study.location.path.stat().st_size > 0


def test_key_and_number_of(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(name="my-sweep"))
    assert study.key(12) == "my-sweep-0012"
    assert study.number_of("my-sweep-0012") == 12
    assert study.number_of("other-0012") is None
    assert study.number_of("my-sweep-x") is None
    assert study.number_of("my-sweep-\u00b2") is None  # a superscript two is a digit to isdigit


def test_an_exhausted_adaptive_sweep_proposes_nothing_and_leaves_no_trial(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(strategy="tpe"))
    assert len(study.ask(6)) == 6  # the whole 6-point space
    before = len(optuna_trials(study))
    assert study.ask(3) == []
    assert len(optuna_trials(study)) == before


def test_an_in_memory_sqlite_study_needs_no_lock_file(tmp_path: Path) -> None:
    with make_study(tmp_path, sweep_text(), storage="sqlite://") as study:
        assert [a.key for a in study.ask(2)] == ["s-0000", "s-0001"]
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.yaml"]


def test_close_releases_a_database_study_and_is_idempotent(tmp_path: Path) -> None:
    study = make_study(tmp_path, sweep_text(), storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    study.ask(1)
    study.close()
    study.close()
    assert "storage" not in study.__dict__
    assert len(study.ask(1)) == 1  # reopens on use
    study.close()


DISCRETE_TPE = (
    "  beta: {low: 0.02, high: 2.0, log: true, auto: true}\n"
    "  learning_rate_multiplier: {low: 0.1, high: 4.0, log: true, auto: true}\n"
    "  n_epochs: [1, 2]\n"
    "  batch_size: [auto, 8]\n"
)


def test_duplicate_proposals_burn_no_trial_numbers_and_do_not_count(tmp_path: Path) -> None:
    """TPE proposes repeats often when "auto" makes a space nearly discrete; each repeat used to
    become a discarded trial that took a number, so keys had gaps and `tell` of a gap failed."""
    study = make_study(
        tmp_path,
        sweep_text(strategy="tpe", space=DISCRETE_TPE, method="dpo", extra="max_trials: 24\n"),
    )
    numbers = [a.number for _ in range(6) for a in study.ask(4)]
    assert numbers == list(range(24))
    batch = study.ask(4)
    assert (batch, batch.shortfall and batch.shortfall.kind) == ([], "max_trials")
    stored = study.trials()
    assert [t.number for t in stored] == list(range(24))
    assert not any(t.discarded is not None for t in stored)
    assert len({json.dumps(t.params, sort_keys=True) for t in stored}) == 24


@pytest.mark.parametrize("strategy", ["tpe", "nsga2", "cmaes"])
def test_an_adaptive_sweep_hands_out_every_configuration_once_then_says_so(
    tmp_path: Path, strategy: str
) -> None:
    study = make_study(
        tmp_path, sweep_text(strategy=strategy, space="  n_epochs: [1, 2]\n  batch_size: [4, 8]\n")
    )
    keys = [a.key for _ in range(4) for a in study.ask(1)]
    assert keys == ["s-0000", "s-0001", "s-0002", "s-0003"]
    batch = study.ask(1)
    assert batch == [] and batch.shortfall is not None
    assert batch.shortfall.reason == "every one of the space's 4 configurations was tried"
    assert len(study.trials()) == 4


@pytest.mark.parametrize("strategy", ["tpe", "cmaes", "nsga2"])
def test_adaptive_floats_are_short_and_the_study_holds_what_the_body_says(
    tmp_path: Path, strategy: str
) -> None:
    """A body read `1.4422303034972062`; it reads `1.44`, and the study holds that same value."""
    study = make_study(tmp_path, sweep_text(strategy=strategy, space=CONTINUOUS_SPACE))
    batch = study.ask(8)
    stored = {t.number: t.params for t in study.trials()}
    for asked in batch:
        lr = asked.body["method"]["supervised"]["hyperparameters"]["learning_rate_multiplier"]
        assert (
            lr
            == stored[asked.number]["learning_rate_multiplier"]
            == asked.params["learning_rate_multiplier"]
        )
        if lr != "auto":
            assert float(f"{lr:.3g}") == lr and 0.1 <= lr <= 4


def test_the_objectives_are_named_in_the_study(tmp_path: Path) -> None:
    """Optuna's tools showed "Objective 0"; they show the sweep's metric names."""
    import optuna

    extra = "objective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens}\n"
    study = make_study(tmp_path, sweep_text(extra=extra))
    study.ask(1)
    loaded = optuna.load_study(study_name="s", storage=study.location.open(read_only=True))
    assert loaded.metric_names == ["full_valid_loss", "trained_tokens"]
