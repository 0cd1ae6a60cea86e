"""The per-line checks of a training or validation file: JSON syntax, the method's row format,
and the file-level rules over counts (API_FACTS 5).

Everything here is a pure function of plain data, so the file scan can run it on chunks in other
processes and merge what comes back. Choices where the API leaves room, and why:

- A blank or whitespace-only line is an error ("blank line"): the service parses every line as
  one JSON object and refuses the file. The newline that ends the last row is not a line.
- A UTF-8 byte order mark is an error (orjson and the service refuse it), named as such.
- Unknown top-level keys of supervised and DPO rows (and of a DPO `input`) are warnings: the
  guides do not say the service refuses them, and a warning costs nothing. Unknown keys inside a
  message are errors (the service checks messages strictly). Reinforcement rows take any other
  field: those are what `{{ item.* }}` reads.
- A DPO `input` must end with a user (or tool) message, since both outputs answer it; identical
  preferred and non-preferred outputs are a warning (the pair teaches nothing, but trains).
- A reinforcement row's messages must not end with an assistant message: the model writes it.
- Over-context examples, duplicates and identical DPO outputs are warnings; all else is an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from ftsweep.data.findings import Finding, Loc, Sink, printable
from ftsweep.data.messages import DPO, REINFORCEMENT, SUPERVISED, check_message, check_messages
from ftsweep.data.messages import check_tools as _check_tools
from ftsweep.errors import Problem

__all__ = [
    "CONTEXT_TOKENS",
    "Duplicates",
    "MAX_REINFORCEMENT_TRAINING",
    "MAX_REINFORCEMENT_VALIDATION",
    "MIN_TRAINING_EXAMPLES",
    "check_counts",
    "check_line",
    "check_row",
    "example_key",
    "over_context",
]

CONTEXT_TOKENS = 65_536
MIN_TRAINING_EXAMPLES = 10
MAX_REINFORCEMENT_TRAINING = 50_000
MAX_REINFORCEMENT_VALIDATION = 1_000

_BOM = b"\xef\xbb\xbf"
_SHOWN_BYTES = 200  # of a line that is not JSON: messages show 60 characters of it
_SUPERVISED_KEYS = ("messages", "tools", "parallel_tool_calls", "functions")
_DPO_KEYS = ("input", "preferred_output", "non_preferred_output")
_DPO_INPUT_KEYS = ("messages", "tools", "parallel_tool_calls")
#: The part of a row that is trained on, by method: what makes two examples the same.
_TRAINED_KEYS: dict[str, tuple[str, ...] | None] = {
    "supervised": _SUPERVISED_KEYS,
    "dpo": _DPO_KEYS,
    "reinforcement": None,  # every field: the graders read them
}


# --- one line --------------------------------------------------------------------------------


def check_line(
    raw: bytes, line: int, method: str
) -> tuple[dict[str, object] | None, list[Finding]]:
    """Parse one line; return the row when it is a JSON object, and what is wrong with the line.

    `method` is not needed to parse; it is taken so that every per-line call reads the same."""
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, [_syntax(raw, line, exc)]
    if not isinstance(row, dict):
        problem = Problem((), "every line must be a JSON object", printable(row), line)
        return None, [Finding(problem)]
    return row, []


def _syntax(raw: bytes, line: int, exc: orjson.JSONDecodeError) -> Finding:
    if not raw.strip():
        return Finding(Problem((), "blank line; every line must hold one JSON object", line=line))
    if raw.startswith(_BOM):
        rule = "starts with a UTF-8 byte order mark; save the file as UTF-8 without one"
        return Finding(Problem((), rule, line=line))
    text = raw.rstrip(b"\r\n")
    if text != raw:  # orjson counts the line's own newline: at the end it is "line 2, column 1"
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as within:
            exc = within
    got = text[:_SHOWN_BYTES].decode("utf-8", "replace").strip()
    return Finding(Problem((), f"not valid JSON: {exc.msg}", got, line, exc.colno))


# --- one row ---------------------------------------------------------------------------------


def check_row(row: Mapping[str, object], line: int, method: str) -> list[Finding]:
    """Every rule of `method`'s row format that `row` breaks, each with its field path."""
    if method not in _CHECKS:
        raise ValueError(f"unknown method {method!r}; one of {', '.join(_CHECKS)}")
    sink = Sink(line)
    _CHECKS[method](row, sink)
    return sink.found


def _unknown_keys(value: Mapping[str, object], keys: tuple[str, ...], loc: Loc, sink: Sink) -> None:
    for key in value:
        if key not in keys:
            sink.warn((*loc, key), f"not a field the service reads; it takes {', '.join(keys)}")


