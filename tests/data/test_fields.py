"""A grader's templates against the data: where each template is, the item paths it reads, the
rows that lack them, and output_json paths against the response_format schema."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftsweep.api.graders import parse_grader, template_references
from ftsweep.api.methods import ResponseFormat
from ftsweep.data.fields import (
    ItemPaths,
    MissingFields,
    Template,
    check_templates,
    grader_templates,
    item_paths,
    missing_paths,
    parse_path,
)
from ftsweep.data.schema import schema_has_path
from ftsweep.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"

SCORE_MODEL = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4.1",
    "input": [
        {"role": "system", "content": "Grade against {{ item.rubric.text }}."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "{{ sample.output_text }} vs {{item.answers[0]}}"},
                {"type": "input_image", "image_url": "{{ item.image.url }}"},
            ],
        },
    ],
}
LABEL_MODEL = {
    "type": "label_model",
    "name": "tone",
    "model": "gpt-4.1",
    "input": [
        {"role": "user", "content": "Label {{ sample.output_text }} for {{ item.audience }}"}
    ],
    "labels": ["kind", "rude"],
    "passing_labels": ["kind"],
}
PYTHON = {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 1.0\n"}
MULTI = {
    "type": "multi",
    "name": "all",
    "graders": {"judge": SCORE_MODEL, "tone": LABEL_MODEL, "py": PYTHON},
    "calculate_output": "judge + tone + py",
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "total": {"type": "string"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"$ref": "#/definitions/x"}]},
        "either": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"a": {}}}]},
        "tags": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"n": {}}},
        },
        "node": {"$ref": "#"},
    },
    "$defs": {"line": {"type": "object", "properties": {"amount": {"type": "number"}}}},
    "definitions": {"x": {"allOf": [{"properties": {"deep": {}}}]}},
}


def rft_sweep() -> Any:
    return load_sweep(ROOT / "sweeps" / "rft-multi-grader.yaml")


# --- where the templates are -----------------------------------------------------------------


def test_every_template_of_a_multi_grader_is_found_with_its_field_path() -> None:
    sweep = rft_sweep()
    found = grader_templates(sweep.grader)
    assert found == [
        Template(("grader", "graders", "total", "input"), "sample.output_json.total"),
        Template(("grader", "graders", "total", "reference"), "item.total"),
        Template(("grader", "graders", "vendor", "input"), "sample.output_json.vendor"),
        Template(("grader", "graders", "vendor", "reference"), "item.vendor"),
    ]
    assert {t.reference for t in found} == template_references(sweep.grader)


def test_model_graders_message_content_is_searched_in_strings_and_parts() -> None:
    grader = parse_grader(MULTI)
    found = grader_templates(grader)
    assert [(".".join(map(str, t.loc)), t.reference) for t in found] == [
        ("grader.graders.judge.input.0.content", "item.rubric.text"),
        ("grader.graders.judge.input.1.content.0.text", "sample.output_text"),
        ("grader.graders.judge.input.1.content.0.text", "item.answers[0]"),
        ("grader.graders.judge.input.1.content.1.image_url", "item.image.url"),
        ("grader.graders.tone.input.0.content", "sample.output_text"),
        ("grader.graders.tone.input.0.content", "item.audience"),
    ]
    assert {t.reference for t in found} == template_references(grader)
    paths, problems = item_paths(grader)
    assert list(paths) == [("rubric", "text"), ("answers", 0), ("image", "url"), ("audience",)]
    assert problems == []


def test_a_python_grader_names_no_paths() -> None:
    assert grader_templates(parse_grader(PYTHON)) == []


# --- parsing paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("item.answer", ("item", ("answer",))),
        ("item.answer.text", ("item", ("answer", "text"))),
        ("item.choices[0].text", ("item", ("choices", 0, "text"))),
        ("item.choices.0", ("item", ("choices", "0"))),
        ("item.a[1][2]", ("item", ("a", 1, 2))),
        ("item.my-field", ("item", ("my-field",))),
        ("sample.output_json.total", ("sample", ("output_json", "total"))),
        ("item", None),
        ("item.", None),
        ("item.a | upper", None),
        ("item.a['b']", None),
        ("item.a..b", None),
        ("1tem.a", None),
    ],
)
def test_paths_are_dotted_names_and_indexes(reference: str, expected: Any) -> None:
    assert parse_path(reference) == expected


# --- the templates' own rules ----------------------------------------------------------------

AT = ("grader", "graders", "total", "reference")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("items.total", "template '{{ items.total }}' uses 'items'; only item and sample exist"),
        (
            "sample.output",
            "template '{{ sample.output }}' reads sample.output; sample has only output_text,"
            " output_json, output_tools, choices, output_audio",
        ),
        ("item", "template '{{ item }}' must read item.<field> or sample.<field>"),
        (
            "sample.output_json.totl",
            "'{{ sample.output_json.totl }}' reads a field that the response_format schema does"
            " not define",
        ),
    ],
)
def test_templates_that_read_nothing_are_errors_where_they_are(
    reference: str, expected: str
) -> None:
    paths, found = check_templates([Template(AT, reference)], rft_sweep().response_format)
    assert len(paths) == 0
    assert [(f.severity, f.render()) for f in found] == [
        ("error", f"grader.graders.total.reference: {expected}")
    ]


def test_a_template_that_is_not_a_plain_path_is_a_warning_and_not_guessed_at() -> None:
    paths, found = check_templates([Template(("grader",), "item.total | trim")])
    assert paths == ItemPaths()
    assert [(f.severity, f.render()) for f in found] == [
        (
            "warning",
            "grader: cannot check '{{ item.total | trim }}' against the data: it is not a plain"
            " field path",
        )
    ]


def test_item_paths_are_kept_once_in_order_of_first_use() -> None:
    refs = ["item.b", "item.a.c", "item.b", "sample.output_text"]
    paths, found = check_templates(Template(("grader",), r) for r in refs)
    assert paths.paths == (("b",), ("a", "c")) and found == []


def test_output_json_is_not_checked_without_a_response_format() -> None:
    assert check_templates([Template(AT, "sample.output_json.anything")]) == (ItemPaths(), [])


def test_the_response_format_may_be_the_model_or_the_raw_mapping() -> None:
    raw = {"type": "json_schema", "json_schema": {"name": "f", "schema": SCHEMA, "strict": True}}
    model = ResponseFormat.model_validate(raw)
    for response_format in (raw, model):
        good = check_templates(
            [Template(AT, "sample.output_json.lines[3].amount")], response_format
        )
        bad = check_templates([Template(AT, "sample.output_json.lines.x")], response_format)
        assert good[1] == [] and len(bad[1]) == 1


def test_the_example_sweep_grader_matches_its_response_format() -> None:
    sweep = rft_sweep()
    assert item_paths(sweep.grader, sweep.response_format) == (
        ItemPaths((("total",), ("vendor",))),
        [],
    )


# --- schema paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), True),
        (("total",), True),
        (("lines", 0, "amount"), True),
        (("lines", "7", "amount"), True),
        (("lines", "amount"), False),
        (("pair", 0), True),
        (("pair", 1, "deep"), True),
        (("pair", 2), False),
        (("either", "a"), True),
        (("either", "b"), False),
        (("tags", "any-key", "n"), True),
        (("tags", "any-key", "m"), False),
        (("node", "node", "node", "total"), True),
        (("node", "missing"), False),
        (("total", "length"), False),
        (("absent",), False),
    ],
)
def test_a_schema_path_follows_properties_items_refs_and_branches(
    path: Any, expected: bool
) -> None:
    assert schema_has_path(SCHEMA, path) is expected


def test_hostile_schemas_end_without_error() -> None:
    loop = {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}
    assert schema_has_path(loop, ("x",)) is False
    assert schema_has_path({"properties": []}, ("x",)) is False
    assert schema_has_path({"$ref": "https://example.com/s.json"}, ("x",)) is False
    assert schema_has_path({"anyOf": "no"}, ("x",)) is False
    assert schema_has_path({"items": [{}, {}]}, (1,)) is True


# --- rows ------------------------------------------------------------------------------------

PATHS = ItemPaths(
    (("answer", "text"), ("choices", 1), ("choices", "0", "x"), ("meta", "0"), ("n",))
)


@pytest.mark.parametrize(
    ("row", "missing"),
    [
        (
            {"answer": {"text": ""}, "choices": [{"x": 1}, 2], "meta": {"0": None}, "n": None},
            [],
        ),
        ({}, list(PATHS)),
        (
            {"answer": "text", "choices": [3], "meta": [], "n": 0},
            [("answer", "text"), ("choices", 1), ("choices", "0", "x"), ("meta", "0")],
        ),
        (
            {"answer": {"text": [1]}, "choices": {"1": 1, "0": {"x": 1}}, "meta": ["m"], "n": 1},
            [("choices", 1)],
        ),
        ({"answer": None, "choices": None, "meta": 1.5, "n": []}, list(PATHS)[:4]),
    ],
)
def test_missing_paths_walks_objects_and_lists(row: dict[str, Any], missing: list[Any]) -> None:
    assert missing_paths(row, PATHS) == missing


def test_missing_fields_render_a_count_and_the_first_five_lines() -> None:
    tally = MissingFields()
    for line in (4, 9, 12, 15, 20, 22):
        tally.add(line, [("answer", "text")])
    tally.add(30, [("choices", 0), ("answer", "text")])
    assert tally.render("training.jsonl") == [
        "training.jsonl: item.answer.text: missing in 7 rows (lines 4, 9, 12, 15, 20, ...)",
        "training.jsonl: item.choices[0]: missing in 1 row (line 30)",
    ]


def test_missing_fields_merge_in_any_order_to_the_same_tally() -> None:
    chunks = []
    for lines in ((50, 51), (3, 90), (7,)):
        chunk = MissingFields()
        for line in lines:
            chunk.add(line, [("a",)] + ([("b", "0")] if line > 10 else []))
        chunks.append(pickle.loads(pickle.dumps(chunk)))
    forward = MissingFields().merge(chunks[0]).merge(chunks[1]).merge(chunks[2])
    backward = MissingFields().merge(chunks[2]).merge(chunks[1]).merge(chunks[0])
    assert forward == backward
    assert forward.render("v.jsonl") == [
        "v.jsonl: item.a: missing in 5 rows (lines 3, 7, 50, 51, 90)",
        "v.jsonl: item.b.0: missing in 3 rows (lines 50, 51, 90)",
    ]
    assert not MissingFields() and forward


def test_the_example_reinforcement_files_have_every_field_the_grader_reads() -> None:
    sweep = rft_sweep()
    paths, _ = item_paths(sweep.grader, sweep.response_format)
    tallies = {name: tally(name, paths) for name in ("rft-train", "rft-valid", "bad-rft")}
    assert not tallies["rft-train"] and not tallies["rft-valid"]
    assert tallies["bad-rft"].render("bad-rft.jsonl") == [
        "bad-rft.jsonl: item.vendor: missing in 3 rows (lines 3, 8, 10)",
        "bad-rft.jsonl: item.total: missing in 3 rows (lines 6, 8, 12)",
    ]


def tally(name: str, paths: ItemPaths) -> MissingFields:
    missing = MissingFields()
    for line, raw in enumerate((EXAMPLES / f"{name}.jsonl").read_bytes().splitlines(), 1):
        missing.add(line, missing_paths(orjson.loads(raw), paths))
    return missing
