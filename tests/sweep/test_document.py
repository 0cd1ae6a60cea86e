"""Reading sweep files: YAML, TOML and JSON into plain data, with positions and syntax errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ftsweep.errors import Problem, SweepFileError
from ftsweep.sweep.document import (
    MAX_ALIAS_VALUES,
    MAX_FILE_BYTES,
    Positions,
    parse_document,
    read_document,
)

YAML = """\
name: t
space:
  beta: {low: 0.1, high: 2}
  batch_size:
    - auto
    - 8
"""


def test_yaml_data_and_positions() -> None:
    data, positions = parse_document(YAML, "f.yaml", ".yaml")
    space = {"beta": {"low": 0.1, "high": 2}, "batch_size": ["auto", 8]}
    assert data == {"name": "t", "space": space}
    located = positions.locate(Problem(("space", "beta", "high"), "bad"))
    assert (located.line, located.column) == (3, YAML.splitlines()[2].index("high") + 1)
    assert positions.locate(Problem(("space", "batch_size", 1), "bad")).line == 6
    # A key is located at the key itself, not at its value.
    assert positions.locate(Problem(("space", "batch_size"), "bad")).line == 4


def test_positions_fall_back_to_the_nearest_written_parent() -> None:
    _, positions = parse_document(YAML, "f.yaml", ".yaml")
    located = positions.locate(Problem(("space", "beta", "step"), "bad", value=3))
    assert (located.line, located.column) == (3, 3)
    assert located.value == 3 and located.loc == ("space", "beta", "step")
    assert positions.locate(Problem(("nowhere",), "bad")).line is None
    assert Positions().locate(Problem(("name",), "bad")).line is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x: 1e-5", 1e-5),
        ("x: 1E5", 1e5),
        ("x: -2.5e-3", -2.5e-3),
        ("x: 3.0", 3.0),
        ("x: .5", 0.5),
        ("x: 1_000.5", 1000.5),
    ],
)
def test_yaml_reads_exponents_as_numbers(text: str, expected: float) -> None:
    data, _ = parse_document(text, "f.yaml", ".yaml")
    assert data["x"] == expected and isinstance(data["x"], float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x: 3", 3), ("x: auto", "auto"), ("x: 1.2.3", "1.2.3"), ("x: e5", "e5"), ("x: true", True)],
)
def test_yaml_other_scalars_unchanged(text: str, expected: object) -> None:
    data, _ = parse_document(text, "f.yaml", ".yaml")
    assert data["x"] == expected and type(data["x"]) is type(expected)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("name: t\nmethod: dpo\n  bad: x\n", 3, 6, "mapping values are not allowed here"),
        ("name: t\nspace: {beta: [1, 2}\n", 2, 20, r"expected ',' or '\]', but got '}'"),
        ("name: t\nkey: @x\n", 2, 6, "found character '@' that cannot start any token"),
        ("a: 1\n---\nb: 2\n", 2, 1, "expected a single document"),
    ],
)
def test_yaml_syntax_errors_name_line_and_column(
    text: str, line: int, column: int, message: str
) -> None:
    where = rf"^f.yaml: 1 problem\nf.yaml:{line}:{column}: \(top level\): YAML syntax: "
    with pytest.raises(SweepFileError, match=where + f".*{message}") as exc:
        parse_document(text, "f.yaml", ".yml")
    (problem,) = exc.value.problems
    assert problem.line == line and problem.column == column


def test_toml_syntax_error_names_line_and_column() -> None:
    text = 'name = "t"\nmethod = dpo\n'
    with pytest.raises(SweepFileError, match=r"f.toml:2:10: \(top level\): TOML syntax: ") as exc:
        parse_document(text, "f.toml", ".toml")
    (problem,) = exc.value.problems
    assert (problem.line, problem.column) == (2, 10)
    assert "(at line" not in problem.message


def test_json_syntax_error_names_line_and_column() -> None:
    text = '{"name": "t",\n "method": }\n'
    with pytest.raises(SweepFileError, match=r"f.json:2:12: .*JSON syntax: Expecting value") as exc:
        parse_document(text, "f.json", ".json")
    (problem,) = exc.value.problems
    assert (problem.line, problem.column) == (2, 12)


def test_toml_and_json_read_the_same_data() -> None:
    toml = 'name = "t"\n[space]\nbeta = {low = 0.1, high = 2}\nbatch_size = ["auto", 8]\n'
    json_text = (
        '{"name": "t", "space": {"beta": {"low": 0.1, "high": 2}, "batch_size": ["auto", 8]}}'
    )
    expected, _ = parse_document(YAML, "f.yaml", ".yaml")
    assert parse_document(toml, "f.toml", ".toml")[0] == expected
    assert parse_document(json_text, "f.json", ".json")[0] == expected


def test_empty_yaml_is_no_data() -> None:
    assert parse_document("", "f.yaml", ".yaml")[0] is None
    assert parse_document("# only a comment\n", "f.yaml", ".yaml")[0] is None


def test_unknown_suffix() -> None:
    with pytest.raises(
        SweepFileError, match=r"a sweep file must end in .yaml, .yml, .toml or .json \(got '.ini'\)"
    ) as exc:
        parse_document("x = 1", "f.ini", ".ini")
    assert exc.value.problems[0].value == ".ini"
    assert exc.value.file == "f.ini"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SweepFileError, match=r"absent.yaml: \(top level\): no such file"):
        read_document(path)


def test_unreadable_file(write_sweep: Callable[..., Path]) -> None:
    path = write_sweep("")
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(SweepFileError, match="cannot be read"):
        read_document(path)


def test_read_document_uses_the_suffix_case_insensitively(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep('{"name": "t"}', suffix=".JSON")
    assert read_document(path)[0] == {"name": "t"}


# --- limits: alias bombs, recursive aliases, file size, nesting ------------------------------


def alias_bomb(levels: int) -> str:
    """`levels` anchors, each a list of nine aliases of the one before: 9**levels values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_goes_past_the_limit() -> None:
    text = alias_bomb(9)
    assert len(text) < 1000
    rule = f"aliases expand to more than {MAX_ALIAS_VALUES} values; write them out instead"
    with pytest.raises(SweepFileError, match=rf"^f.yaml: 1 problem\nf.yaml:5:10: .*{rule}$"):
        parse_document(text, "f.yaml", ".yaml")


