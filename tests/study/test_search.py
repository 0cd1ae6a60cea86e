"""ftsweep's own search: the start sized to the budget, the baseline, batches that spread,
the `bayes` model learning from told results and failures, and warm starts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ftsweep.api.hyperparameters import AUTO
from ftsweep.errors import PlanError
from ftsweep.study import SweepStudy, tell
from ftsweep.study.rows import Result
from ftsweep.sweep import load_sweep, loads_sweep
from ftsweep.sweep.space import Params, configuration_key
from ftsweep.sweep.start import baseline, opening, startup_trials

SFT = """name: {name}
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-train
strategy: {strategy}
seed: {seed}
{extra}space:
  learning_rate_multiplier: {{low: 0.05, high: 10.0, log: true, auto: true}}
  batch_size: {{low: 1, high: 64, log: true, auto: true}}
  n_epochs: {{low: 1, high: 10, auto: true}}
"""

Surface = Callable[[Params], float | None]


def sft(
    tmp_path: Path,
    *,
    name: str = "sft",
    strategy: str = "bayes",
    seed: int = 0,
    extra: str = "max_trials: 24\n",
) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(SFT.format(name=name, strategy=strategy, seed=seed, extra=extra))
    return path


@pytest.fixture
def studies() -> Iterator[Callable[[Path], SweepStudy]]:
    opened: list[SweepStudy] = []

    def open_(path: Path) -> SweepStudy:
        study = SweepStudy(load_sweep(path))
        opened.append(study)
        return study

    yield open_
    for study in opened:
        study.close()


def number(params: Params, name: str, auto: float) -> float:
    value = params[name]
    return auto if value == AUTO else float(value)


def bowl(params: Params) -> float:
    """A smooth loss: best at lr 0.6 x sqrt(batch / 4), 4 epochs."""
    lr = number(params, "learning_rate_multiplier", 1.8)
    batch = number(params, "batch_size", 8)
    epochs = number(params, "n_epochs", 3)
    return 0.45 + 0.12 * math.log(lr / (0.6 * math.sqrt(batch / 4))) ** 2 + 0.01 * (epochs - 4) ** 2


def loop(
    study: SweepStudy,
    surface: Surface,
    trials: int,
    batch: int = 4,
    resolve: Callable[[Params], dict[str, int | float]] | None = None,
) -> list[float | None]:
    """Ask and tell until `trials` are told; a None outcome is a failed job. `resolve` gives
    the hyperparameters a job reports it trained with, "auto" resolved (none by default)."""
    outcomes: list[float | None] = []
    while len(outcomes) < trials:
        asked = study.ask(min(batch, trials - len(outcomes)))
        assert asked, "the study stopped handing out trials"
        results = []
        for item in asked:
            value = surface(item.params)
            outcomes.append(value)
            status = "failed" if value is None else "succeeded"
            values = {} if value is None else {"full_valid_loss": value}
            results.append(
                Result(
                    "test",
                    item.number,
                    item.number,
                    None,
                    None,
                    status,
                    values,
                    None,
                    None if value is not None else "diverged",
                    {} if resolve is None else resolve(item.params),
                    None,
                )
            )
        tell(study, results)
    return outcomes


# --- the start ------------------------------------------------------------------------------


def test_startup_is_sized_to_the_budget_and_the_dimensions(tmp_path: Path) -> None:
    """One per varying dimension plus one, at most a quarter of max_trials (at least 2)."""
    assert startup_trials(load_sweep(sft(tmp_path, extra="max_trials: 24\n"))) == 4
    assert startup_trials(load_sweep(sft(tmp_path, extra="max_trials: 12\n"))) == 3
    assert startup_trials(load_sweep(sft(tmp_path, extra="max_trials: 4\n"))) == 2
    assert startup_trials(load_sweep(sft(tmp_path, extra=""))) == 4
    chosen = "max_trials: 24\nsearch: {startup_trials: 9}\n"
    assert startup_trials(load_sweep(sft(tmp_path, extra=chosen))) == 9


def test_the_first_trial_is_the_all_auto_baseline(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    first = studies(sft(tmp_path)).ask(4)
    assert first[0].params == dict.fromkeys(
        ("learning_rate_multiplier", "batch_size", "n_epochs"), AUTO
    )
    assert all(set(item.params.values()) != {AUTO} for item in first[1:])
    off = studies(sft(tmp_path, name="nobase", extra="max_trials: 24\nsearch: {baseline: false}\n"))
    assert set(off.ask(4)[0].params.values()) != {AUTO}


def test_no_baseline_where_a_dimension_has_no_auto() -> None:
    text = SFT.format(name="x", strategy="bayes", seed=0, extra="").replace(
        "n_epochs: {low: 1, high: 10, auto: true}", "n_epochs: {low: 1, high: 10}"
    )
    assert baseline(loads_sweep(text).space) is None
    fixed = text.replace("n_epochs: {low: 1, high: 10}", "n_epochs: 3")
    assert baseline(loads_sweep(fixed).space) == {
        "learning_rate_multiplier": AUTO,
        "batch_size": AUTO,
        "n_epochs": 3,
    }


def test_a_latin_start_covers_each_dimension_evenly(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """Eight exploring trials of a Latin hypercube: one in each eighth of a log range."""
    text = SFT.format(name="lhs", strategy="bayes", seed=3, extra="").replace(
        "log: true, auto: true}\n  batch", "log: true}\n  batch"
    )
    path = tmp_path / "lhs.yaml"
    path.write_text(text + "search: {startup_trials: 8, design: latin, baseline: false}\n")
    asked = studies(path).ask(8)
    units = [
        math.log(item.params["learning_rate_multiplier"] / 0.05) / math.log(10.0 / 0.05)
        for item in asked
    ]
    assert sorted(min(int(u * 8), 7) for u in units) == list(range(8))


def test_tpe_no_longer_starts_with_ten_random_trials(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """The issue's complaint: a second batch after 4 told results was the same as one asked
    without them. Now the model chooses from the fifth trial on, so the results count."""
    batches = []
    for name, told in (("told", True), ("untold", False)):
        study = studies(sft(tmp_path, name=name, strategy="tpe"))
        first = study.ask(4)
        if told:
            results = [
                Result(
                    "t",
                    i.number,
                    i.number,
                    None,
                    None,
                    "succeeded",
                    {"full_valid_loss": bowl(i.params)},
                    None,
                    None,
                    {},
                    None,
                )
                for i in first
            ]
            tell(study, results)
        batches.append([configuration_key(i.params) for i in study.ask(4)])
    assert batches[0] != batches[1]


# --- bayes --------------------------------------------------------------------------------------


def test_a_batch_is_distinct_and_spread(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    study = studies(sft(tmp_path, extra="max_trials: 40\n"))
    loop(study, bowl, 8)
    batch = study.ask(8)
    assert len({configuration_key(i.params) for i in batch}) == 8
    rates = [i.params["learning_rate_multiplier"] for i in batch]
    numbers = sorted(float(r) for r in rates if r != AUTO)
    assert numbers and numbers[-1] / numbers[0] > 1.5  # the liar keeps them apart


def test_bayes_learns_where_random_search_guesses(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """On a smooth bowl, 20 trials of bayes end nearer the optimum (0.45) than random search:
    the median over five seeds is at most two thirds of random's."""
    regrets: dict[str, list[float]] = {"bayes": [], "random": []}
    for strategy in regrets:
        for seed in range(5):
            path = sft(
                tmp_path,
                name=f"{strategy}{seed}",
                strategy=strategy,
                seed=seed,
                extra="max_trials: 20\n",
            )
            outcomes = loop(studies(path), bowl, 20)
            regrets[strategy].append(min(v for v in outcomes if v is not None) - 0.45)
    assert statistics.median(regrets["bayes"]) < 2 / 3 * statistics.median(regrets["random"])


