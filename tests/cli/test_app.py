"""The sweep-file commands, through typer's CliRunner: exact output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

SWEEP = """\
name: cli-test
method: supervised
model: gpt-4.1-mini-2025-04-14
training_file: file-abc
space:
  n_epochs: [1, 2, 3]
  batch_size: [auto, 8]
job:
  suffix: "t-{trial}"
"""

CONTINUOUS = SWEEP.replace("n_epochs: [1, 2, 3]", "learning_rate_multiplier: {low: 0.1, high: 2}")


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli-test.yaml"
    path.write_text(SWEEP)
    return path


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert info.callback is not None and info.callback.__doc__, f"{name} has no help text"
        assert f"ftsweep {name}" in readme, f"`ftsweep {name}` is not in the README"


@pytest.mark.parametrize("method", ["supervised", "dpo", "reinforcement"])
def test_init_writes_a_starter_that_validates_once_its_placeholders_are_replaced(
    tmp_path: Path, method: str
) -> None:
    path = tmp_path / f"{method}-sweep.yaml"
    result = runner.invoke(app, ["init", "--method", method, str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"wrote {path}: replace its REPLACE-ME placeholders, then run `ftsweep validate {path}`\n"
    )
    text = path.read_text()
    assert f"method: {method}" in text
    refused = runner.invoke(app, ["validate", str(path)])
    assert refused.exit_code == 2
    problems = refused.output.strip().splitlines()[1:]
    assert problems and all("is a placeholder: put the real" in line for line in problems)
    text = text.replace("training_file: file-REPLACE-ME", "training_file: file-train")
    text = text.replace("validation_file: file-REPLACE-ME", "validation_file: file-valid")
    path.write_text(text.replace("REPLACE-ME-reasoning-model", "o3-mini-2025-01-31"))
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_init_refuses_to_overwrite_without_force(sweep_file: Path) -> None:
    result = runner.invoke(app, ["init", str(sweep_file)])
    assert result.exit_code == 1
    assert "already exists (use --force to overwrite it)" in result.output
    assert sweep_file.read_text() == SWEEP
    assert runner.invoke(app, ["init", "--force", str(sweep_file)]).exit_code == 0
    assert "method: supervised" in sweep_file.read_text()


def test_validate_prints_nothing_for_a_valid_file(sweep_file: Path) -> None:
    result = runner.invoke(app, ["validate", str(sweep_file)])
    assert (result.exit_code, result.output) == (0, "")


def test_validate_verbose_summarises(sweep_file: Path) -> None:
    result = runner.invoke(app, ["validate", "-v", str(sweep_file)])
    assert result.output == f"{sweep_file}: ok (supervised, grid over 6 configurations)\n"


def test_validate_reports_every_problem_with_exit_2(tmp_path: Path, sweep_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SWEEP.replace("[1, 2, 3]", "[0, 2, 3]").replace("file-abc", "file-abc\nbeta: 1"))
    result = runner.invoke(app, ["validate", str(sweep_file), str(bad)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"{bad}: 2 problems"
    assert lines[1] == (
        f"{bad}:5:1: beta: unknown key (hyperparameters are dimensions: put them under `space`)"
    )
    assert lines[2] == (
        f"{bad}:7:14: space.n_epochs[0]: must be an integer from 1 to 50, or 'auto' (got 0)"
    )


def test_validate_names_a_yaml_syntax_error_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nspace: {n_epochs: [1, 2}\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output and "YAML syntax" in result.output


def test_plan_table_lists_trials(sweep_file: Path) -> None:
    result = runner.invoke(app, ["plan", str(sweep_file)])
    assert result.exit_code == 0
    assert "n_epochs" in result.output and "batch_size" in result.output
    assert "6 of 6 trials · grid, seed 0" in result.output


def test_plan_jsonl_to_stdout_is_one_body_per_line(sweep_file: Path) -> None:
    result = runner.invoke(app, ["plan", str(sweep_file), "-f", "jsonl", "--limit", "4"])
    assert result.exit_code == 0
    bodies = [json.loads(line) for line in result.output.splitlines()]
    assert len(bodies) == 4
    assert bodies[1]["metadata"] == {"ftsweep_sweep": "cli-test", "ftsweep_trial": "cli-test-0001"}
    assert bodies[1]["suffix"] == "t-0001"
    assert bodies[1]["method"] == {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 8}},
    }


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_plan_writes_files(sweep_file: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"plan.{fmt}"
    result = runner.invoke(app, ["plan", str(sweep_file), "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    if fmt == "jsonl":
        assert len(text.splitlines()) == 6
    elif fmt == "json":
        assert len(json.loads(text)) == 6
    elif fmt == "csv":
        assert text.splitlines()[:2] == ["trial,key,n_epochs,batch_size", "0,cli-test-0000,1,auto"]
    else:
        assert "cli-test (supervised)" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_plan_csv_to_stdout_is_lf_terminated(sweep_file: Path) -> None:
    result = runner.invoke(app, ["plan", str(sweep_file), "-f", "csv", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == (
        b"trial,key,n_epochs,batch_size\n0,cli-test-0000,1,auto\n1,cli-test-0001,1,8\n"
    )


def test_plan_of_an_endless_sweep_asks_for_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "endless.yaml"
    path.write_text(CONTINUOUS.replace("name: cli-test", "name: endless\nstrategy: random"))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["plan", str(path), "-f", "jsonl", "-o", str(out)])
    assert result.exit_code == 2
    assert (
        "plan never ends: give a limit (ftsweep plan --limit N) or set max_trials" in result.output
    )
    assert not out.exists()
    limited = runner.invoke(app, ["plan", str(path), "-f", "jsonl", "--limit", "3"])
    assert limited.exit_code == 0 and len(limited.output.splitlines()) == 3


def test_plan_of_an_invalid_file_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SWEEP.replace("[1, 2, 3]", "[]"))
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    result = runner.invoke(app, ["plan", str(bad), "-f", "jsonl", "-o", str(out)])
    assert result.exit_code == 2
    assert "space.n_epochs: a list of choices must not be empty" in result.output
    assert out.read_text() == "previous\n"


def sweep_files(folder: Path) -> list[Path]:
    """The sweep files in a folder, not what running them leaves there (`.ftsweep/` studies)."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".toml", ".json"))