def test_aliases_within_the_limit_still_read() -> None:
    data, positions = parse_document(alias_bomb(4), "f.yaml", ".yaml")  # 8,289 values repeated
    assert len(data["a3"]) == 9 and data["a3"][8][8][8] == data["a0"]
    # an aliased value is located where its alias stands
    assert positions.locate(Problem(("a3", 2, 0), "bad")).line == 4


def test_grader_reused_through_an_alias_reads_and_locates_each_use() -> None:
    text = "g: &g {type: string_check, name: a}\nuses:\n  one: *g\n  two: *g\n"
    data, positions = parse_document(text, "f.yaml", ".yaml")
    assert data["uses"]["one"] == data["uses"]["two"] == data["g"]
    assert positions.locate(Problem(("uses", "two", "name"), "bad")).line == 4


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(SweepFileError, match=r"f.yaml:1:11: .*a recursive alias"):
        parse_document("a: &a [1, *a]\n", "f.yaml", ".yaml")


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_text_over_the_size_limit_is_refused_before_parsing(suffix: str) -> None:
    text = "#" * MAX_FILE_BYTES + "\n"  # not even valid TOML or JSON: the size comes first
    size = MAX_FILE_BYTES + 1
    rule = rf"the file is {size} bytes; a sweep file may be at most {MAX_FILE_BYTES} \(1 MiB\)"
    with pytest.raises(SweepFileError, match=rf"^f{suffix}: 1 problem\nf{suffix}: .*{rule}$"):
        parse_document(text, f"f{suffix}", suffix)


def test_a_file_over_the_size_limit_is_refused_before_reading(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep("name: t\n" + "#" * MAX_FILE_BYTES)
    with pytest.raises(SweepFileError, match=rf"the file is {MAX_FILE_BYTES + 8} bytes"):
        read_document(path)
    path.write_text("name: t\n" + "#" * (MAX_FILE_BYTES - 8))  # exactly the limit: read
    assert read_document(path)[0] == {"name": "t"}


@pytest.mark.parametrize(
    ("text", "suffix"), [("x: " + "[" * 50_000, ".yaml"), ("[" * 50_000, ".json")]
)
def test_values_nested_too_deeply_are_refused(text: str, suffix: str) -> None:
    with pytest.raises(SweepFileError, match=r"\(top level\): values are nested too deeply$"):
        parse_document(text, f"f{suffix}", suffix)


# --- duplicate keys --------------------------------------------------------------------------


def test_a_duplicate_yaml_key_is_refused_at_the_second() -> None:
    text = "name: t\nmethod: dpo\nspace:\n  beta: 1\n  n_epochs: 2\n  beta: 2\nname: u\n"
    with pytest.raises(SweepFileError) as exc:
        parse_document(text, "f.yaml", ".yaml")
    assert str(exc.value) == (
        "f.yaml: 2 problems\n"
        "f.yaml:6:3: space.beta: duplicate key 'beta' (first at line 4)\n"
        "f.yaml:7:1: name: duplicate key 'name' (first at line 1)"
    )


def test_yaml_merge_keys_may_be_overridden() -> None:
    text = "base: &b {n_epochs: 1, beta: 2}\nspace:\n  <<: *b\n  n_epochs: 3\n"
    data, _ = parse_document(text, "f.yaml", ".yaml")
    assert data["space"] == {"n_epochs": 3, "beta": 2}


def test_a_duplicate_json_key_is_refused_with_its_path_and_line() -> None:
    text = '{"name": "t",\n "space": [{"a": "{\\"", "b": 1},\n  {"b": 1, "b": 2}],\n "name": "u"}'
    with pytest.raises(SweepFileError) as exc:
        parse_document(text, "f.json", ".json")
    assert str(exc.value) == (
        "f.json: 2 problems\n"
        "f.json:3:12: space[1].b: duplicate key 'b' (first at line 3)\n"
        "f.json:4:2: name: duplicate key 'name' (first at line 1)"
    )


def test_a_duplicate_toml_key_is_refused_by_toml_itself() -> None:
    with pytest.raises(SweepFileError, match=r"f.toml:2:.*TOML syntax: Cannot overwrite"):
        parse_document('name = "t"\nname = "u"\n', "f.toml", ".toml")