def _required(value: Mapping[str, object], key: str, loc: Loc, sink: Sink) -> object:
    if key not in value:
        sink.error((*loc, key), "required")
    return value.get(key)


def _tools(
    value: Mapping[str, object], loc: Loc, sink: Sink, legacy: bool = False
) -> frozenset[str] | None:
    """The function names a row's `tools` (and, with `legacy`, `functions`) define; None when
    it defines none."""
    names = None
    if value.get("tools") is not None:
        names = _check_tools(value["tools"], (*loc, "tools"), sink)
    if legacy and value.get("functions") is not None:
        sink.warn((*loc, "functions"), "is the legacy form of tools; the service may drop it")
        old = _check_tools(value["functions"], (*loc, "functions"), sink, legacy=True)
        names = old if names is None or old is None else names | old
    if not isinstance(value.get("parallel_tool_calls", False), bool):
        loc = (*loc, "parallel_tool_calls")
        sink.error(loc, "must be true or false", value["parallel_tool_calls"])
    return names


def _supervised(row: Mapping[str, object], sink: Sink) -> None:
    _unknown_keys(row, _SUPERVISED_KEYS, (), sink)
    tools = _tools(row, (), sink, legacy=True)
    if "messages" not in row:
        sink.error(("messages",), "required")
        return
    messages = row["messages"]
    check_messages(messages, ("messages",), SUPERVISED, sink, tools)
    if isinstance(messages, list) and messages:
        _trains_something(messages, sink)


def _trains_something(messages: list[object], sink: Sink) -> None:
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    weights = [m.get("weight", 1) for m in assistant]
    if not weights:
        sink.error(("messages",), "needs at least one assistant message to train on")
    elif all(type(w) is int and w == 0 for w in weights):
        sink.error(("messages",), "every assistant message has weight 0; nothing is trained on")


def _role(message: object) -> object:
    return message.get("role") if isinstance(message, dict) else None


def _dpo(row: Mapping[str, object], sink: Sink) -> None:
    _unknown_keys(row, _DPO_KEYS, (), sink)
    given = _required(row, "input", (), sink)
    tools = None
    if isinstance(given, dict):
        tools = _dpo_input(given, sink)
    elif "input" in row:
        sink.error(("input",), "must be an object {messages, tools?, parallel_tool_calls?}", given)
    for key in _DPO_KEYS[1:]:
        if key in row:
            _dpo_output(row[key], (key,), sink, tools)
        else:
            sink.error((key,), "required: a list of one assistant message")
    if "preferred_output" in row and row["preferred_output"] == row.get("non_preferred_output"):
        rule = "is the same as preferred_output; the pair teaches nothing"
        sink.warn(("non_preferred_output",), rule)


def _dpo_input(given: Mapping[str, object], sink: Sink) -> frozenset[str] | None:
    _unknown_keys(given, _DPO_INPUT_KEYS, ("input",), sink)
    tools = _tools(given, ("input",), sink)
    messages = _required(given, "messages", ("input",), sink)
    if "messages" in given:
        check_messages(messages, ("input", "messages"), DPO, sink, tools)
    if isinstance(messages, list) and messages and _role(messages[-1]) not in ("user", "tool"):
        rule = "must end with a user message, which both outputs answer"
        sink.error(("input", "messages", len(messages) - 1, "role"), rule, _role(messages[-1]))
    return tools


def _dpo_output(output: object, loc: Loc, sink: Sink, tools: frozenset[str] | None) -> None:
    if not isinstance(output, list) or len(output) != 1:
        sink.error(loc, "must be a list of exactly one assistant message", output)
        return
    if _role(output[0]) != "assistant" and isinstance(output[0], dict):
        sink.error((*loc, 0, "role"), "must be assistant", output[0].get("role"))
        return
    check_message(output[0], (*loc, 0), DPO, sink, tools)


def _reinforcement(row: Mapping[str, object], sink: Sink) -> None:
    tools = _check_tools(row["tools"], ("tools",), sink) if row.get("tools") is not None else None
    if "messages" not in row:
        sink.error(("messages",), "required")
        return
    messages = row["messages"]
    check_messages(messages, ("messages",), REINFORCEMENT, sink, tools)
    if isinstance(messages, list) and messages and _role(messages[-1]) == "assistant":
        rule = "must not be assistant: the last message is the prompt the model answers"
        sink.error(("messages", len(messages) - 1, "role"), rule, "assistant")


_CHECKS: dict[str, Callable[[Mapping[str, object], Sink], None]] = {
    "supervised": _supervised,
    "dpo": _dpo,
    "reinforcement": _reinforcement,
}


# --- examples across rows --------------------------------------------------------------------


