"""Offline token counts of training examples, the way OpenAI's cookbook counts chat.

A chat example costs 3 tokens per message, plus the tokens of each of its string fields, plus 1
per `name`, plus 3 that prime the reply (API_FACTS section 10). Beyond the cookbook's plain
string messages:

- content given as a list of parts counts its text parts; image, audio and file parts are not
  text and count nothing here (the service bills them its own way);
- `tool_calls` count the function name and the arguments' JSON text of each call;
- a `tools` list counts the compact JSON text of each definition: an approximation, since the
  service renders definitions into its own prompt format, which is not published;
- `weight` is a training switch, not text, and never counts.

The tokenizer follows the model's family (`tokenizer_for`), with an override naming an
encoding for models it does not know. Text that looks like a special token (`<|endoftext|>`)
counts as the ordinary text it is. See `_encodings` for where the tables come from and why.

Counting never raises on a malformed row: a separate checker reports format problems, so here
whatever is countable counts and the rest is skipped. Counts are per example and uncapped;
callers cap each at `CONTEXT_LIMIT` (API_FACTS section 5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ftsweep.data import _encodings
from ftsweep.errors import PlanError

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "CONTEXT_LIMIT",
    "METHODS",
    "Tokenizer",
    "count_example",
    "count_messages",
    "encoding_name_for",
    "example_texts",
    "tokenizer_for",
]

CONTEXT_LIMIT = 65_536
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
METHODS = ("supervised", "dpo", "reinforcement")

# Model families, most specific first. A fine-tuned model (`ft:BASE:org::id`) counts as BASE;
# tiktoken's own table sends `ft:gpt-4.1-*` to cl100k_base (its `ft:gpt-4` prefix), wrongly.
_FAMILIES = (
    (re.compile(r"(chatgpt-4o|gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(?=$|[-.:_])"), "o200k_base"),
    (re.compile(r"(gpt-4|gpt-3\.5|gpt-35|davinci-002|babbage-002)(?=$|[-.:_])"), "cl100k_base"),
)


class Tokenizer:
    """One encoding: exact ids from tiktoken, counts from the fast counter when it is exact.

    Both load on first use, so making a Tokenizer is free; `tokenizer_for` also checks the
    table's sha256 up front. `table` points the loader at another copy of the table (tests use
    it to show that a damaged one is refused) and then tiktoken counts too, as does `fast=False`
    (the benchmark's comparison)."""

    def __init__(self, name: str, *, table: Path | None = None, fast: bool = True) -> None:
        if name not in _encodings.ENCODINGS:
            known = ", ".join(_encodings.ENCODINGS)
            raise PlanError(f"unknown tokenizer {name!r}: ftsweep counts offline with {known}")
        self.name = name
        self.table = table
        self._fast = fast
        self._encoding: tiktoken.Encoding | None = None

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r})"

    @property
    def encoding(self) -> tiktoken.Encoding:
        """tiktoken's encoding, built from the verified table the first time it is needed."""
        if self._encoding is None:
            self._encoding = _encodings.build_encoding(self.name, self.table)
        return self._encoding

    @property
    def counter(self) -> str:
        """Which library counts: "toktok-rs" (fast) or "tiktoken"."""
        return "toktok-rs" if self._counter() is not None else "tiktoken"

    def verify(self) -> None:
        """Check the table's sha256 now (without building the encoding), so a missing or damaged
        table is reported before a long count rather than trusted."""
        _verified(self.name, self.table)

    def encode(self, text: str) -> list[int]:
        """The token ids of `text`, special-token text counted as ordinary text."""
        return self.encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """The count of each text, in order: one call into the fast counter for the lot."""
        counter = self._counter()
        if counter is None:
            encode = self.encoding.encode_ordinary
            return [len(encode(text)) for text in texts]
        try:
            return counter(texts)
        except UnicodeEncodeError:  # lone surrogates: replaced as tiktoken replaces them
            return counter([_scrub(text) for text in texts])

    def _counter(self) -> _encodings.Counter | None:
        return _encodings.fast_counter(self.name) if self._fast and self.table is None else None


