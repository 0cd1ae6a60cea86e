"""Suffix and metadata templates, checked at their longest against the API's limits."""

from __future__ import annotations

import pytest

from ftsweep.errors import SweepFileError
from ftsweep.sweep import loads_sweep, plan
from ftsweep.sweep.templates import RESERVED_METADATA, USER_METADATA_PAIRS, placeholders, trial_text

from .conftest import line_of, sweep_yaml


def with_job(job: str, space: str = "  beta: {low: 0.1, high: 2}\n", rest: str = "") -> str:
    return sweep_yaml("dpo", space, rest + "job:\n" + job)


def test_trial_text() -> None:
    assert trial_text(7) == "0007"
    assert trial_text(0) == "0000"
    assert trial_text(123456) == "123456"


def test_placeholders() -> None:
    assert placeholders("{sweep}-{trial}-{beta}") == ["sweep", "trial", "beta"]
    assert placeholders("no braces {{here}}") == []
    for bad in ("{beta:.2f}", "{beta!r}", "{}"):
        with pytest.raises(
            ValueError, match=r"placeholders are plain names in braces, like \{trial\}"
        ):
            placeholders(bad)


def test_constants() -> None:
    assert RESERVED_METADATA == ("ftsweep_sweep", "ftsweep_trial")
    assert USER_METADATA_PAIRS == 14


# --- suffix ----------------------------------------------------------------------------------


def test_suffix_at_the_limit_is_accepted() -> None:
    # no max_trials and an infinite space: {trial} may need 7 digits; 56 + 1 + 7 = 64
    text = with_job(f'  suffix: "{"a" * 56}-{{trial}}"\n')
    sweep = loads_sweep(text)
    body = next(plan(sweep, 1).bodies())
    assert body["suffix"] == "a" * 56 + "-0000"


def test_suffix_over_64_after_templating() -> None:
    suffix = "a" * 57 + "-{trial}"
    text = with_job(f'  suffix: "{suffix}"\n')
    with pytest.raises(
        SweepFileError,
        match=r"job\.suffix: can be 65 characters long once filled in; the API allows at most 64",
    ) as exc:
        loads_sweep(text)
    (problem,) = exc.value.problems
    assert problem.path == "job.suffix" and problem.value == suffix
    assert problem.line == line_of(text, "suffix:")


def test_trial_width_follows_max_trials() -> None:
    suffix = "a" * 59 + "-{trial}"  # 4 digits fit (64), 7 would not
    loads_sweep(with_job(f'  suffix: "{suffix}"\n', rest="max_trials: 10000\n"))
    with pytest.raises(SweepFileError, match="can be 65 characters long"):
        loads_sweep(with_job(f'  suffix: "{suffix}"\n', rest="max_trials: 10001\n"))


def test_the_widest_value_of_a_dimension_counts() -> None:
    space = "  n_epochs: [1, 2]\n  batch_size: [auto, 128]\n"
    suffix = "a" * 58 + "-{batch_size}"  # 'auto' is 4 long: 63 fits; 5 more would not
    loads_sweep(with_job(f'  suffix: "{suffix}"\n', space))
    with pytest.raises(SweepFileError, match="can be 65 characters long"):
        loads_sweep(with_job(f'  suffix: "{"a" * 60}-{{batch_size}}"\n', space))
    # A continuous float renders with up to 12 characters (-1.23457e-05)
    with pytest.raises(SweepFileError, match="can be 65 characters long"):
        loads_sweep(with_job(f'  suffix: "{"a" * 52}-{{beta}}"\n'))


def test_unknown_placeholder() -> None:
    text = with_job('  suffix: "{sweep}-{epochs}"\n')
    with pytest.raises(
        SweepFileError,
        match=r"job\.suffix: unknown placeholder \{epochs\}; templates may use \{sweep\}, "
        r"\{trial\}, \{beta\}",
    ) as exc:
        loads_sweep(text)
    assert exc.value.problems[0].value == "{sweep}-{epochs}"


def test_formatted_placeholder() -> None:
    with pytest.raises(SweepFileError, match=r"job\.suffix: placeholders are plain names") as exc:
        loads_sweep(with_job('  suffix: "{beta:.2f}"\n'))
    assert exc.value.problems[0].value == "{beta:.2f}"


# --- metadata --------------------------------------------------------------------------------


def test_metadata_value_over_512_after_templating() -> None:
    value = "v" * 508 + "{trial}"  # 508 + up to 7 digits
    text = with_job(f'  metadata:\n    note: "{value}"\n')
    with pytest.raises(
        SweepFileError,
        match=r"job\.metadata\.note: can be 515 characters long once filled in; the API allows "
        r"at most 512",
    ) as exc:
        loads_sweep(text)
    (problem,) = exc.value.problems
    assert problem.path == "job.metadata.note" and problem.value == value
    assert problem.line == line_of(text, "note:")
    loads_sweep(with_job(f'  metadata:\n    note: "{"v" * 505}{{trial}}"\n'))


def test_at_most_14_user_pairs() -> None:
    pairs = "".join(f"    k{i}: v\n" for i in range(15))
    text = with_job("  metadata:\n" + pairs)
    with pytest.raises(
        SweepFileError,
        match=r"job\.metadata: at most 14 pairs: the API allows 16 and ftsweep adds "
        r"ftsweep_sweep and ftsweep_trial \(got 15\)",
    ) as exc:
        loads_sweep(text)
    (problem,) = exc.value.problems
    assert problem.path == "job.metadata" and problem.value == 15
    assert problem.line == line_of(text, "metadata:")
    fourteen = "".join(f"    k{i}: v\n" for i in range(14))
    assert len(loads_sweep(with_job("  metadata:\n" + fourteen)).spec.job.metadata) == 14


@pytest.mark.parametrize("key", ["ftsweep_sweep", "ftsweep_trial", "ftsweep_mine"])
def test_reserved_metadata_keys(key: str) -> None:
    text = with_job(f"  metadata:\n    {key}: x\n")
    with pytest.raises(
        SweepFileError,
        match=f"job\\.metadata\\.{key}: keys starting with ftsweep_ are ftsweep's own",
    ) as exc:
        loads_sweep(text)
    (problem,) = exc.value.problems
    assert problem.path == f"job.metadata.{key}" and problem.value == key
    assert problem.line == line_of(text, f"{key}:")


def test_metadata_key_over_64() -> None:
    key = "k" * 65
    with pytest.raises(SweepFileError, match="a metadata key has at most 64 characters") as exc:
        loads_sweep(with_job(f"  metadata:\n    {key}: x\n"))
    assert exc.value.problems[0].value == key


def test_unknown_placeholder_in_metadata() -> None:
    text = with_job('  metadata:\n    lr: "{lr}"\n')
    with pytest.raises(
        SweepFileError, match=r"job\.metadata\.lr: unknown placeholder \{lr\}"
    ) as exc:
        loads_sweep(text)
    assert exc.value.problems[0].value == "{lr}"


def test_placeholders_of_a_union_include_every_subspace() -> None:
    space = "  - n_epochs: [1, 2]\n  - batch_size: [4, 8]\n"
    sweep = loads_sweep(with_job('  suffix: "e{n_epochs}-b{batch_size}"\n', space))
    suffixes = [body["suffix"] for body in plan(sweep).bodies()]
    assert suffixes == ["e1-bauto", "e2-bauto", "eauto-b4", "eauto-b8"]