def test_every_sweep_in_the_repository_validates() -> None:
    files = sweep_files(ROOT / "sweeps")
    assert len(files) >= 4
    result = runner.invoke(app, ["validate", *map(str, files)])
    assert (result.exit_code, result.output) == (0, "")


def test_plan_of_an_adaptive_sweep_says_its_values_are_examples(tmp_path: Path) -> None:
    """tpe chooses values at ask time after its start: a plan that looked like a preview of
    them misled, so the caption says which trials are the start and which are examples."""
    path = tmp_path / "c.yaml"
    path.write_text(CONTINUOUS.replace("name: cli-test", "name: c") + "strategy: tpe\n")
    result = runner.invoke(app, ["plan", str(path), "--limit", "9", "--wide"])
    assert result.exit_code == 0, result.output
    caption = " ".join(result.stdout.split())  # the caption wraps to the table's width
    assert "are its start on a new study; tpe chooses the others at ask time" in caption
    assert "these are random examples" in caption
    short = runner.invoke(app, ["plan", str(path), "--limit", "1", "--wide"])
    assert "its start: what ask hands out first" in " ".join(short.stdout.split())


PRUNE_PROBLEMS = [
    (
        "prune:\n  rule: quartile\n  percentile: 150\n  warmup: 3\n",
        [
            ":9:3: prune.rule: Input should be 'median', 'percentile' or 'halving' (got"
            " 'quartile')",
            ":10:3: prune.percentile: Input should be less than 100 (got 150)",
            ":11:3: prune.warmup: unknown key",
        ],
    ),
    (
        "prune: {reduction_factor: 1, min_examples: 0, startup_trials: -1}\n",
        [
            ":8:9: prune.reduction_factor: Input should be greater than or equal to 2 (got 1)",
            ":8:30: prune.min_examples: must be auto or an integer from 1 to 1,000,000 (got 0)",
            ":8:47: prune.startup_trials: must be an integer from 0 to 1000000 (got -1)",
        ],
    ),
    (
        "prune:\n  metric: my_metric\n",
        [
            ":9:3: prune.metric: must be the objective's metric or one whose direction is known:"
            " train_loss, valid_loss, full_valid_loss, train_accuracy, train_mean_token_accuracy,"
            " valid_mean_token_accuracy, full_valid_mean_token_accuracy, train_mean_reward,"
            " full_valid_mean_reward, full_valid_mean_parse_error, valid_reward_mean"
            " (got 'my_metric')"
        ],
    ),
    (
        "prune: {metric: trained_tokens}\n",
        [":8:9: prune.metric: is no per-step metric (got 'trained_tokens')"],
    ),
    (
        "objective: [{metric: full_valid_loss}, {metric: trained_tokens}]\nprune: {}\n",
        [
            ":9:1: prune: pruning needs a single objective (Optuna's pruners judge one value per"
            " step)"
        ],
    ),
]


@pytest.mark.parametrize(("section", "problems"), PRUNE_PROBLEMS)
def test_validate_names_each_problem_of_a_prune_section(
    tmp_path: Path, section: str, problems: list[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SWEEP.replace('job:\n  suffix: "t-{trial}"\n', section))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    assert result.output.splitlines() == [f"{bad}: {count}", *(f"{bad}{p}" for p in problems)]


def test_a_prune_section_with_its_defaults_validates(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SWEEP + "prune: {}\n")
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
