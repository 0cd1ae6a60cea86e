"""OpenAI training rows as the rows TRL's trainers take.

- supervised: `{"messages": [...], "tools"?: [...]}` (TRL's conversational type). TRL ignores an
  assistant message's `"weight": 0` silently, so `tokenize_supervised` tokenizes each row itself
  with the chat template and returns `input_ids` and `assistant_masks` in which the tokens of a
  weight-0 turn are 0; SFTTrainer turns those masks into `labels` (-100 where the mask is 0), so
  only assistant turns of weight 1 carry loss, as on the service.
- dpo: `input.messages` -> `prompt`, `preferred_output` -> `chosen`, `non_preferred_output` ->
  `rejected` (conversational).
- reinforcement: `{"prompt": messages, **every other field}`: GRPOTrainer hands the other
  columns to the reward functions as keyword arguments, which is what `{{ item.* }}` reads.

Every row: the `developer` role becomes `system` (Qwen-style templates drop `developer`), a
content given as a list of text parts becomes one string, a null content an empty string. A bad
row raises `DataError` naming the file and line of every bad row (up to twenty).

Pure Python: the tokenizer is passed in, nothing here imports torch, transformers or trl.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DataError",
    "convert",
    "dpo_row",
    "read_rows",
    "reinforcement_row",
    "supervised_row",
    "tokenize_supervised",
]

_ROLES = {"system", "user", "assistant", "tool", "developer"}
_SHOWN = 20
Row = dict[str, Any]


class DataError(ValueError):
    """Rows of a data file that cannot be trained on; the message names file and line of each."""


def read_rows(path: str | Path) -> list[tuple[int, Any]]:
    """The (line number, parsed JSON) of each non-blank line of a JSON Lines file."""
    rows, problems = _parse(path)
    _raise([f"{path}:{number}: {problem}" for number, problem in problems])
    return rows


def _parse(path: str | Path) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    rows: list[tuple[int, Any]] = []
    problems: list[tuple[int, str]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                problems.append((number, f"not JSON ({error.msg})"))
    return rows, problems


def _raise(problems: Sequence[str]) -> None:
    if not problems:
        return
    more = f"\n... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    raise DataError("\n".join(problems[:_SHOWN]) + more)


def _content(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, Mapping) and "text" in p for p in value):
        return "".join(str(p["text"]) for p in value)
    raise ValueError(f"content must be a string or a list of text parts, got {value!r:.60}")


def _message(message: Any) -> Row:
    if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
        raise ValueError(f"each message needs a role among {sorted(_ROLES)}, got {message!r:.60}")
    out = dict(message)
    out["role"] = "system" if message["role"] == "developer" else message["role"]
    out["content"] = _content(message.get("content"))
    if message["role"] != "assistant":
        out.pop("weight", None)
    elif out.get("weight", 1) not in (0, 1):
        raise ValueError(f"an assistant message's weight must be 0 or 1, got {out['weight']!r}")
    return out


def _messages(value: Any, name: str) -> list[Row]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{name} must be a non-empty list of messages")
    return [_message(m) for m in value]


def supervised_row(row: Any) -> Row:
    """`{"messages": [...], "tools"?}`, messages normalised, weights kept for tokenizing."""
    if not isinstance(row, Mapping):
        raise ValueError("a row must be a JSON object")
    messages = _messages(row.get("messages"), "messages")
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError("messages hold no assistant message to learn from")
    out: Row = {"messages": messages}
    if row.get("tools"):
        out["tools"] = row["tools"]
    return out


def _assistant(value: Any, name: str) -> list[Row]:
    messages = _messages(value, name)
    if messages[-1]["role"] != "assistant":
        raise ValueError(f"{name} must end with an assistant message")
    return [{k: v for k, v in m.items() if k != "weight"} for m in messages]


def dpo_row(row: Any) -> Row:
    """`{"prompt", "chosen", "rejected"}` from `input.messages` and the two outputs."""
    if not isinstance(row, Mapping) or not isinstance(row.get("input"), Mapping):
        raise ValueError("a DPO row needs an object 'input' holding 'messages'")
    return {
        "prompt": _messages(row["input"].get("messages"), "input.messages"),
        "chosen": _assistant(row.get("preferred_output"), "preferred_output"),
        "rejected": _assistant(row.get("non_preferred_output"), "non_preferred_output"),
    }


def reinforcement_row(row: Any) -> Row:
    """`{"prompt": messages, **every other field}` for GRPOTrainer and the reward functions."""
    if not isinstance(row, Mapping):
        raise ValueError("a row must be a JSON object")
    if "prompt" in row:
        raise ValueError(
            "a reinforcement row may not have a field named 'prompt' (TRL's prompt column)"
        )
    fields = {k: v for k, v in row.items() if k != "messages"}
    return {"prompt": _messages(row.get("messages"), "messages"), **fields}


_CONVERTERS: dict[str, Callable[[Any], Row]] = {
    "supervised": supervised_row,
    "dpo": dpo_row,
    "reinforcement": reinforcement_row,
}


def convert(method: str, path: str | Path) -> list[Row]:
    """Every row of the data file at `path` converted for `method`; DataError lists bad rows."""
    rows: list[Row] = []
    parsed, problems = _parse(path)
    for number, row in parsed:
        try:
            rows.append(_CONVERTERS[method](row))
        except ValueError as error:
            problems.append((number, str(error)))
    if not rows and not problems:
        raise DataError(f"{path}: no rows")
    _raise([f"{path}:{number}: {problem}" for number, problem in sorted(problems)])
    return rows


def _runs(mask: Sequence[int]) -> list[tuple[int, int]]:
    """The [start, end) spans of consecutive 1s."""
    runs: list[tuple[int, int]] = []
    for i, bit in enumerate(mask):
        if bit and (not runs or runs[-1][1] != i):
            runs.append((i, i + 1))
        elif bit:
            runs[-1] = (runs[-1][0], i + 1)
    return runs


def _weighted_mask(mask: list[int], weights: Sequence[int]) -> list[int]:
    """The assistant mask with the spans of weight-0 turns zeroed: the template renders one span
    per assistant turn, in order."""
    if all(weights):
        return mask
    runs = _runs(mask)
    if len(runs) != len(weights):
        raise ValueError(
            f"the chat template renders {len(runs)} assistant spans for {len(weights)} assistant "
            "turns, so weight 0 cannot be applied"
        )
    out = list(mask)
    for (start, end), weight in zip(runs, weights, strict=True):
        if not weight:
            out[start:end] = [0] * (end - start)
    return out


def _tokenize(row: Row, tokenizer: Any, chat_template: str | None) -> Row:
    weights = [int(m.get("weight", 1)) for m in row["messages"] if m["role"] == "assistant"]
    messages = [{k: v for k, v in m.items() if k != "weight"} for m in row["messages"]]
    encoded = tokenizer.apply_chat_template(
        messages,
        tools=row.get("tools"),
        chat_template=chat_template,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids = list(encoded["input_ids"])
    mask = _weighted_mask(list(encoded["assistant_masks"]), weights)
    return {"input_ids": ids, "assistant_masks": mask}


def tokenize_supervised(
    rows: Iterable[Row], tokenizer: Any, *, chat_template: str | None = None, path: str = "data"
) -> list[Row]:
    """`input_ids` and `assistant_masks` per supervised row (weight-0 turns masked), with the
    tokenizer's chat template or `chat_template`, which must carry `{% generation %}` markers."""
    out: list[Row] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        try:
            out.append(_tokenize(row, tokenizer, chat_template))
        except ValueError as error:
            problems.append(f"{path}: row {number}: {error}")
    _raise(problems)
    return out
