"""Graders: the published shapes plus the real service's rules (API_FACTS sections 3 and 4)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ftsweep.api.graders import (
    EVALUATION_METRICS,
    MAX_PYTHON_SOURCE_BYTES,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    grader_adapter,
    parse_grader,
    template_references,
)
from ftsweep.api.templates import SAMPLE_FIELDS

# --- sample graders, as a person writes them (also used by the other test modules) -----------


def string_check(**changes: Any) -> dict[str, Any]:
    grader = {
        "type": "string_check",
        "name": "accuracy",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}",
        "operation": "eq",
    }
    return {**grader, **changes}


def text_similarity(**changes: Any) -> dict[str, Any]:
    grader = {
        "type": "text_similarity",
        "name": "style",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.reference_answer }}",
        "evaluation_metric": "fuzzy_match",
    }
    return {**grader, **changes}


def python_grader(**changes: Any) -> dict[str, Any]:
    source = "def grade(sample, item) -> float:\n    return 1.0\n"
    return {"type": "python", "name": "code", "source": source, **changes}


CONTENT_FORMS: dict[str, Any] = {
    "string": "Grade {{ sample.output_text }} against {{ item.answer }}",
    "input_text": {"type": "input_text", "text": "{{ item.question }}"},
    "output_text": {"type": "output_text", "text": "{{ sample.output_text }}"},
    "input_image": {"type": "input_image", "image_url": "{{ item.image }}", "detail": "low"},
    "input_image_no_detail": {"type": "input_image", "image_url": "https://x.test/a.png"},
    "input_audio": {
        "type": "input_audio",
        "input_audio": {"data": "{{ item.audio }}", "format": "wav"},
    },
    "list": [
        "Question:",
        {"type": "input_text", "text": "{{ item.question }}"},
        {"type": "output_text", "text": "{{ sample.output_json.answer }}"},
        {"type": "input_image", "image_url": "{{ item.image }}", "detail": "auto"},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}},
    ],
}


def messages(content: Any = CONTENT_FORMS["string"]) -> list[dict[str, Any]]:
    return [
        {"role": "developer", "content": "You grade answers.", "type": "message"},
        {"role": "user", "content": content},
    ]


def score_model(**changes: Any) -> dict[str, Any]:
    grader = {"type": "score_model", "name": "judge", "model": "gpt-4.1", "input": messages()}
    return {**grader, **changes}


def label_model(**changes: Any) -> dict[str, Any]:
    grader = {
        "type": "label_model",
        "name": "tone",
        "model": "gpt-4.1",
        "input": messages(),
        "labels": ["polite", "neutral", "rude"],
        "passing_labels": ["polite", "neutral"],
    }
    return {**grader, **changes}


def multi(graders: Any = None, formula: str = "0.7 * accuracy + 0.3 * style") -> dict[str, Any]:
    if graders is None:
        graders = {"accuracy": string_check(), "style": text_similarity()}
    return {"type": "multi", "name": "combined", "graders": graders, "calculate_output": formula}


ALL_GRADERS = {
    "string_check": string_check(),
    "text_similarity": text_similarity(),
    "python": python_grader(),
    "score_model": score_model(range=[0, 10], sampling_params={"seed": 7}),
    "multi": multi(),
}

# --- each grader type ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_GRADERS)
def test_each_type_parses_to_its_class_and_round_trips(kind: str) -> None:
    grader = parse_grader(ALL_GRADERS[kind])
    assert grader.type == kind
    text = grader_adapter().dump_json(grader, exclude_none=True)
    assert grader_adapter().validate_json(text) == grader
    assert grader_adapter().dump_python(grader, mode="json", exclude_none=True) == ALL_GRADERS[kind]


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="Input tag 'regex' found using 'type'"):
        parse_grader(string_check(type="regex"))


def test_errors_are_titled_grader() -> None:
    with pytest.raises(ValidationError, match=r"^1 validation error for Grader"):
        parse_grader(string_check(operation="contains"))


def test_grader_adapter_is_built_once() -> None:
    assert grader_adapter() is grader_adapter()


@pytest.mark.parametrize("operation", ["eq", "ne", "like", "ilike"])
def test_string_check_operations(operation: str) -> None:
    grader = StringCheckGrader.model_validate(string_check(operation=operation))
    assert grader.operation == operation


def test_string_check_refuses_other_operations() -> None:
    with pytest.raises(ValidationError, match="Input should be 'eq', 'ne', 'like' or 'ilike'"):
        StringCheckGrader.model_validate(string_check(operation="contains"))


def test_models_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        StringCheckGrader.model_validate(string_check(case_sensitive=True))


def test_models_are_frozen() -> None:
    grader = StringCheckGrader.model_validate(string_check())
    with pytest.raises(ValidationError, match="Instance is frozen"):
        grader.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("metric", EVALUATION_METRICS)
def test_text_similarity_takes_every_metric_as_a_model(metric: str) -> None:
    grader = TextSimilarityGrader.model_validate(text_similarity(evaluation_metric=metric))
    assert grader.evaluation_metric == metric


@pytest.mark.parametrize("metric", [m for m in EVALUATION_METRICS if m != "cosine"])
def test_reinforcement_grader_takes_every_metric_but_cosine(metric: str) -> None:
    assert parse_grader(text_similarity(evaluation_metric=metric)).type == "text_similarity"


def test_cosine_is_refused_for_reinforcement_at_the_top() -> None:
    with pytest.raises(ValidationError, match="'style' uses evaluation_metric 'cosine', which is"):
        parse_grader(text_similarity(evaluation_metric="cosine"))


def test_cosine_is_refused_for_reinforcement_inside_multi() -> None:
    graders = {"accuracy": string_check(), "style": text_similarity(evaluation_metric="cosine")}
    with pytest.raises(ValidationError, match="for evals only, not for reinforcement"):
        parse_grader(multi(graders))
    assert MultiGrader.model_validate(multi(graders)).graders["style"].type == "text_similarity"


# --- python ----------------------------------------------------------------------------------


def test_python_source_is_data_and_never_run() -> None:
    source = "import os\nos._exit(3)\nraise SystemExit(4)\ndef grade(sample, item):\n    return 1\n"
    grader = PythonGrader.model_validate(python_grader(source=source, image_tag="2025-05-08"))
    assert grader.source == source and grader.image_tag == "2025-05-08"


def test_python_source_just_under_the_limit_is_taken() -> None:
    source = GRADE + "#" * (MAX_PYTHON_SOURCE_BYTES - 1 - len(GRADE))
    PythonGrader.model_validate(python_grader(source=source))


GRADE = "def grade(sample, item):\n    return 1.0\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "def grade(sample, item):\n    return 1.0 +\n",
            "python grader source does not compile: invalid syntax (line 2, column 17)",
        ),
        (
            "def grade(sample, item)\n    return 1\n",
            "python grader source does not compile: expected ':' (line 1, column 24)",
        ),
        ("x = 1\0", "python grader source does not compile: source code string cannot contain"),
        ("return 1\n", "python grader source does not compile: 'return' outside function (line 1"),
        ("def score(sample, item):\n    return 1\n", "must define grade(sample, item)"),
        ("class G:\n    def grade(self): ...\n", "must define grade(sample, item)"),
    ],
)
def test_python_source_must_compile_and_define_grade(source: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        PythonGrader.model_validate(python_grader(source=source))


def test_python_source_of_256_kib_is_refused() -> None:
    with pytest.raises(ValidationError, match="source is 262144 bytes; it must be under 256 KiB"):
        PythonGrader.model_validate(python_grader(source="#" * MAX_PYTHON_SOURCE_BYTES))


def test_python_source_size_counts_utf8_bytes() -> None:
    source = "é" * (MAX_PYTHON_SOURCE_BYTES // 2)  # half as many characters as bytes
    with pytest.raises(ValidationError, match="source is 262144 bytes"):
        PythonGrader.model_validate(python_grader(source=source))


# --- score model -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", CONTENT_FORMS)
def test_score_model_takes_every_content_form(form: str) -> None:
    grader = ScoreModelGrader.model_validate(score_model(input=messages(CONTENT_FORMS[form])))
    dumped = grader.model_dump(mode="json", exclude_none=True)
    assert dumped["input"][1]["content"] == CONTENT_FORMS[form]


def test_content_parts_are_discriminated_on_type() -> None:
    bad = {"type": "input_video", "video_url": "x"}
    with pytest.raises(ValidationError, match="Input tag 'input_video' found using 'type'"):
        ScoreModelGrader.model_validate(score_model(input=messages(bad)))


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "input_image", "image_url": "x", "detail": "max"}, "'high', 'low' or 'auto'"),
        ({"type": "input_audio", "input_audio": {"data": "x", "format": "ogg"}}, "'mp3' or 'wav'"),
    ],
)
def test_content_part_enums(part: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoreModelGrader.model_validate(score_model(input=messages(part)))


def test_message_roles_and_type() -> None:
    bad_role = [{"role": "tool", "content": "x"}]
    with pytest.raises(ValidationError, match="'user', 'assistant', 'system' or 'developer'"):
        ScoreModelGrader.model_validate(score_model(input=bad_role))
    bad_type = [{"role": "user", "content": "x", "type": "input_text"}]
    with pytest.raises(ValidationError, match="Input should be 'message'"):
        ScoreModelGrader.model_validate(score_model(input=bad_type))


def test_score_model_range_keeps_ints_and_floats() -> None:
    assert ScoreModelGrader.model_validate(score_model(range=[0, 10])).range == (0, 10)
    grader = ScoreModelGrader.model_validate(score_model(range=[-1.5, 2]))
    assert grader.model_dump(mode="json")["range"] == [-1.5, 2]


@pytest.mark.parametrize("bounds", [[1, 0], [1, 1], [0.5, -0.5]])
def test_score_model_range_needs_min_below_max(bounds: list[float]) -> None:
    with pytest.raises(ValidationError, match=r"range must be \[min, max\] with min < max, got"):
        ScoreModelGrader.model_validate(score_model(range=bounds))


@pytest.mark.parametrize("bounds", [[0], [0, 1, 2], [0, True], ["0", 1], [0, float("inf")]])
def test_score_model_range_is_two_finite_numbers(bounds: list[Any]) -> None:
    with pytest.raises(ValidationError, match="score_model|range"):
        ScoreModelGrader.model_validate(score_model(range=bounds))


def test_sampling_params_all_fields() -> None:
    params = {
        "max_completions_tokens": 256,
        "reasoning_effort": "xhigh",
        "seed": 42,
        "temperature": 1,
        "top_p": 0.9,
    }
    grader = ScoreModelGrader.model_validate(score_model(sampling_params=params))
    assert grader.model_dump(mode="json", exclude_none=True)["sampling_params"] == params


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_completions_tokens": 0}, "greater than or equal to 1"),
        ({"max_completions_tokens": 1.0}, "valid integer"),
        ({"seed": "3"}, "valid integer"),
        ({"seed": True}, "valid integer"),
        ({"temperature": "hot"}, "valid number"),
        ({"reasoning_effort": "default"}, "'none', 'minimal', 'low', 'medium', 'high' or 'xhigh'"),
        ({"reasoning_effort": "max"}, "'none', 'minimal', 'low', 'medium', 'high' or 'xhigh'"),
        ({"top_k": 5}, "Extra inputs are not permitted"),
        ({"max_completions_tokens": 2**31}, "less than or equal to 2147483647"),
        ({"seed": 2**32}, "less than or equal to 2147483647"),
        ({"seed": -1}, "greater than or equal to 0"),
        ({"temperature": 2.5}, "less than or equal to 2"),
        ({"temperature": -0.1}, "greater than or equal to 0"),
        ({"top_p": 1.5}, "less than or equal to 1"),
        ({"top_p": float("nan")}, "finite number"),
    ],
)
def test_sampling_params_rules(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoreModelGrader.model_validate(score_model(sampling_params=params))


# --- label model -----------------------------------------------------------------------------


def test_label_model_valid() -> None:
    grader = LabelModelGrader.model_validate(label_model())
    assert grader.passing_labels == ("polite", "neutral")


def test_label_model_passing_labels_must_be_a_subset() -> None:
    with pytest.raises(ValidationError, match="passing_labels must be a subset of labels; 'kind'"):
        LabelModelGrader.model_validate(label_model(passing_labels=["polite", "kind"]))


@pytest.mark.parametrize("field", ["labels", "passing_labels"])
def test_label_model_label_lists_are_not_empty(field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field}\n  Value error, must hold at least one"):
        LabelModelGrader.model_validate(label_model(**{field: []}))


def test_label_model_is_refused_as_the_reinforcement_grader() -> None:
    with pytest.raises(ValidationError, match="label_model grader can only be used inside a multi"):
        parse_grader(label_model())


def test_label_model_instance_is_refused_as_the_reinforcement_grader() -> None:
    with pytest.raises(ValidationError, match="only be used inside a multi grader"):
        parse_grader(LabelModelGrader.model_validate(label_model()))


def test_label_model_is_taken_inside_multi() -> None:
    grader = parse_grader(multi({"tone": label_model()}, formula="tone"))
    assert isinstance(grader, MultiGrader)
    assert isinstance(grader.graders["tone"], LabelModelGrader)


# --- multi -----------------------------------------------------------------------------------


def test_multi_graders_are_keyed_by_name() -> None:
    graders = {"accuracy": string_check(), "code": python_grader(), "judge": score_model()}
    grader = parse_grader(multi(graders, formula="(accuracy + code + judge) / 3"))
    assert isinstance(grader, MultiGrader)
    assert list(grader.graders) == ["accuracy", "code", "judge"]


def test_multi_keys_need_not_equal_grader_names() -> None:
    grader = MultiGrader.model_validate(multi({"exact": string_check()}, formula="exact"))
    assert grader.graders["exact"].name == "accuracy"


def test_single_grader_is_normalised_to_its_name() -> None:
    grader = MultiGrader.model_validate(multi(string_check(), formula="accuracy"))
    assert list(grader.graders) == ["accuracy"]
    assert grader.model_dump(mode="json")["graders"] == {"accuracy": string_check()}


def test_single_grader_instance_is_normalised_to_its_name() -> None:
    single = StringCheckGrader.model_validate(string_check(name="exact"))
    grader = MultiGrader(type="multi", name="m", graders=single, calculate_output="exact")
    assert grader.graders == {"exact": single}


def test_single_grader_without_a_name_is_refused() -> None:
    single = {k: v for k, v in string_check().items() if k != "name"}
    with pytest.raises(ValidationError, match="single grader given as graders needs a name"):
        MultiGrader.model_validate(multi(single, formula="1"))


def test_a_grader_named_type_is_a_key_not_a_single_grader() -> None:
    grader = MultiGrader.model_validate(multi({"type": string_check()}, formula="type"))
    assert list(grader.graders) == ["type"]


def test_multi_graders_as_a_list_is_refused() -> None:
    with pytest.raises(ValidationError, match="graders must be an object keyed by grader name"):
        MultiGrader.model_validate(multi([string_check()], formula="accuracy"))


def test_multi_needs_a_grader() -> None:
    with pytest.raises(ValidationError, match="a multi grader needs at least one grader"):
        MultiGrader.model_validate(multi({}, formula="1"))


def test_multi_keys_are_non_empty_strings() -> None:
    with pytest.raises(ValidationError, match="grader keys must be non-empty strings, got ''"):
        MultiGrader.model_validate(multi({"": string_check()}, formula="1"))


def test_multi_cannot_contain_multi() -> None:
    with pytest.raises(ValidationError, match=r"cannot contain another multi grader \('inner'\)"):
        parse_grader(multi({"inner": multi()}, formula="inner"))


def test_multi_cannot_contain_a_single_multi() -> None:
    with pytest.raises(ValidationError, match="cannot contain another multi grader"):
        MultiGrader.model_validate(multi(multi(), formula="combined"))


# --- calculate_output ------------------------------------------------------------------------


def test_calculate_output_is_checked_against_the_graders_names() -> None:
    expected = (
        "column 12: 'foo' is not one of its graders (accuracy, style)"
        " nor an allowed function"
    )
    with pytest.raises(ValidationError, match=re.escape(expected)):
        parse_grader(multi(formula="accuracy + foo"))


# --- templates -------------------------------------------------------------------------------


def test_template_references_of_string_check() -> None:
    grader = parse_grader(string_check())
    assert template_references(grader) == {"sample.output_text", "item.answer"}


def test_template_references_reach_every_content_form_and_nested_grader() -> None:
    judge = score_model(input=messages(CONTENT_FORMS["list"]))
    tone = label_model(input=messages(CONTENT_FORMS["input_audio"]))
    grader = parse_grader(multi({"judge": judge, "tone": tone, "s": text_similarity()}, "judge"))
    assert template_references(grader) == {
        "item.question",
        "item.image",
        "item.audio",
        "item.reference_answer",
        "sample.output_text",
        "sample.output_json.answer",
    }


def test_template_references_skip_python_source() -> None:
    source = "def grade(sample, item):\n    return len(f'{{ item.x }}')\n"
    assert template_references(parse_grader(python_grader(source=source))) == set()


def test_templates_without_spaces_are_found() -> None:
    grader = parse_grader(string_check(input="{{sample.output_text}}", reference="{{item.a.b}}"))
    assert template_references(grader) == {"sample.output_text", "item.a.b"}


def test_template_namespace_must_be_item_or_sample() -> None:
    with pytest.raises(ValidationError, match=r"'\{\{ foo.bar \}\}' uses 'foo'; only item and"):
        parse_grader(string_check(reference="{{ foo.bar }}"))


def test_template_must_name_a_field() -> None:
    with pytest.raises(ValidationError, match=r"'\{\{ item \}\}' must read item.<field> or"):
        parse_grader(string_check(reference="{{ item }}"))


def test_template_sample_fields_are_limited() -> None:
    with pytest.raises(ValidationError, match=r"reads sample.output; sample has only output_text"):
        ScoreModelGrader.model_validate(score_model(input=messages("{{ sample.output }}")))


def test_template_checks_reach_parts_inside_multi() -> None:
    part = {"type": "input_image", "image_url": "{{ row.image }}"}
    tone = label_model(input=messages([part]))
    with pytest.raises(ValidationError, match=r"'\{\{ row.image \}\}' uses 'row'"):
        parse_grader(multi({"tone": tone}, formula="tone"))


@pytest.mark.parametrize("field", SAMPLE_FIELDS)
def test_every_sample_field_is_allowed(field: str) -> None:
    grader = parse_grader(string_check(input=f"{{{{ sample.{field}[0].x }}}}"))
    assert template_references(grader) == {f"sample.{field}[0].x", "item.answer"}


# --- round trips -----------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="{}"), max_size=20)
_part = st.one_of(
    _text,
    st.builds(lambda t: {"type": "input_text", "text": t}, _text),
    st.builds(lambda t: {"type": "output_text", "text": t}, _text),
    st.builds(
        lambda u, d: {"type": "input_image", "image_url": u, **({"detail": d} if d else {})},
        _text,
        st.sampled_from([None, "high", "low", "auto"]),
    ),
    st.builds(
        lambda d, f: {"type": "input_audio", "input_audio": {"data": d, "format": f}},
        _text,
        st.sampled_from(["mp3", "wav"]),
    ),
)
_content = st.one_of(_part, st.lists(_part, max_size=3))
_number = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))


@given(
    content=_content,
    low=_number,
    width=st.integers(1, 10),
    role=st.sampled_from(["user", "assistant", "system", "developer"]),
)
def test_score_model_round_trips_through_json(
    content: Any, low: float, width: int, role: str
) -> None:
    raw = score_model(input=[{"role": role, "content": content}], range=[low, low + width])
    grader = ScoreModelGrader.model_validate(raw)
    assert ScoreModelGrader.model_validate_json(grader.model_dump_json()) == grader
    assert grader.model_dump(mode="json", exclude_none=True) == raw


@given(
    names=st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4),
    op=st.sampled_from(["eq", "ne", "like", "ilike"]),
)
def test_multi_round_trips_through_json(names: list[str], op: str) -> None:
    graders = {name: string_check(name=name, operation=op) for name in names}
    grader = parse_grader(multi(graders, formula=" + ".join(names)))
    adapter = grader_adapter()
    assert adapter.validate_json(adapter.dump_json(grader, exclude_none=True)) == grader
