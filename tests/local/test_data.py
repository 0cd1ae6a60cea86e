"""OpenAI rows -> TRL rows (ftsweep.local.data), weight-0 masking included."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ftsweep.local.data import (
    DataError,
    convert,
    dpo_row,
    reinforcement_row,
    supervised_row,
    tokenize_supervised,
)

Jsonl = Callable[[str, list[Mapping[str, Any]]], Path]


def chat(*turns: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **extra}


def test_supervised_rows_keep_messages_and_tools_with_developer_as_system() -> None:
    row = supervised_row(
        chat(
            ("developer", "Be brief."),
            ("user", "Hi"),
            ("assistant", "Hello"),
            tools=[{"type": "function"}],
        )
    )
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["tools"] == [{"type": "function"}]


def test_content_parts_and_null_content_become_strings() -> None:
    row = supervised_row(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
                {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
            ]
        }
    )
    assert [m["content"] for m in row["messages"]] == ["ab", ""]


def test_dpo_rows() -> None:
    row = dpo_row(
        {
            "input": {
                "messages": [
                    {"role": "developer", "content": "s"},
                    {"role": "user", "content": "q"},
                ]
            },
            "preferred_output": [{"role": "assistant", "content": "good"}],
            "non_preferred_output": [{"role": "assistant", "content": "bad"}],
        }
    )
    assert row == {
        "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }


def test_reinforcement_rows_carry_every_other_field() -> None:
    row = reinforcement_row(chat(("user", "2+2?"), reference_answer="4", meta={"k": 1}))
    assert row == {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "reference_answer": "4",
        "meta": {"k": 1},
    }


def test_bad_rows_name_file_and_line(jsonl: Jsonl) -> None:
    path = jsonl(
        "bad.jsonl",
        [chat(("user", "q"), ("assistant", "a")), {"messages": "x"}, chat(("user", "q"))],
    )
    with path.open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(DataError) as caught:
        convert("supervised", path)
    message = str(caught.value)
    assert f"{path}:2: messages must be a non-empty list of messages" in message
    assert f"{path}:3: messages hold no assistant message" in message
    assert f"{path}:4: not JSON" in message


def test_dpo_and_reinforcement_errors(jsonl: Jsonl) -> None:
    with pytest.raises(DataError, match=r"dpo.jsonl:1: a DPO row needs an object 'input'"):
        convert("dpo", jsonl("dpo.jsonl", [chat(("user", "q"))]))
    with pytest.raises(DataError, match=r"rl.jsonl:1: .*field named 'prompt'"):
        convert("reinforcement", jsonl("rl.jsonl", [chat(("user", "q"), prompt="x")]))
    with pytest.raises(DataError, match="weight must be 0 or 1"):
        convert(
            "supervised",
            jsonl("w.jsonl", [{"messages": [{"role": "assistant", "content": "a", "weight": 2}]}]),
        )
    with pytest.raises(DataError, match="no rows"):
        convert("supervised", jsonl("empty.jsonl", []))


def _masked_text(tokenizer: Any, row: dict[str, Any]) -> str:
    (encoded,) = tokenize_supervised([supervised_row(row)], tokenizer)
    kept = [
        t for t, bit in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if bit
    ]
    return str(tokenizer.decode(kept))


def test_only_assistant_turns_of_weight_one_are_in_the_mask(tiny_tokenizer: Any) -> None:
    row = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "first answer", "weight": 0},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "second answer"},
        ]
    }
    assert _masked_text(tiny_tokenizer, row) == "\nsecond answer<|im_end|>\n"
    row["messages"][2]["weight"] = 1
    assert (
        _masked_text(tiny_tokenizer, row) == "\nfirst answer<|im_end|>\n\nsecond answer<|im_end|>\n"
    )


def test_developer_message_reaches_the_template(tiny_tokenizer: Any) -> None:
    (encoded,) = tokenize_supervised(
        [supervised_row(chat(("developer", "Be brief."), ("user", "q"), ("assistant", "a")))],
        tiny_tokenizer,
    )
    text = tiny_tokenizer.decode(encoded["input_ids"])
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>")


def test_weight_zero_turns_carry_no_loss_in_the_collated_batch(
    tiny_model: Path, tiny_tokenizer: Any, tmp_path: Path
) -> None:
    """Through SFTTrainer itself: the labels of the batch it trains on are -100 on the weight-0
    turn and on everything that is not an assistant turn."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from ftsweep.local.training import _quiet

    _quiet()
    rows = [
        supervised_row(
            {
                "messages": [
                    {"role": "user", "content": "one"},
                    {"role": "assistant", "content": "first answer", "weight": 0},
                    {"role": "user", "content": "two"},
                    {"role": "assistant", "content": "second answer"},
                ]
            }
        )
    ]
    dataset = Dataset.from_list(tokenize_supervised(rows, tiny_tokenizer))
    config = SFTConfig(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=1
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        args=config,
        train_dataset=dataset,
        processing_class=tiny_tokenizer,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["labels"][0].tolist()
    trained = [t for t in labels if t != -100]
    assert tiny_tokenizer.decode(trained) == "\nsecond answer<|im_end|>\n"
