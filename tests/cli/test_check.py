"""`ftsweep check`: every problem of a sweep's data files, as file:line: field: rule (got value),
exit 2 on any error, a summary when clean, and never a traceback on hostile input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftsweep.cli import app
from tests.terminal import on_terminal

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
runner = CliRunner()


def chat(question: str, answer: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def supervised_sweep(tmp_path: Path, train: str = "train.jsonl", extra: str = "") -> Path:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "name: checked\nmethod: supervised\nmodel: gpt-4.1-mini-2025-04-14\n"
        f"training_file: {train}\nspace:\n  n_epochs: [1, 2]\n{extra}"
    )
    return sweep


def test_clean_data_prints_a_summary_and_exits_0(tmp_path: Path) -> None:
    rows = [chat(f"What is {i} + {i}?", f"It is {2 * i}.") for i in range(12)]
    write_rows(tmp_path / "train.jsonl", rows)
    result = runner.invoke(app, ["check", str(supervised_sweep(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"training {tmp_path / 'train.jsonl'}: 12 rows; tokens per example ")
    assert lines[1:] == [
        "n_epochs auto resolves to 8 for this training file",
        "ok: no problems found",
    ]


def test_the_bundled_bad_file_shows_every_problem_at_its_line() -> None:
    bad = DATA / "bad-supervised.jsonl"
    result = runner.invoke(app, ["check", "--data", str(bad), "--method", "supervised"])
    assert result.exit_code == 2
    out = result.stdout.splitlines()
    assert (
        f"{bad}:3: messages[1].role: must be one of system, developer, user, assistant, "
        "tool, function (got 'customer')" in out
    )
    assert f"{bad}:5: messages[2].weight: must be 0 or 1, only on assistant messages (got 2)" in out
    assert f"{bad}:6: messages[2].content: must not be empty or whitespace only (got '   ')" in out
    assert f"warning: {bad}:9: (top level): is the same example as line 1" in out
    assert out[-1] == "11 errors, 1 warning"


def test_grader_fields_the_data_lacks_are_named_with_their_rows() -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(ROOT / "sweeps" / "rft-multi-grader.yaml"),
            "--training",
            str(DATA / "bad-rft.jsonl"),
            "--validation",
            str(DATA / "rft-valid.jsonl"),
        ],
    )
    assert result.exit_code == 2
    bad = DATA / "bad-rft.jsonl"
    assert result.stdout.splitlines()[:2] == [
        f"{bad}: item.vendor: missing in 3 rows (lines 3, 8, 10)",
        f"{bad}: item.total: missing in 3 rows (lines 6, 8, 12)",
    ]


def test_the_bundled_good_files_pass() -> None:
    for sweep, training, validation in [
        ("support-sft.yaml", None, None),
        ("rft-multi-grader.yaml", "rft-train.jsonl", "rft-valid.jsonl"),
        ("dpo-beta.yaml", "dpo-train.jsonl", "dpo-valid.jsonl"),
    ]:
        args = ["check", str(ROOT / "sweeps" / sweep)]
        if training:
            args += [
                "--training",
                str(DATA / training),
                "--validation",
                str(DATA / str(validation)),
            ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (sweep, result.output)
        assert result.stdout.endswith("ok: no problems found\n")


def test_too_few_rows_and_an_example_over_the_context(tmp_path: Path) -> None:
    long = chat("Summarise: " + "lorem ipsum dolor sit amet " * 14_000, "Done.")
    write_rows(tmp_path / "train.jsonl", [chat("Hi", "Hello"), long])
    result = runner.invoke(app, ["check", str(supervised_sweep(tmp_path))])
    assert result.exit_code == 2
    out = result.stdout.splitlines()
    train = tmp_path / "train.jsonl"
    assert any(
        line.startswith(
            f"warning: {train}:2: (top level): has more tokens than the model's context"
        )
        for line in out
    ), out
    assert "training_file: needs at least 10 examples (got 2)" in out
    assert "1 over the context (truncated)" in result.stdout


def test_a_sweep_whose_data_is_on_the_service_says_how_to_check_it() -> None:
    result = runner.invoke(app, ["check", str(ROOT / "sweeps" / "dpo-beta.yaml")])
    assert result.exit_code == 2
    assert "is not a local file: name one with --training FILE to check it" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "content",
    [
        b"",  # empty
        b"\xff\xfe garbage \x00\x01",  # not UTF-8
        b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assist',  # cut off
        b"[]\n42\nnull\n" + b"[" * 5000 + b"\n",  # not objects, and deep nesting
        b'{"messages": {"role": "user"}}\n{"messages": null}\n',
    ],
)
def test_hostile_files_are_reported_never_a_traceback(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "train.jsonl").write_bytes(content)
    result = runner.invoke(app, ["check", str(supervised_sweep(tmp_path))])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_a_missing_file_a_directory_and_a_device_are_clear_errors(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    expected = {
        "missing.jsonl": "missing.jsonl: no such file",
        str(tmp_path): "not a regular file",
        os.devnull: "not a regular file",
        str(fifo): "not a regular file",
    }
    for target, message in expected.items():
        result = runner.invoke(app, ["check", "--data", target, "--method", "supervised"])
        assert result.exit_code == 2, (target, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr


def test_a_sweep_path_that_names_no_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(supervised_sweep(tmp_path, "data/none.jsonl"))])
    assert result.exit_code == 2
    assert f"training_file: no such file: {tmp_path / 'data' / 'none.jsonl'}" in result.stderr


def test_check_keeps_the_training_size_for_plan_and_ask(tmp_path: Path) -> None:
    rows = [chat(f"Question {i}?", f"Answer {i}.") for i in range(10)]
    write_rows(tmp_path / "train.jsonl", rows)
    cache = Path(os.environ["FTSWEEP_CACHE_DIR"])
    before = set(cache.glob("*.json")) if cache.exists() else set()
    assert runner.invoke(app, ["check", str(supervised_sweep(tmp_path))]).exit_code == 0
    (kept,) = set(cache.glob("*.json")) - before
    assert ".supervised.o200k_base." in kept.name
    assert json.loads(kept.read_text())["examples"] == 10


def test_the_bundled_files_are_where_the_readme_says(tmp_path: Path) -> None:
    # the README's check commands run from the repository root on these files
    for name in ["bad-supervised.jsonl", "bad-rft.jsonl", "rft-train.jsonl", "rft-valid.jsonl"]:
        assert (DATA / name).is_file()
    shutil.copy(DATA / "support-train.jsonl", tmp_path / "train.jsonl")
    result = runner.invoke(app, ["check", str(supervised_sweep(tmp_path))])
    assert result.exit_code == 0


def test_on_a_terminal_a_progress_bar_shows_and_piped_output_has_none(tmp_path: Path) -> None:
    import subprocess
    import sys

    rows = [chat(f"Question number {i} " * 20, f"Answer {i} " * 20) for i in range(20_000)]
    write_rows(tmp_path / "train.jsonl", rows)  # ~20 MB: long enough for the bar to draw
    command = [sys.executable, "-m", "ftsweep", "check", "--data", "train.jsonl"]
    command += ["--method", "supervised"]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    code, shown = on_terminal(command, env, cwd=tmp_path)
    assert code == 0
    assert "checking train.jsonl" in shown
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert piped.returncode == 0 and piped.stderr == ""


def test_the_tokenizer_follows_the_model_and_an_unknown_model_needs_the_override() -> None:
    data = ["check", "--data", str(DATA / "support-train.jsonl"), "--method", "supervised"]
    assert runner.invoke(app, [*data, "--model", "gpt-3.5-turbo-0125"]).exit_code == 0
    unknown = runner.invoke(app, [*data, "--model", "llama-3-8b"])
    assert unknown.exit_code == 2
    assert "no offline tokenizer is known for model 'llama-3-8b'" in unknown.stderr
    forced = runner.invoke(app, [*data, "--model", "llama-3-8b", "--tokenizer", "cl100k_base"])
    assert forced.exit_code == 0, forced.output
