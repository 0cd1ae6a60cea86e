"""The per-line checks of training data: each rule's exact message, every problem of a row at
once, hostile input that must not crash, and the example data files."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftsweep.data.findings import Finding
from ftsweep.data.rows import (
    Duplicates,
    check_counts,
    check_line,
    check_row,
    example_key,
    over_context,
)
from ftsweep.errors import Problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"

SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Where is my parcel?"}
ASSISTANT = {"role": "assistant", "content": "On its way."}
GOOD: dict[str, dict[str, Any]] = {
    "supervised": {"messages": [SYSTEM, USER, ASSISTANT]},
    "dpo": {
        "input": {"messages": [SYSTEM, USER]},
        "preferred_output": [ASSISTANT],
        "non_preferred_output": [{"role": "assistant", "content": "Unknown."}],
    },
    "reinforcement": {"messages": [SYSTEM, USER], "answer": "42", "meta": {"n": [1, 2]}},
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "track", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "track", "parameters": {"type": "object"}}}


def rendered(row: Any, method: str = "supervised", line: int = 3) -> list[str]:
    return [f.render("t.jsonl") for f in check_row(row, line, method)]


def severities(row: Any, method: str = "supervised") -> list[str]:
    return [f.severity for f in check_row(row, 1, method)]


def chat(*messages: Any, **fields: Any) -> dict[str, Any]:
    return {"messages": list(messages), **fields}


# --- one line --------------------------------------------------------------------------------


def test_a_json_object_line_is_returned_as_the_row() -> None:
    assert check_line(b'{"messages": []}\r\n', 1, "supervised") == ({"messages": []}, [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b'{"messages": [}\n',
            "t.jsonl:7:15: (top level): not valid JSON: unexpected character, expected a JSON"
            " value (got '{\"messages\": [}')",
        ),
        (
            b'{"a": 1\n',
            "t.jsonl:7:8: (top level): not valid JSON: unexpected end of data (got '{\"a\": 1')",
        ),
        (b"[1, 2]\n", "t.jsonl:7: (top level): every line must be a JSON object (got [1, 2])"),
        (b"null", "t.jsonl:7: (top level): every line must be a JSON object (got None)"),
        (b"\n", "t.jsonl:7: (top level): blank line; every line must hold one JSON object"),
        (b" \t\r\n", "t.jsonl:7: (top level): blank line; every line must hold one JSON object"),
        (
            b'\xef\xbb\xbf{"a": 1}\n',
            "t.jsonl:7: (top level): starts with a UTF-8 byte order mark; save the file as UTF-8"
            " without one",
        ),
        (
            b'{"a": 1e400}',
            "t.jsonl:7:7: (top level): not valid JSON: number is infinity when parsed as double"
            " (got '{\"a\": 1e400}')",
        ),
        (
            b'{"a": "\xff"}',
            "t.jsonl:7:1: (top level): not valid JSON: str is not valid UTF-8: surrogates not"
            ' allowed (got \'{"a": "\ufffd"}\')',
        ),
    ],
    ids=["syntax", "end-of-data", "array", "null", "blank", "whitespace", "bom", "inf", "utf8"],
)
def test_a_line_that_is_not_a_json_object_is_one_problem(raw: bytes, expected: str) -> None:
    row, found = check_line(raw, 7, "supervised")
    assert row is None
    assert [f.render("t.jsonl") for f in found] == [expected]


def test_nesting_past_the_parser_limit_is_a_syntax_problem_not_a_crash() -> None:
    row, found = check_line(b"[" * 5000 + b"]" * 5000, 1, "supervised")
    assert row is None
    assert found[0].problem.message == "not valid JSON: depth limit exceeded"


# --- supervised rows -------------------------------------------------------------------------


def test_good_rows_have_no_problems() -> None:
    for method, row in GOOD.items():
        assert rendered(row, method) == [], method


SUPERVISED_RULES = [
    ({}, "t.jsonl:3: messages: required"),
    ({"messages": None}, "t.jsonl:3: messages: must be a list of messages (got None)"),
    (
        {"messages": {"role": "user"}},
        "t.jsonl:3: messages: must be a list of messages (got {'role': 'user'})",
    ),
    (
        chat(None, ASSISTANT),
        "t.jsonl:3: messages[0]: must be an object with a role and content (got None)",
    ),
    (chat({"content": "hi"}, ASSISTANT), "t.jsonl:3: messages[0].role: required"),
    (
        chat({"role": "bot", "content": "hi"}, ASSISTANT),
        "t.jsonl:3: messages[0].role: must be one of system, developer, user, assistant, tool,"
        " function (got 'bot')",
    ),
    (chat({"role": "user"}, ASSISTANT), "t.jsonl:3: messages[0].content: required"),
    (
        chat({"role": "user", "content": 42}, ASSISTANT),
        "t.jsonl:3: messages[0].content: must be a string or a list of content parts (got 42)",
    ),
    (
        chat({"role": "user", "content": []}, ASSISTANT),
        "t.jsonl:3: messages[0].content: must hold at least one content part",
    ),
    (
        chat({"role": "user", "content": [{"type": "text", "text": None}]}, ASSISTANT),
        "t.jsonl:3: messages[0].content[0].text: must be a string (got None)",
    ),
    (
        chat({"role": "user", "content": [{"type": "text", "text": "a", "x": 1}]}, ASSISTANT),
        "t.jsonl:3: messages[0].content[0].x: not a field here; this takes only type, text",
    ),
    (
        chat({"role": "user", "content": [{"type": "audio"}]}, ASSISTANT),
        "t.jsonl:3: messages[0].content[0]: must be a content part of type text or image_url"
        " (images only in user messages) (got {'type': 'audio'})",
    ),
    (
        chat(
            USER,
            {
                "role": "assistant",
                "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
            },
        ),
        "t.jsonl:3: messages[1].content[0]: must be a content part of type text (got {'type':"
        " 'image_url', 'image_url': {'url': 'https://x'}})",
    ),
    (
        chat(
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
            ASSISTANT,
        ),
        "t.jsonl:3: messages[0].content[0].image_url.url: must be an http(s) URL or a data:image/"
        " URL (got 'ftp://x')",
    ),
    (
        chat(
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x", "detail": "max"}}
                ],
            },
            ASSISTANT,
        ),
        "t.jsonl:3: messages[0].content[0].image_url.detail: must be auto, low or high (got 'max')",
    ),
    (
        chat(
            {"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]},
            ASSISTANT,
        ),
        "t.jsonl:3: messages[0].content[0].image_url: must be an object {url, detail?} (got"
        " 'https://x')",
    ),
    (
        chat({"role": "user", "content": "hi", "name": 7}, ASSISTANT),
        "t.jsonl:3: messages[0].name: must be a non-empty string (got 7)",
    ),
    (
        chat({"role": "user", "content": "hi", "tool_calls": []}, ASSISTANT),
        "t.jsonl:3: messages[0].tool_calls: a user message takes only role, content, name",
    ),
    (
        chat(USER, {"role": "assistant", "content": "ok", "refusal": None}),
        "t.jsonl:3: messages[1].refusal: an assistant message takes only role, content, name,"
        " weight, tool_calls, function_call",
    ),
    (
        chat({"role": "user", "content": "hi", "weight": 1}, ASSISTANT),
        "t.jsonl:3: messages[0].weight: only assistant messages take a weight, not user messages",
    ),
    (
        chat(USER, {**ASSISTANT, "weight": 2}),
        "t.jsonl:3: messages[1].weight: must be 0 or 1, only on assistant messages (got 2)",
    ),
    (
        chat(USER, {**ASSISTANT, "weight": True}),
        "t.jsonl:3: messages[1].weight: must be 0 or 1, only on assistant messages (got True)",
    ),
    (
        chat(USER, {**ASSISTANT, "weight": 1.0}),
        "t.jsonl:3: messages[1].weight: must be 0 or 1, only on assistant messages (got 1.0)",
    ),
    (
        chat(USER, {"role": "assistant"}),
        "t.jsonl:3: messages[1].content: an assistant message needs content or tool_calls",
    ),
    (
        chat(USER, {"role": "assistant", "content": None}),
        "t.jsonl:3: messages[1].content: an assistant message needs content or tool_calls",
    ),
    (
        chat(USER, {"role": "assistant", "content": ""}),
        "t.jsonl:3: messages[1].content: must not be empty or whitespace only (got '')",
    ),
    (
        chat(USER, {"role": "assistant", "content": " \n\t"}),
        "t.jsonl:3: messages[1].content: must not be empty or whitespace only (got ' \\n\\t')",
    ),
    (
        chat(USER, {"role": "assistant", "content": [{"type": "text", "text": "  "}]}),
        "t.jsonl:3: messages[1].content: must not be empty or whitespace only (got [{'type':"
        " 'text', 'text': '  '}])",
    ),
    (chat(USER), "t.jsonl:3: messages: needs at least one assistant message to train on"),
    (
        chat(USER, {**ASSISTANT, "weight": 0}),
        "t.jsonl:3: messages: every assistant message has weight 0; nothing is trained on",
    ),
    (
        {**GOOD["supervised"], "id": 7},
        "t.jsonl:3: id: not a field the service reads; it takes messages, tools,"
        " parallel_tool_calls, functions",
    ),
    (
        {**GOOD["supervised"], "parallel_tool_calls": "no"},
        "t.jsonl:3: parallel_tool_calls: must be true or false (got 'no')",
    ),
]


@pytest.mark.parametrize(("row", "expected"), SUPERVISED_RULES)
def test_each_supervised_rule_has_its_message(row: dict[str, Any], expected: str) -> None:
    assert rendered(row) == [expected]


def test_an_empty_message_list_is_one_problem_and_trains_nothing() -> None:
    assert rendered({"messages": []}) == ["t.jsonl:3: messages: must hold at least one message"]


def _with_call(call: Any, *rest: Any, **fields: Any) -> dict[str, Any]:
    return chat(USER, {"role": "assistant", "tool_calls": [call]}, *rest, ASSISTANT, **fields)


TOOL_CALL_RULES = [
    (
        _with_call(None),
        "messages[1].tool_calls[0]: must be an object {id, type, function} (got None)",
    ),
    (
        _with_call({**CALL, "id": ""}),
        "messages[1].tool_calls[0].id: must be a non-empty string (got '')",
    ),
    (
        _with_call({k: v for k, v in CALL.items() if k != "id"}),
        "messages[1].tool_calls[0].id: must be a non-empty string (got None)",
    ),
    (
        _with_call({**CALL, "type": "tool"}),
        "messages[1].tool_calls[0].type: must be 'function' (got 'tool')",
    ),
    (
        _with_call({**CALL, "index": 0}),
        "messages[1].tool_calls[0].index: not a field here; this takes only id, type, function",
    ),
    (
        _with_call({**CALL, "function": "track"}),
        "messages[1].tool_calls[0].function: must be an object {name, arguments} (got 'track')",
    ),
    (
        _with_call({**CALL, "function": {"arguments": "{}"}}),
        "messages[1].tool_calls[0].function.name: must be a non-empty string (got None)",
    ),
    (
        _with_call({**CALL, "function": {"name": "track", "arguments": {"a": 1}}}),
        "messages[1].tool_calls[0].function.arguments: must be a string holding a JSON object (got"
        " {'a': 1})",
    ),
    (
        _with_call({**CALL, "function": {"name": "track", "arguments": "{a: 1}"}}),
        "messages[1].tool_calls[0].function.arguments: must be a string holding a JSON object (got"
        " '{a: 1}')",
    ),
    (
        _with_call({**CALL, "function": {"name": "track", "arguments": "[1]"}}),
        "messages[1].tool_calls[0].function.arguments: must be a string holding a JSON object (got"
        " '[1]')",
    ),
    (
        chat(USER, {"role": "assistant", "tool_calls": "call"}),
        "messages[1].tool_calls: must be a list of tool calls (got 'call')",
    ),
    (
        chat(USER, {"role": "assistant", "tool_calls": [CALL, CALL]}),
        "messages[1].tool_calls[1].id: repeats an earlier tool call id of this row (got 'call_1')",
    ),
    (
        chat(USER, {"role": "tool", "content": "x"}, ASSISTANT),
        "messages[1].tool_call_id: required: the id of the tool call it answers",
    ),
    (
        chat(
            USER,
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            {"role": "assistant", "tool_calls": [CALL]},
            ASSISTANT,
        ),
        "messages[1].tool_call_id: must be the id of an earlier tool call (got 'call_1')",
    ),
    (_with_call(CALL, {"role": "tool", "tool_call_id": "call_1"}), "messages[2].content: required"),
    (
        _with_call(CALL, tools=[{"type": "function", "function": {"name": "other"}}]),
        "messages[1].tool_calls[0].function.name: calls a function that the row's tools do not"
        " define (got 'track')",
    ),
]


@pytest.mark.parametrize(("row", "expected"), TOOL_CALL_RULES)
def test_each_tool_call_rule_has_its_message(row: dict[str, Any], expected: str) -> None:
    assert rendered(row) == ["t.jsonl:3: " + expected]


def test_a_tool_call_answered_by_a_tool_message_is_well_formed() -> None:
    row = _with_call(
        CALL, {"role": "tool", "tool_call_id": "call_1", "content": "in transit"}, tools=[TOOL]
    )
    assert rendered(row) == []


TOOL_RULES = [
    ("x", "tools: must be a list of tools (got 'x')"),
    ([None], "tools[0]: must be an object {type: function, function} (got None)"),
    ([{**TOOL, "type": "code"}], "tools[0].type: must be 'function' (got 'code')"),
    ([{**TOOL, "x": 1}], "tools[0].x: not a field here; this takes only type, function"),
    (
        [{"type": "function"}],
        "tools[0].function: must be an object {name, description?, parameters?} (got None)",
    ),
    (
        [{"type": "function", "function": {"name": "track order"}}],
        "tools[0].function.name: must be 1 to 64 letters, digits, '_' or '-' (got 'track order')",
    ),
    (
        [{"type": "function", "function": {"name": "t", "description": 1}}],
        "tools[0].function.description: must be a string (got 1)",
    ),
    (
        [{"type": "function", "function": {"name": "t", "parameters": []}}],
        "tools[0].function.parameters: must be a JSON schema object (got [])",
    ),
    (
        [{"type": "function", "function": {"name": "t", "strict": 1}}],
        "tools[0].function.strict: must be true or false (got 1)",
    ),
    (
        [{"type": "function", "function": {"name": "t", "returns": {}}}],
        "tools[0].function.returns: not a field here; this takes only name, description,"
        " parameters, strict",
    ),
    ([TOOL, TOOL], "tools[1].function.name: repeats a function name (got 'track')"),
]


@pytest.mark.parametrize(("tools", "expected"), TOOL_RULES)
def test_each_tool_definition_rule_has_its_message(tools: Any, expected: str) -> None:
    assert rendered({**GOOD["supervised"], "tools": tools}) == ["t.jsonl:3: " + expected]


def test_the_legacy_function_calling_form_trains_with_a_warning() -> None:
    call = {"name": "track", "arguments": '{"order": 42}'}
    row = chat(
        USER,
        {"role": "assistant", "function_call": call},
        {"role": "function", "name": "track", "content": "in transit"},
        ASSISTANT,
        functions=[{"name": "track", "parameters": {"type": "object"}}],
    )
    assert rendered(row) == [
        "t.jsonl:3: functions: is the legacy form of tools; the service may drop it"
    ]
    assert severities(row) == ["warning"]
    nameless = chat(USER, {"role": "function", "content": "x"}, ASSISTANT)
    assert rendered(nameless) == [
        "t.jsonl:3: messages[1].name: must be a non-empty string (got None)"
    ]


def test_every_problem_of_a_row_is_reported_together_in_order() -> None:
    row = {
        "messages": [
            {"role": "user", "content": "hi", "weight": 1},
            {"role": "assistant", "content": "  ", "weight": 2},
            {"role": "bot"},
            {"role": "assistant", "tool_calls": [{**CALL, "type": "fn"}]},
            {"role": "tool", "tool_call_id": "nope", "content": "x"},
        ],
        "extra": 1,
    }
    assert rendered(row, line=9) == [
        "t.jsonl:9: extra: not a field the service reads; it takes messages, tools,"
        " parallel_tool_calls, functions",
        "t.jsonl:9: messages[0].weight: only assistant messages take a weight, not user messages",
        "t.jsonl:9: messages[1].content: must not be empty or whitespace only (got '  ')",
        "t.jsonl:9: messages[1].weight: must be 0 or 1, only on assistant messages (got 2)",
        "t.jsonl:9: messages[2].role: must be one of system, developer, user, assistant, tool,"
        " function (got 'bot')",
        "t.jsonl:9: messages[3].tool_calls[0].type: must be 'function' (got 'fn')",
        "t.jsonl:9: messages[4].tool_call_id: must be the id of an earlier tool call (got 'nope')",
    ]
    assert severities(row) == ["warning"] + ["error"] * 6


def test_images_in_user_messages_and_weights_0_and_1_are_fine() -> None:
    image = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
    }
    user = {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}
    row = chat(user, {**ASSISTANT, "weight": 0}, USER, {**ASSISTANT, "weight": 1})
    assert rendered(row) == []


# --- DPO rows --------------------------------------------------------------------------------


def _dpo(**changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(GOOD["dpo"])
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


DPO_RULES = [
    (_dpo(input=None), "input: required"),
    (
        _dpo(input=[USER]),
        "input: must be an object {messages, tools?, parallel_tool_calls?} (got [{'role': 'user',"
        " 'content': 'Where is my parcel?'}])",
    ),
    (_dpo(input={}), "input.messages: required"),
    (
        _dpo(input={"messages": [USER], "id": 1}),
        "input.id: not a field the service reads; it takes messages, tools, parallel_tool_calls",
    ),
    (
        _dpo(input={"messages": [USER, ASSISTANT]}),
        "input.messages[1].role: must end with a user message, which both outputs answer (got"
        " 'assistant')",
    ),
    (
        _dpo(
            input={
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
                    }
                ]
            }
        ),
        "input.messages[0].content[0]: must be a content part of type text (got {'type':"
        " 'image_url', 'image_url': {'url': 'https://x'}})",
    ),
    (_dpo(preferred_output=None), "preferred_output: required: a list of one assistant message"),
    (
        _dpo(non_preferred_output=ASSISTANT),
        "non_preferred_output: must be a list of exactly one assistant message (got {'role':"
        " 'assistant', 'content': 'On its way.'})",
    ),
    (
        _dpo(preferred_output=[ASSISTANT, ASSISTANT]),
        "preferred_output: must be a list of exactly one assistant message (got [{'role':"
        " 'assistant', 'content': 'On its way.'}, {'role'...)",
    ),
    (_dpo(preferred_output=[USER]), "preferred_output[0].role: must be assistant (got 'user')"),
    (
        _dpo(preferred_output=[{"role": "assistant", "content": ""}]),
        "preferred_output[0].content: must not be empty or whitespace only (got '')",
    ),
    (
        _dpo(preferred_output=[{**ASSISTANT, "weight": 1}]),
        "preferred_output[0].weight: only supervised rows take a weight, not dpo rows",
    ),
    (
        _dpo(input={"messages": [USER], "functions": [None]}),
        "input.functions: not a field the service reads; it takes messages, tools,"
        " parallel_tool_calls",
    ),
    (
        _dpo(input={"messages": [{**USER, "weight": 1}]}),
        "input.messages[0].weight: only supervised rows take a weight, not dpo rows",
    ),
    (
        _dpo(non_preferred_output=[ASSISTANT]),
        "non_preferred_output: is the same as preferred_output; the pair teaches nothing",
    ),
    (
        _dpo(score=1),
        "score: not a field the service reads; it takes input, preferred_output,"
        " non_preferred_output",
    ),
]


@pytest.mark.parametrize(("row", "expected"), DPO_RULES)
def test_each_dpo_rule_has_its_message(row: dict[str, Any], expected: str) -> None:
    assert rendered(row, "dpo") == ["t.jsonl:3: " + expected]


def test_a_dpo_input_may_end_with_a_tool_result_and_outputs_may_call_tools() -> None:
    row = _dpo(
        input={
            "messages": [
                USER,
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
            ],
            "tools": [TOOL],
        },
        non_preferred_output=[{"role": "assistant", "tool_calls": [{**CALL, "id": "call_2"}]}],
    )
    assert rendered(row, "dpo") == []


def test_identical_dpo_outputs_are_a_warning_only() -> None:
    assert severities(_dpo(non_preferred_output=[ASSISTANT]), "dpo") == ["warning"]


# --- reinforcement rows ----------------------------------------------------------------------

RFT_RULES = [
    ({"answer": "4"}, "messages: required"),
    (
        {"messages": [USER, ASSISTANT], "answer": "4"},
        "messages[1].role: must not be assistant: the last message is the prompt the model answers"
        " (got 'assistant')",
    ),
    (
        {"messages": [{**USER, "weight": 1}]},
        "messages[0].weight: only supervised rows take a weight, not reinforcement rows",
    ),
    (
        {"messages": [USER], "tools": [None]},
        "tools[0]: must be an object {type: function, function} (got None)",
    ),
    (
        {"messages": [{"role": "function", "name": "f", "content": "x"}]},
        "messages[0].role: must be one of system, developer, user, assistant, tool (got"
        " 'function')",
    ),
]


@pytest.mark.parametrize(("row", "expected"), RFT_RULES)
def test_each_reinforcement_rule_has_its_message(row: dict[str, Any], expected: str) -> None:
    assert rendered(row, "reinforcement") == ["t.jsonl:3: " + expected]


def test_reinforcement_rows_take_any_other_field_even_tool_like_names() -> None:
    row = {"messages": [USER], "functions": "not tools here", "parallel_tool_calls": "x", "n": None}
    assert rendered(row, "reinforcement") == []


# --- hostile input ---------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    1e308,
    2**70,
    True,
    "",
    "\u0000\U0001f600",
    [],
    {},
    [None],
    {"": None},
]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*here, key)
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*here, i)
            yield from _paths(value, (*here, i))


def _replaced(row: Any, path: tuple[Any, ...], value: Any) -> Any:
    row = copy.deepcopy(row)
    node = row
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return row


@pytest.mark.parametrize("method", list(GOOD))
def test_any_value_anywhere_in_a_row_gives_findings_never_an_exception(method: str) -> None:
    good = {**GOOD[method]}
    if method != "dpo":
        good.update(tools=[TOOL])
        good["messages"] = [
            *good["messages"][:-1],
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            good["messages"][-1],
        ]
    assert rendered(good, method) == []
    for path in _paths(good):
        for value in ODD_VALUES:
            for found in check_row(_replaced(good, path, value), 1, method):
                assert found.render("t.jsonl").startswith("t.jsonl:1: ")
                example_key(_replaced(good, path, value), method)


def test_deep_and_huge_values_inside_content_are_reported_briefly() -> None:
    deep: Any = "x"
    for _ in range(1020):  # orjson reads 1,024 levels; repr stops near 1,000
        deep = [deep]
    row = chat({"role": "user", "content": {"parts": deep}}, {**ASSISTANT, "weight": 10**30})
    lines = rendered(row)
    assert lines[0] == (
        "t.jsonl:3: messages[0].content: must be a string or a list of content parts"
        " (got <a value nested over 64 levels deep>)"
    )
    assert lines[1] == (
        "t.jsonl:3: messages[1].weight: must be 0 or 1, only on assistant messages"
        " (got 1000000000000000000000000000000)"
    )


def test_unicode_content_and_roles_are_rendered_as_written() -> None:
    row = chat({"role": "usér", "content": "héllo"}, {"role": "assistant", "content": "\u3000"})
    assert rendered(row) == [
        "t.jsonl:3: messages[0].role: must be one of system, developer, user, assistant, tool,"
        " function (got 'usér')",
        "t.jsonl:3: messages[1].content: must not be empty or whitespace only (got '\\u3000')",
    ]


# --- examples, duplicates, counts ------------------------------------------------------------


def test_example_keys_ignore_key_order_and_untrained_fields() -> None:
    a = {"messages": [{"role": "user", "content": "x"}], "id": 1}
    b = {"id": 2, "messages": [{"content": "x", "role": "user"}]}
    assert example_key(a, "supervised") == example_key(b, "supervised")
    assert example_key(a, "reinforcement") != example_key(b, "reinforcement")
    assert example_key(a) != example_key({**a, "messages": []})
    assert len(example_key(a)) == 16


def test_example_keys_of_rows_too_deep_for_orjson_still_compare() -> None:
    deep: Any = "x"
    for _ in range(600):
        deep = {"b": deep, "a": 1}
    swapped: Any = "x"
    for _ in range(600):
        swapped = {"a": 1, "b": swapped}
    assert example_key({"messages": deep}) == example_key({"messages": swapped})
    raw = b'{"messages": ' + b"[" * 1020 + b"1" + b"]" * 1020 + b"}"
    row, _ = check_line(raw, 1, "supervised")
    assert row is not None
    assert example_key(row) == example_key(orjson.loads(raw)) != example_key({"messages": [1]})
    assert example_key({"n": 2**70}) != example_key({"n": 2**70 + 1})


def test_duplicates_name_the_first_line_whatever_order_chunks_merge_in() -> None:
    first, second = Duplicates(), Duplicates()
    for line, key in [(1, b"a"), (2, b"b"), (3, b"a")]:
        first.add(key, line)
    for line, key in [(4, b"a"), (5, b"c"), (6, b"b")]:
        second.add(key, line)
    expected = [
        "t.jsonl:3: (top level): is the same example as line 1",
        "t.jsonl:4: (top level): is the same example as line 1",
        "t.jsonl:6: (top level): is the same example as line 2",
    ]
    merged = pickle.loads(pickle.dumps(second)).merge(first)
    assert [f.render("t.jsonl") for f in merged.findings()] == expected
    assert {f.severity for f in merged.findings()} == {"warning"}


def test_validation_rows_that_are_training_rows_are_named() -> None:
    training, validation = Duplicates(), Duplicates()
    training.add(b"a", 5)
    training.add(b"a", 2)
    validation.add(b"a", 1)
    validation.add(b"z", 2)
    assert [f.render("v.jsonl") for f in validation.shared_with(training)] == [
        "v.jsonl:1: (top level): is the same example as line 2 of the training file"
    ]


def test_an_example_over_the_context_is_a_warning_with_its_line() -> None:
    assert over_context(65_536, 4) is None
    found = over_context(70_000, 4)
    assert found is not None and found.severity == "warning"
    assert found.render("t.jsonl") == (
        "t.jsonl:4: (top level): has more tokens than the model's context of 65,536: truncated,"
        " billed up to it (got 70000)"
    )


@pytest.mark.parametrize(
    ("method", "training", "validation", "expected"),
    [
        ("supervised", 10, None, []),
        ("supervised", 9, None, ["training_file: needs at least 10 examples (got 9)"]),
        ("dpo", 10, 0, ["validation_file: holds no examples (got 0)"]),
        ("reinforcement", 50_000, 1_000, []),
        ("reinforcement", 12, None, ["validation_file: reinforcement needs a validation file"]),
        (
            "reinforcement",
            50_001,
            1_001,
            [
                "training_file: reinforcement takes at most 50,000 training examples (got 50001)",
                "validation_file: reinforcement takes at most 1,000 validation examples (got 1001)",
            ],
        ),
        ("supervised", 100_000, 5_000, []),
    ],
)
def test_the_count_rules(
    method: str, training: int, validation: int | None, expected: list[str]
) -> None:
    assert [p.render() for p in check_counts(method, training, validation)] == expected


def test_findings_pickle_and_render_the_same_with_or_without_a_value() -> None:
    with_value = Finding(Problem(("messages", 2, "weight"), "must be 0 or 1", 2, 5))
    without = Finding(Problem(("messages",), "required", line=5, column=3), "warning")
    for finding in (with_value, without):
        back = pickle.loads(pickle.dumps(finding))
        assert back == finding and back.render("t.jsonl") == finding.render("t.jsonl")
    assert pickle.loads(pickle.dumps(without)).render("t") == "t:5:3: messages: required"


def test_a_finding_carries_a_short_text_of_a_big_value_and_renders_as_the_value_would() -> None:
    big = {"role": "assistant", "content": ["part"] * 10_000}
    (found,) = check_row({"messages": big}, 2, "supervised")
    assert len(pickle.dumps(found)) < 400
    assert found.render("t") == Problem(("messages",), "must be a list of messages", big, 2).render(
        "t"
    )
    row, (line,) = check_line(orjson.dumps([big]), 1, "supervised")
    assert len(pickle.dumps(line)) < 400


# --- the example data files ------------------------------------------------------------------


def scan(name: str, method: str) -> list[str]:
    """Every finding of one example file, as the CLI will print them."""
    duplicates, found, rows = Duplicates(), [], 0
    for line, raw in enumerate((EXAMPLES / name).read_bytes().splitlines(keepends=True), 1):
        row, problems = check_line(raw, line, method)
        found += problems
        if row is not None:
            rows += 1
            found += check_row(row, line, method)
            duplicates.add(example_key(row, method), line)
    found += duplicates.findings()
    return [f"{f.severity}: {f.render(name)}" for f in found]


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("support-train.jsonl", "supervised"),
        ("support-valid.jsonl", "supervised"),
        ("rft-train.jsonl", "reinforcement"),
        ("rft-valid.jsonl", "reinforcement"),
        ("bad-rft.jsonl", "reinforcement"),
        ("dpo-train.jsonl", "dpo"),
        ("dpo-valid.jsonl", "dpo"),
    ],
)
def test_the_good_example_files_pass_every_row_check(name: str, method: str) -> None:
    assert scan(name, method) == []


def test_the_bad_supervised_example_shows_each_problem_at_its_line() -> None:
    f = "bad-supervised.jsonl"
    assert scan(f, "supervised") == [
        f"error: {f}:2:93: (top level): not valid JSON: unexpected end of data"
        """ (got '{"messages": [{"role": "user", "content": "Hi"}, {"role"...)""",
        f"error: {f}:3: messages[1].role: must be one of system, developer, user, assistant, tool,"
        f" function (got 'customer')",
        f"error: {f}:4: messages[1].weight: only assistant messages take a weight, not user"
        f" messages",
        f"error: {f}:5: messages[2].weight: must be 0 or 1, only on assistant messages (got 2)",
        f"error: {f}:6: messages[2].content: must not be empty or whitespace only (got '   ')",
        f"error: {f}:7: messages[2].tool_calls[0].function.arguments: must be a string holding a"
        f" JSON object (got '{{order: 42}}')",
        f"error: {f}:8: messages[2].tool_call_id: must be the id of an earlier tool call (got"
        f" 'call_9')",
        f"error: {f}:10: (top level): blank line; every line must hold one JSON object",
        f"error: {f}:11: messages: needs at least one assistant message to train on",
        f"error: {f}:12: messages: every assistant message has weight 0; nothing is trained on",
        f"error: {f}:13: messages[1].content: must be a string or a list of content parts (got 42)",
        f"warning: {f}:9: (top level): is the same example as line 1",
    ]


def test_the_example_files_hold_enough_rows() -> None:
    for name, method in [
        ("rft-train", "reinforcement"),
        ("dpo-train", "dpo"),
        ("support-train", "supervised"),
    ]:
        training = len((EXAMPLES / f"{name}.jsonl").read_bytes().splitlines())
        valid = len((EXAMPLES / f"{name.split('-')[0]}-valid.jsonl").read_bytes().splitlines())
        assert check_counts(method, training, valid) == []


def test_rows_as_orjson_reads_them_are_plain_dicts() -> None:
    row, _ = check_line(orjson.dumps(GOOD["supervised"]), 1, "supervised")
    assert type(row) is dict


def test_an_unknown_method_is_a_programming_error() -> None:
    with pytest.raises(
        ValueError, match="unknown method 'sft'; one of supervised, dpo, reinforcement"
    ):
        check_row(GOOD["supervised"], 1, "sft")
