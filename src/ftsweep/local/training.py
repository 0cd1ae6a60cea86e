"""The torch side of a local trial: the model, the datasets, the TRL trainer and its callbacks.

Kept apart from `runner` so that the process contract (lock, status, signals) is in place before
torch, transformers and trl are imported, which takes seconds. `train` returns the final status
("succeeded", or "cancelled" when a signal stopped the loop); it writes `metrics.jsonl` as
training goes and `result.csv` and `trained_tokens` when it ends, however it ends.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep.local import data, metrics

if TYPE_CHECKING:
    from ftsweep.local.mapping import TrialPlan
    from ftsweep.local.runner import StatusFile, Stop

__all__ = ["KNOWN_WARNINGS", "ModelError", "train"]


class ModelError(OSError):
    """`local.model` names no model that loads here."""

    code = "model_not_found"


#: Warnings TRL and transformers raise on a correct configuration, ignored here only:
#: (message regex, category).
KNOWN_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # TRL's configs default `gradient_checkpointing=True`, a field transformers 5 renamed, and
    # TRL calls the old model methods (`gradient_checkpointing_enable` and the like).
    (r"`(is_)?gradient_checkpointing(_enable|_disable|_kwargs)?` is deprecated", FutureWarning),
)

#: The config values recorded in status.json's `trl`, when the config has them.
_RECORDED = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "beta",
    "eval_strategy",
    "eval_steps",
    "per_device_eval_batch_size",
    "num_generations",
    "generation_batch_size",
    "max_length",
    "max_completion_length",
    "chat_template_kwargs",
    "seed",
)


def _quiet() -> None:
    for message, category in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def _select_device(local: Mapping[str, Any]) -> str:
    """The device string: `auto` (or none) is `cuda` when torch sees a GPU, else `cpu`;
    `cuda:N` (N > 0) becomes CUDA_VISIBLE_DEVICES=N unless already set."""
    device = str(local.get("device") or "auto")
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if (
        device.startswith("cuda:")
        and device != "cuda:0"
        and "CUDA_VISIBLE_DEVICES" not in os.environ
    ):
        os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    return device


def _load(local: Mapping[str, Any]) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = str(local["model"])
    folder = Path(name).is_dir()
    if not folder and (name.startswith((".", "~")) or Path(name).is_absolute()):
        raise ModelError(f"the model folder {name} does not exist")
    offline = not folder and not local.get("allow_download")
    kwargs = {"local_files_only": True} if offline else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=_dtype(local), **kwargs)
    except OSError as error:
        where = "" if folder or not offline else " (not in the local Hugging Face cache)"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"cannot load the model {name}{where}: {first}") from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model


def _dtype(local: Mapping[str, Any]) -> Any:
    """The weights' dtype: `auto` is the checkpoint's own (bfloat16 for most released models,
    float32 for the tiny one)."""
    name = str(local.get("dtype") or "auto")
    if name == "auto":
        return "auto"
    import torch

    return getattr(torch, name)


def _training_template(tokenizer: Any) -> str | None:
    """None when the tokenizer's template has generation markers, else TRL's training one."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if tokenizer.chat_template and has_generation_markers(tokenizer.chat_template):
        return None
    template = get_training_chat_template(tokenizer)
    if template is None or not has_generation_markers(template):
        raise ValueError(
            "the model's chat template has no {% generation %} markers and TRL ships no training "
            "template for it, so the loss cannot be limited to assistant turns"
        )
    return str(template)


def _datasets(
    plan: TrialPlan, tokenizer: Any, train_rows: list[data.Row], valid_rows: list[data.Row] | None
) -> tuple[Any, Any, Any]:
    """(train, periodic validation sample, whole validation file) as `datasets.Dataset`."""
    from datasets import Dataset

    if plan.method == "supervised":
        template = _training_template(tokenizer)
        train_rows = data.tokenize_supervised(train_rows, tokenizer, chat_template=template)
        if valid_rows is not None:
            valid_rows = data.tokenize_supervised(valid_rows, tokenizer, chat_template=template)
    train = Dataset.from_list(train_rows)
    if not valid_rows or plan.valid_rows is None:
        return train, None, None
    return train, Dataset.from_list(valid_rows[: plan.valid_rows]), Dataset.from_list(valid_rows)


def _config(plan: TrialPlan, local: Mapping[str, Any], out: Path, device: str) -> Any:
    common: dict[str, Any] = {
        "output_dir": str(out / "trainer"),
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": device == "cpu",
        **plan.trl,
    }
    if plan.method == "reinforcement":
        from trl.trainer.grpo_config import GRPOConfig

        if local.get("max_completion_length"):
            common["max_completion_length"] = int(local["max_completion_length"])
        return GRPOConfig(**common)
    common["include_num_input_tokens_seen"] = "non_padding"
    if local.get("max_length"):
        common["max_length"] = int(local["max_length"])
    if plan.method == "dpo":
        from trl.trainer.dpo_config import DPOConfig

        return DPOConfig(**common)
    from trl.trainer.sft_config import SFTConfig

    return SFTConfig(**common)


