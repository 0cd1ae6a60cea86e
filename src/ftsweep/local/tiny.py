"""A tiny causal language model and tokenizer, built here: `python -m ftsweep.local.tiny FOLDER`.

For tests and the README's demo: a Qwen2 model of a few thousand parameters (hidden size 16, two
layers) and a byte-level BPE tokenizer trained with the `tokenizers` library over a built-in
text, so any text encodes and nothing is downloaded. The chat template is TRL's own Qwen2.5
training template (`trl/chat_templates/qwen2_5_training.jinja`), which carries `{% generation %}`
markers, so `return_assistant_tokens_mask` and `assistant_only_loss=True` work. Both are saved
with `save_pretrained`, so `from_pretrained(FOLDER)` loads them offline.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

__all__ = ["SPECIAL_TOKENS", "build", "main"]

#: Qwen2.5's special tokens: the end of text (padding here) and the chat turn markers.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_TEXT = """\
You are a helpful assistant. The user asks a question and the assistant answers it.
What is the capital of France? Paris. What is two plus two? Four. Say yes or no. Yes.
The quick brown fox jumps over the lazy dog. A tiny model learns a tiny task.
system user assistant tool function arguments name content role answer question
0 1 2 3 4 5 6 7 8 9 10 + - * / = ( ) [ ] { } " ' : ; , . ! ? hello world good bad
"""


def _tokenizer(vocab_size: int) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_TEXT.splitlines() * 4, trainer=trainer)
    template = resources.files("trl").joinpath("chat_templates/qwen2_5_training.jinja").read_text()
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=template,
        model_max_length=512,
    )


def build(folder: str | Path, *, hidden: int = 16, layers: int = 2, vocab_size: int = 320) -> Path:
    """Build the tiny model and tokenizer into `folder` (created); return its path."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(vocab_size)
    size = len(tokenizer)  # type: ignore[arg-type]
    config = Qwen2Config(
        vocab_size=size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m ftsweep.local.tiny FOLDER", file=sys.stderr)
        return 2
    print(build(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