def _scrub(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@cache
def _verified(name: str, table: Path | None) -> None:
    _encodings.verified_table(name, table)


@cache
def _tokenizer(name: str) -> Tokenizer:
    tokenizer = Tokenizer(name)
    tokenizer.verify()
    return tokenizer


def encoding_name_for(model: str) -> str | None:
    """The encoding of `model`'s family, or None for a model ftsweep does not know."""
    base = model.strip().lower()
    if base.startswith("ft:"):
        base = base[3:].split(":", 1)[0]
    for pattern, name in _FAMILIES:
        if pattern.match(base):
            return name
    return None


def tokenizer_for(model: str | None, override: str | None = None) -> Tokenizer:
    """The tokenizer of `model`'s family, or the one `override` names; one per process.

    A model whose tokenizer cannot be counted offline (or that ftsweep does not know) is
    refused with the way out, rather than counted with a guess."""
    name = override or (encoding_name_for(model) if model else None)
    if name is None:
        what = f"model {model!r}" if model else "a sweep with no model"
        raise PlanError(
            f"no offline tokenizer is known for {what}: set the override, e.g. "
            f"`tokenizer: o200k_base` (gpt-4o, gpt-4.1, o-series) or `tokenizer: cl100k_base`"
        )
    if name not in _encodings.ENCODINGS:
        known = ", ".join(_encodings.ENCODINGS)
        raise PlanError(f"unknown tokenizer {name!r}: ftsweep counts offline with {known}")
    return _tokenizer(name)


def example_texts(row: Mapping[str, object], method: str) -> tuple[list[str], int]:
    """The strings of one example that count as text, and the tokens its structure adds.

    The count of the example is the fixed part plus the tokens of every string; the split lets a
    caller count the strings of many examples in one batch. supervised and reinforcement count
    `messages` and `tools` (a reinforcement row's other fields are what graders read, not trained
    text); dpo counts `input.messages`, `input.tools` and both outputs, primed once."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    texts: list[str] = []
    if method != "dpo":
        return texts, _chat_texts(row.get("messages"), row.get("tools"), texts)
    prompt = row.get("input")
    fixed = 0
    if isinstance(prompt, Mapping):
        fixed = _chat_texts(prompt.get("messages"), prompt.get("tools"), texts)
    for key in ("preferred_output", "non_preferred_output"):
        fixed += _messages_texts(row.get(key), texts)
    return texts, fixed


def count_example(
    row: Mapping[str, object], method: str, tokenizer: Tokenizer | None = None
) -> int:
    """The tokens of one training example of `method` (default tokenizer: o200k_base)."""
    texts, fixed = example_texts(row, method)
    return fixed + sum((tokenizer or _tokenizer("o200k_base")).count_many(texts))


def count_messages(
    messages: object, tools: object = None, tokenizer: Tokenizer | None = None
) -> int:
    """The cookbook count of a chat (`messages` plus its `tools` definitions, reply primed)."""
    texts: list[str] = []
    fixed = _chat_texts(messages, tools, texts)
    return fixed + sum((tokenizer or _tokenizer("o200k_base")).count_many(texts))


def _chat_texts(messages: object, tools: object, out: list[str]) -> int:
    fixed = _messages_texts(messages, out)
    if isinstance(messages, list):
        fixed += REPLY_PRIMING
    if isinstance(tools, list):
        for tool in tools:
            _add_json(tool, out)
    return fixed


def _messages_texts(messages: object, out: list[str]) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(_message_texts(message, out) for message in messages)


def _message_texts(message: object, out: list[str]) -> int:
    if not isinstance(message, Mapping):
        return 0
    fixed = TOKENS_PER_MESSAGE
    for key, value in message.items():
        if key == "weight":
            continue
        if isinstance(value, str):
            out.append(value)
            fixed += TOKENS_PER_NAME if key == "name" else 0
        elif key == "content" and isinstance(value, list):
            out.extend(_part_texts(value))
        elif key == "tool_calls" and isinstance(value, list):
            for call in value:
                if isinstance(call, Mapping):
                    _function_texts(call.get("function"), out)
        elif key == "function_call":
            _function_texts(value, out)
    return fixed


def _part_texts(parts: list[object]) -> list[str]:
    """The text of the text parts; image, audio and file parts are not text."""
    return [
        part["text"]
        for part in parts
        if isinstance(part, Mapping)
        and part.get("type", "text") == "text"
        and isinstance(part.get("text"), str)
    ]


def _function_texts(function: object, out: list[str]) -> None:
    if not isinstance(function, Mapping):
        return
    name, arguments = function.get("name"), function.get("arguments")
    if isinstance(name, str):
        out.append(name)
    if isinstance(arguments, str):
        out.append(arguments)
    elif arguments is not None:
        _add_json(arguments, out)


def _add_json(value: object, out: list[str]) -> None:
    try:
        out.append(orjson.dumps(value).decode())
    except TypeError:  # not JSON (a library caller's object): nothing countable
        pass