def test_failed_jobs_keep_the_model_away_from_their_region(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """Jobs above a learning rate of 3 diverge: after the start, few proposals go there."""

    def diverging(params: Params) -> float | None:
        lr = number(params, "learning_rate_multiplier", 1.8)
        return None if lr > 3.0 else bowl(params)

    study = studies(sft(tmp_path, extra="max_trials: 32\n"))
    outcomes = loop(study, diverging, 32)
    later = outcomes[8:]
    assert sum(v is None for v in later) <= len(later) // 4
    assert min(v for v in outcomes if v is not None) < 0.5


def test_a_finite_space_is_used_up_without_burning_numbers(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(
        "name: small\nmethod: supervised\nmodel: m\ntraining_file: file-t\nstrategy: bayes\n"
        "space:\n  n_epochs: [1, 2, 3]\n  batch_size: [auto, 8]\n"
    )
    study = studies(path)
    outcomes = loop(study, lambda p: 1.0 + float(p["n_epochs"]) / 10, 6, batch=2)
    assert len(outcomes) == 6
    trials = study.trials()
    assert [t.number for t in trials] == list(range(6))
    assert len({configuration_key(t.params) for t in trials if t.params}) == 6
    assert study.ask(1) == []


def test_multi_objective_bayes_falls_back_to_tpe(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    extra = (
        "max_trials: 12\nobjective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens}\n"
    )
    study = studies(sft(tmp_path, extra=extra))
    assert len({configuration_key(i.params) for i in study.ask(6)}) == 6


# --- warm start --------------------------------------------------------------------------------


def test_a_warm_start_learns_from_another_sweep(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """B names A: A's 12 told trials are B's start, so B's first batch is already the model's
    (but for the one design point in four) and does better on the whole than the first batch of
    C, the same sweep started cold; A's trials are not B's."""
    loop(studies(sft(tmp_path, name="a", extra="max_trials: 12\n")), bowl, 12)
    warm = "max_trials: 12\nsearch: {warm_start: [a.yaml], baseline: false}\n"
    second = studies(sft(tmp_path, name="b", seed=5, extra=warm))
    first_batch = loop(second, bowl, 4)
    assert [t.number for t in second.trials()] == [0, 1, 2, 3]
    cold = "max_trials: 12\nsearch: {baseline: false}\n"
    cold_batch = loop(studies(sft(tmp_path, name="c", seed=5, extra=cold)), bowl, 4)
    assert None not in first_batch and None not in cold_batch
    assert sum(first_batch) < sum(cold_batch)  # type: ignore[arg-type]


def test_a_warm_start_by_study_name_in_the_same_storage(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    loop(studies(sft(tmp_path, name="a", extra="max_trials: 12\n")), bowl, 12)
    extra = "max_trials: 12\nsearch: {warm_start: [a]}\n"
    asked = studies(sft(tmp_path, name="b", extra=extra)).ask(2)
    assert len(asked) == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("missing.yaml", "no such sweep file"),
        ("nobody", "no sweep file and no study of that name"),
        ("b", "is this sweep itself"),
    ],
)
def test_a_warm_start_that_names_nothing_is_an_error(
    tmp_path: Path, studies: Callable[[Path], SweepStudy], entry: str, message: str
) -> None:
    extra = f"max_trials: 12\nsearch: {{warm_start: [{entry}]}}\n"
    study = studies(sft(tmp_path, name="b", extra=extra))
    with pytest.raises(PlanError, match=message):
        study.ask(1)
    assert study.trials() == []  # nothing was handed out


def test_a_warm_start_from_another_objective_is_an_error(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    other = sft(tmp_path, name="a", extra="max_trials: 12\nobjective: {metric: valid_loss}\n")
    loop_study = studies(other)
    loop_study.ask(1)
    extra = "max_trials: 12\nsearch: {warm_start: [a.yaml]}\n"
    with pytest.raises(PlanError, match="optimises valid_loss"):
        studies(sft(tmp_path, name="b", extra=extra)).ask(1)


@pytest.mark.parametrize("kind", ["sobol", "latin"])
def test_the_start_is_one_design_however_it_is_asked(
    tmp_path: Path, studies: Callable[[Path], SweepStudy], kind: str
) -> None:
    """Asked one trial at a time or all at once, the start is the same points, the ones `plan`
    shows: a Latin hypercube split across asks would lose its stratification."""
    extra = f"max_trials: 24\nsearch: {{design: {kind}, startup_trials: 6}}\n"
    path = sft(tmp_path, name=f"one-{kind}", extra=extra)
    expected = list(opening(load_sweep(path)))
    one_by_one = studies(path)
    assert [one_by_one.ask(1)[0].params for _ in range(6)] == expected
    at_once = studies(sft(tmp_path, name=f"all-{kind}", extra=extra))
    assert [a.params for a in at_once.ask(6)] == expected


def test_a_pruned_trial_teaches_bayes_the_value_it_was_stopped_at(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """Where pruning judged the objective's metric, a pruned trial counts at the last value of
    its curve (as Optuna's samplers see it); otherwise as the worst value told."""
    from ftsweep.study.bayes import Bayes
    from ftsweep.study.records import Finish, MarkPruned, Pruned, Report, State

    for prune, expected in (("prune: {rule: median}\n", 0.7), ("", None)):
        study = studies(sft(tmp_path, name=f"p{bool(prune)}", extra="max_trials: 24\n" + prune))
        loop(study, bowl, 4)
        (asked,) = study.ask(1)
        with study.store.lock():
            study.store.load(write=True)
            where = Pruned(step=10, progress=100, value=0.7)
            study.store.apply(
                [
                    Report(asked.number, {50: 0.9, 100: 0.7}),
                    MarkPruned(asked.number, where),
                    Finish(asked.number, State.PRUNED),
                ]
            )
        live = [t for t in study.trials() if t.live]
        bayes = Bayes(study.sweep, study.store.encoding, live, [], 0)
        assert bayes.model is not None
        values = sorted(float(v) for v in bayes.model.y)
        if expected is None:
            assert len(values) == 5 and values[-1] == values[-2]  # the worst told, twice
        else:
            assert len(values) == 5 and expected in values


def test_ask_with_a_warm_start_that_names_nothing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Through the CLI: an error line naming the file, the field and the entry; no batch file,
    nothing handed out."""
    from typer.testing import CliRunner

    from ftsweep.cli import app

    extra = "max_trials: 12\nsearch: {warm_start: [ghost.yaml]}\n"
    path = sft(tmp_path, name="cli", extra=extra)
    out = tmp_path / "batch.jsonl"
    result = CliRunner().invoke(app, ["ask", str(path), "-n", "2", "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "search.warm_start: ghost.yaml: no such sweep file" in lines[0]
    assert "Traceback" not in result.output and not out.exists()
    with SweepStudy(load_sweep(path)) as study:
        assert study.trials() == []


# --- "auto" where the service put it ------------------------------------------------------------

AUTO_NUMBERS = {"learning_rate_multiplier": 1.8, "batch_size": 8, "n_epochs": 3}  # bowl's


def resolved(params: Params) -> dict[str, int | float]:
    """What a job object reports: every hyperparameter as a number, "auto" resolved."""
    return {n: AUTO_NUMBERS[n] if v == AUTO else float(v) for n, v in params.items()}


def test_a_trial_that_asked_auto_teaches_the_model_at_the_number_it_trained_with(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """The baseline's row is the resolved numbers with the "auto" flags off; an "auto"
    candidate is predicted there too; without resolved numbers "auto" stays a flag."""
    from ftsweep.study.bayes import Bayes

    for resolve in (resolved, None):
        study = studies(sft(tmp_path, name=f"r{resolve is None}"))
        loop(study, bowl, 6, resolve=resolve)
        live = [t for t in study.trials() if t.live]
        assert live[0].params == dict.fromkeys(AUTO_NUMBERS, AUTO)
        bayes = Bayes(study.sweep, study.store.encoding, live, [], 0)
        assert bayes.model is not None
        spans = bayes._spans
        row = bayes._rows([study.store.encoding.encode(live[0].params)])[0]
        numeric = bayes._rows([study.store.encoding.encode(resolved(live[0].params))])[0]
        told = bayes.model.x[0]
        for name in AUTO_NUMBERS:
            flag, column = spans[f"{name}.auto"][0], spans[name][0]
            if resolve is None:
                assert told[flag] == 1.0 and row[flag] == 1.0 and told[column] == 0.5
            else:
                assert told[flag] == 0.0 and told[column] == pytest.approx(numeric[column])
                assert row[flag] == 0.0 and row[column] == pytest.approx(numeric[column])


def test_the_number_auto_became_is_not_asked_for_again(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """n_epochs "auto" trained 3 epochs: asking for 3 would pay for the same job twice, so the
    space is used up after auto, 1 and 2; a number outside the range leaves nothing out."""
    for resolves_to, expected in ((3, {AUTO, 1, 2}), (7, {AUTO, 1, 2, 3})):
        path = tmp_path / f"epochs{resolves_to}.yaml"
        path.write_text(
            f"name: epochs{resolves_to}\nmethod: supervised\nmodel: m\ntraining_file: file-t\n"
            "strategy: bayes\nmax_trials: 10\n"
            "space:\n  n_epochs: {low: 1, high: 3, auto: true}\n"
        )
        study = studies(path)

        def resolve(params: Params, to: int = resolves_to) -> dict[str, int | float]:
            return {"n_epochs": to if params["n_epochs"] == AUTO else int(params["n_epochs"])}

        outcomes = loop(study, lambda p: 1.0, len(expected), batch=1, resolve=resolve)
        assert len(outcomes) == len(expected)
        assert {t.params["n_epochs"] for t in study.trials() if t.params} == expected
        assert study.ask(1) == []


def test_knowing_where_auto_sits_finds_a_better_learning_rate(
    tmp_path: Path, studies: Callable[[Path], SweepStudy]
) -> None:
    """A flat surface whose best learning rate is twice what "auto" resolves to: told the
    resolved numbers, 12 trials in batches of 4 end nearer the optimum (over ten seeds) than
    the same trials told without them, which mostly settle on "auto"."""

    def flat(params: Params) -> float:
        lr = number(params, "learning_rate_multiplier", 1.0)
        epochs = number(params, "n_epochs", 1)
        return 0.85 + 0.006 * math.log(lr / 2) ** 2 + 0.01 * math.log(epochs / 3) ** 2

    def resolve(params: Params) -> dict[str, int | float]:
        autos = {"learning_rate_multiplier": 1.0, "batch_size": 40, "n_epochs": 1}
        return {n: autos[n] if v == AUTO else float(v) for n, v in params.items()}

    regrets: dict[bool, list[float]] = {True: [], False: []}
    for told in regrets:
        for seed in range(10):
            path = sft(tmp_path, name=f"f{told}{seed}", seed=seed, extra="max_trials: 12\n")
            outcomes = loop(studies(path), flat, 12, resolve=resolve if told else None)
            regrets[told].append(min(v for v in outcomes if v is not None) - 0.85)
    assert statistics.median(regrets[True]) < 0.6 * statistics.median(regrets[False])