def _rewards(body: Mapping[str, Any], local: Mapping[str, Any]) -> list[Any]:
    """The grader's reward functions (`ftsweep.local.graders`); a judge from `local.judge`."""
    from ftsweep.local.graders import reward_functions
    from ftsweep.local.judge import JudgeSettings

    judge = local.get("judge")
    grader = body["method"]["reinforcement"]["grader"]
    return list(
        reward_functions(
            grader,
            judge=JudgeSettings.model_validate(judge) if judge else None,
            allow_python_grader=bool(local.get("allow_python_grader", False)),
        )
    )


def _trainer(
    plan: TrialPlan, body: Mapping[str, Any], local: Mapping[str, Any], parts: Sequence[Any]
) -> Any:
    config, model, tokenizer, train, valid = parts
    peft_config = None
    if local.get("lora"):
        from peft import LoraConfig

        peft_config = LoraConfig(task_type="CAUSAL_LM", **dict(local["lora"]))
    kwargs: dict[str, Any] = {
        "model": model,
        "args": config,
        "train_dataset": train,
        "eval_dataset": valid,
        "processing_class": tokenizer,
        "peft_config": peft_config,
    }
    if plan.method == "reinforcement":
        from trl.trainer.grpo_trainer import GRPOTrainer

        return GRPOTrainer(reward_funcs=_rewards(body, local), **kwargs)
    if plan.method == "dpo":
        from trl.trainer.dpo_trainer import DPOTrainer

        return DPOTrainer(**kwargs)
    from trl.trainer.sft_trainer import SFTTrainer

    return SFTTrainer(**kwargs)


def _recorder(out: Path, stop: Stop, full: Any) -> Any:
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        """Appends OpenAI-named metrics per log; evaluates the whole file at each epoch end;
        stops the loop at the end of a step once a cancel was asked for."""

        def __init__(self) -> None:
            self.records: list[dict[str, Any]] = []
            self.trainer: Any = None
            self.full = False
            self.handle = open(out / "metrics.jsonl", "w", encoding="utf-8")  # noqa: SIM115

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            record = metrics.translate(kwargs.get("logs") or {}, full=self.full)
            if not record:
                return
            record = {"step": state.global_step, "total_steps": state.max_steps, **record}
            self.records.append(record)
            self.handle.write(json.dumps(record) + "\n")
            self.handle.flush()
            os.fsync(self.handle.fileno())

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stop.requested:
                control.should_training_stop = True

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if full is None or stop.requested or self.trainer is None:
                return
            self.full = True
            try:
                self.trainer.evaluate(eval_dataset=full)
            finally:
                self.full = False

    return Recorder()


def train(
    plan: TrialPlan,
    body: Mapping[str, Any],
    local: Mapping[str, Any],
    train_rows: list[data.Row],
    valid_rows: list[data.Row] | None,
    out: Path,
    status: StatusFile,
    stop: Stop,
) -> str:
    """Train the planned trial; the final status."""
    from ftsweep.local.runner import log_phase

    _quiet()
    device = _select_device(local)
    _import(plan.method)
    log_phase("torch, transformers and trl imported")
    tokenizer, model = _load(local)
    stop.check()
    train_set, valid_set, full_set = _datasets(plan, tokenizer, train_rows, valid_rows)
    config = _config(plan, local, out, device)
    status.write(trl={k: getattr(config, k) for k in _RECORDED if hasattr(config, k)})
    trainer = _trainer(plan, body, local, (config, model, tokenizer, train_set, valid_set))
    recorder = _recorder(out, stop, full_set)
    recorder.trainer = trainer
    trainer.add_callback(recorder)
    parameters = list(trainer.model.parameters())
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    total = sum(p.numel() for p in parameters)
    log_phase(f"model loaded ({trainable} of {total} parameters trained), data tokenized")
    stop.check()
    stop.training = True
    try:
        trainer.train()
    finally:
        stop.training = False
        _finish(plan, trainer, recorder, out, status)
        log_phase("training ended")
    if stop.requested:
        return "cancelled"
    _save(trainer, tokenizer, out / "model")
    log_phase("model saved")
    return "succeeded"


def _save(trainer: Any, tokenizer: Any, folder: Path) -> None:
    """The fine-tuned model (the adapter, with LoRA) and its tokenizer, which the job reports as
    `fine_tuned_model`: written beside and renamed into place, so a folder there is whole."""
    import shutil

    temporary = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    trainer.save_model(str(temporary))
    tokenizer.save_pretrained(str(temporary))
    os.replace(temporary, folder)


def _import(method: str) -> None:
    """Import the heavy libraries up front, so that runner.log times them apart."""
    import torch  # noqa: F401
    import transformers  # noqa: F401

    if method == "reinforcement":
        from trl.trainer.grpo_trainer import GRPOTrainer  # noqa: F401
    elif method == "dpo":
        from trl.trainer.dpo_trainer import DPOTrainer  # noqa: F401
    else:
        from trl.trainer.sft_trainer import SFTTrainer  # noqa: F401


def _finish(plan: TrialPlan, trainer: Any, recorder: Any, out: Path, status: StatusFile) -> None:
    from ftsweep.local.runner import atomic_write

    recorder.handle.close()
    atomic_write(out / "result.csv", metrics.result_csv(plan.method, recorder.records))
    tokens = trainer.state.num_input_tokens_seen if plan.method != "reinforcement" else None
    status.write(trained_tokens=tokens, total_steps=trainer.state.max_steps or plan.planned_steps)
