"""Every body `JobRequest.to_body()` emits, checked strictly against the official SDK's types.

How the check is made strict: `TypeAdapter` refuses a `config` for a TypedDict itself, so the SDK
type is wrapped in a one-element `list[...]`; that config (`strict=True, extra="forbid"`) then
reaches every nested TypedDict, none of which carries a config of its own, so a wrong field name
or an extra key fails instead of being ignored. Fields the SDK types as `Iterable[...]` (grader
messages, `range`, `integrations`) validate lazily into a `ValidatorIterator`: `sdk_check`
consumes them, which runs the same strict, extra-forbidding validation on every item.

Where ours deliberately differs from the SDK (API_FACTS section 3), a test says so explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.fine_tuning.job_create_params import JobCreateParams
from openai.types.fine_tuning.reinforcement_method_param import ReinforcementMethodParam
from openai.types.graders.multi_grader_param import Graders, MultiGraderParam
from pydantic import ConfigDict, TypeAdapter, ValidationError

from ftsweep.api import EVALUATION_METRICS, JobRequest, parse_grader

from .test_graders import (
    CONTENT_FORMS,
    label_model,
    messages,
    multi,
    python_grader,
    score_model,
    string_check,
    text_similarity,
)
from .test_job import FULL_JOB, job, rl_job
from .test_methods import response_format

_STRICT = ConfigDict(strict=True, extra="forbid")


@cache
def _adapter(sdk_type: Any) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[sdk_type], config=_STRICT)


def _consume(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _consume(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str):
        return [_consume(item) for item in value]  # lists, tuples and ValidatorIterators
    return value


def sdk_check(data: Any, sdk_type: Any = JobCreateParams) -> Any:
    """Validate `data` as `sdk_type`, strictly and refusing extra keys, Iterables included."""
    (validated,) = _adapter(sdk_type).validate_python([data])
    return _consume(validated)


def body(raw: dict[str, Any]) -> dict[str, Any]:
    return JobRequest.model_validate(raw).to_body()


def _supervised(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    return job(method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}})


# --- the checker is strict -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (job(suffixx="x"), "suffixx\n  Extra inputs are not permitted"),
        (job(seed="1"), "seed\n  Input should be a valid integer"),
        (job(seed=1.0), "seed\n  Input should be a valid integer"),
        (_supervised({"n_epoch": 3}), "n_epoch\n  Extra inputs are not permitted"),
        (_supervised({"n_epochs": 3.0}), "n_epochs.int\n  Input should be a valid integer"),
        (job(integrations=[{"type": "wandb", "wandb": {"project": "p", "x": 1}}]), "wandb.x\n"),
        (rl_job(score_model(input=[{"role": "user", "content": "c", "x": 1}])), "0.x\n"),
        (rl_job(score_model(range=["0", 1])), "0\n  Input should be a valid number"),
    ],
)
def test_the_sdk_check_catches_names_types_and_extras(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        sdk_check(raw)


# --- bodies we emit --------------------------------------------------------------------------

SUPERVISED = {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.5}
DPO = {**SUPERVISED, "beta": 0.1}
REINFORCEMENT = {
    **SUPERVISED,
    "compute_multiplier": 2,
    "eval_interval": 5,
    "eval_samples": "auto",
    "reasoning_effort": "medium",
}

BODIES = {
    "supervised-minimal": job(),
    "supervised-full": FULL_JOB,
    "supervised-hyperparameters": _supervised(SUPERVISED),
    "supervised-empty": job(method={"type": "supervised", "supervised": {}}),
    "dpo": job(method={"type": "dpo", "dpo": {"hyperparameters": DPO}}),
    "reinforcement-hyperparameters": job(
        validation_file="file-valid",
        method={
            "type": "reinforcement",
            "reinforcement": {"grader": python_grader(), "hyperparameters": REINFORCEMENT},
        },
    ),
    "python-image-tag": rl_job(python_grader(image_tag="2025-05-08")),
    "score-model-sampling": rl_job(
        score_model(
            range=[-1, 1.5],
            sampling_params={
                "max_completions_tokens": 512,
                "reasoning_effort": "low",
                "seed": 3,
                "temperature": 0.7,
                "top_p": 1,
            },
        )
    ),
    **{f"string-check-{op}": rl_job(string_check(operation=op)) for op in ("eq", "ilike")},
    **{
        f"text-similarity-{metric}": rl_job(text_similarity(evaluation_metric=metric))
        for metric in EVALUATION_METRICS
        if metric != "cosine"
    },
    **{
        f"score-model-{form}": rl_job(score_model(input=messages(content)))
        for form, content in CONTENT_FORMS.items()
    },
}


@pytest.mark.parametrize("name", BODIES)
def test_emitted_body_is_a_valid_sdk_request(name: str) -> None:
    emitted = body(BODIES[name])
    assert sdk_check(emitted) == emitted


@settings(max_examples=50)
@given(
    n_epochs=st.just("auto") | st.integers(1, 50),
    batch_size=st.just("auto") | st.integers(1, 256),
    lr=st.just("auto") | st.floats(1e-6, 10),
    beta=st.just("auto") | st.floats(0.001, 2),
    kind=st.sampled_from(["supervised", "dpo"]),
)
def test_any_valid_hyperparameters_make_a_valid_sdk_request(
    n_epochs: Any, batch_size: Any, lr: Any, beta: Any, kind: str
) -> None:
    hp = {"n_epochs": n_epochs, "batch_size": batch_size, "learning_rate_multiplier": lr}
    hp |= {"beta": beta} if kind == "dpo" else {}
    emitted = body(job(method={"type": kind, kind: {"hyperparameters": hp}}))
    assert sdk_check(emitted) == emitted


# --- where ours must differ ------------------------------------------------------------------

MULTI = multi(
    {"accuracy": string_check(), "judge": score_model(), "tone": label_model()},
    formula="max(accuracy, judge) * tone",
)


def test_keyed_multi_grader_is_not_the_sdks_single_grader_form() -> None:
    emitted = body(rl_job(MULTI))
    with pytest.raises(ValidationError, match="grader.MultiGraderParam.graders.StringCheckGrader"):
        sdk_check(emitted)


@pytest.mark.parametrize("key", ["accuracy", "judge", "tone"])
def test_each_keyed_sub_grader_is_a_valid_sdk_grader(key: str) -> None:
    grader = body(rl_job(MULTI))["method"]["reinforcement"]["grader"]
    assert sdk_check(grader["graders"][key], Graders) == grader["graders"][key]
    single_form = {**grader, "graders": grader["graders"][key]}
    assert sdk_check(single_form, MultiGraderParam) == single_form


def test_response_format_is_absent_from_the_sdk_types() -> None:
    method = {"grader": string_check(), "response_format": response_format()}
    emitted = body(rl_job(method={"type": "reinforcement", "reinforcement": method}))
    with pytest.raises(ValidationError, match="response_format\n  Extra inputs are not permitted"):
        sdk_check(emitted)
    del emitted["method"]["reinforcement"]["response_format"]
    assert sdk_check(emitted) == emitted


def test_label_model_is_refused_at_the_top_by_both() -> None:
    with pytest.raises(ValidationError, match="label_model grader can only be used inside"):
        parse_grader(label_model())
    with pytest.raises(ValidationError, match="grader.ScoreModelGraderParam.type\n  Input should"):
        sdk_check({"grader": label_model()}, ReinforcementMethodParam)


def test_cosine_passes_the_sdk_but_not_us() -> None:
    sdk_check({"grader": text_similarity(evaluation_metric="cosine")}, ReinforcementMethodParam)
    with pytest.raises(ValidationError, match="'cosine', which is for evals only"):
        parse_grader(text_similarity(evaluation_metric="cosine"))


def test_sampling_reasoning_effort_max_passes_the_sdk_but_not_us() -> None:
    grader = score_model(sampling_params={"reasoning_effort": "max"})
    sdk_check({"grader": grader}, ReinforcementMethodParam)
    with pytest.raises(ValidationError, match="'high' or 'xhigh'"):
        parse_grader(grader)


def test_method_without_its_object_passes_the_sdk_but_not_us() -> None:
    raw = job(method={"type": "supervised"})
    sdk_check(raw)
    with pytest.raises(ValidationError, match="needs a 'supervised' object"):
        JobRequest.model_validate(raw)