def example_key(row: Mapping[str, object], method: str | None = None) -> bytes:
    """A 16-byte digest of what a row trains on (for `method`; the whole row when None), equal for
    two rows that differ only in key order or in fields the method does not read."""
    keys = _TRAINED_KEYS.get(method or "")
    part = row if keys is None else {k: row[k] for k in keys if k in row}
    try:
        text = orjson.dumps(part, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (255 levels), or an
        text = _canonical(part)  # int past 64 bits (never read from JSON, which makes floats)
    return hashlib.blake2b(text, digest_size=16).digest()


def _canonical(value: object) -> bytes:
    """Sorted-key JSON-like bytes of any depth, without recursion (every value ends in a comma,
    so `[1, 2]` and `[12]` differ). Bytes on the stack are closing marks, never values."""
    out: list[bytes] = []
    stack: list[object] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, bytes):
            out.append(node)
        elif isinstance(node, dict):
            out.append(b"{")
            stack.append(b"},")
            for key in sorted(node, reverse=True):
                stack += [node[key], orjson.dumps(key) + b":"]
        elif isinstance(node, list):
            out.append(b"[")
            stack += [b"],", *reversed(node)]
        elif isinstance(node, int) and not isinstance(node, bool):
            out.append(b"%d," % node)
        else:
            out.append(orjson.dumps(node) + b",")
    return b"".join(out)


@dataclass
class Duplicates:
    """Where each example of one file appears, by `example_key`; merge chunks in any order.

    Duplicates are warnings: the service trains on both copies (weighting that example twice,
    and billing it twice), which is rarely meant. A validation row that is also a training row
    makes the validation loss measure memory: `shared_with` reports those."""

    lines: dict[bytes, list[int]] = field(default_factory=dict)

    def add(self, key: bytes, line: int) -> None:
        self.lines.setdefault(key, []).append(line)

    def merge(self, other: Duplicates) -> Duplicates:
        """Add `other`'s lines to this one (in place) and return it."""
        for key, lines in other.lines.items():
            self.lines.setdefault(key, []).extend(lines)
        return self

    def findings(self) -> list[Finding]:
        """A warning at each repeat of an example, naming the line it first appears on."""
        found = []
        for lines in self.lines.values():
            if len(lines) > 1:
                first, *repeats = sorted(lines)
                found += [_repeat(line, f"line {first}") for line in repeats]
        return sorted(found, key=lambda f: f.problem.line or 0)

    def shared_with(self, training: Duplicates) -> list[Finding]:
        """A warning at each of this (validation) file's rows that is also a training row."""
        found = []
        for key, lines in self.lines.items():
            if key in training.lines:
                where = f"line {min(training.lines[key])} of the training file"
                found += [_repeat(line, where) for line in lines]
        return sorted(found, key=lambda f: f.problem.line or 0)


def _repeat(line: int, where: str) -> Finding:
    return Finding(Problem((), f"is the same example as {where}", line=line), "warning")


def over_context(tokens: int, line: int, limit: int = CONTEXT_TOKENS) -> Finding | None:
    """A warning for an example longer than the model's context: the service truncates it to the
    cap, trains on the truncated example, and bills the tokens up to the cap."""
    if tokens <= limit:
        return None
    rule = f"has more tokens than the model's context of {limit:,}: truncated, billed up to it"
    return Finding(Problem((), rule, tokens, line), "warning")


# --- the file --------------------------------------------------------------------------------


def check_counts(method: str, training_rows: int, validation_rows: int | None) -> list[Problem]:
    """The rules over how many examples the files hold; `validation_rows` is None without a
    validation file. A validation file is optional except for reinforcement, has no minimum
    but must not be empty, and only reinforcement caps it."""
    problems: list[Problem] = []
    if training_rows < MIN_TRAINING_EXAMPLES:
        rule = f"needs at least {MIN_TRAINING_EXAMPLES} examples"
        problems.append(Problem(("training_file",), rule, training_rows))
    if method == "reinforcement":
        problems += _reinforcement_counts(training_rows, validation_rows)
    if validation_rows == 0:
        problems.append(Problem(("validation_file",), "holds no examples", 0))
    return problems


def _reinforcement_counts(training_rows: int, validation_rows: int | None) -> list[Problem]:
    problems = []
    if training_rows > MAX_REINFORCEMENT_TRAINING:
        rule = f"reinforcement takes at most {MAX_REINFORCEMENT_TRAINING:,} training examples"
        problems.append(Problem(("training_file",), rule, training_rows))
    if validation_rows is None:
        problems.append(Problem(("validation_file",), "reinforcement needs a validation file"))
    elif validation_rows > MAX_REINFORCEMENT_VALIDATION:
        rule = f"reinforcement takes at most {MAX_REINFORCEMENT_VALIDATION:,} validation examples"
        problems.append(Problem(("validation_file",), rule, validation_rows))
    return problems
