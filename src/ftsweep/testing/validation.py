"""A job body checked the way the service checks it, turned into a typed `JobSpec`.

Every refusal is a `ServiceError` (400) naming the offending field in `param`: an unknown
model, a training or validation file that is not a processed upload, a hyperparameter that
does not belong to the method ("extra inputs are not permitted") or is out of the range of
API_FACTS section 2, a suffix or metadata over the limits, an unrecognised top-level field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from ftsweep.api.names import METHODS
from ftsweep.testing.errors import Dialect, ServiceError, invalid

_COMMON = ("n_epochs", "batch_size", "learning_rate_multiplier")
HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "supervised": _COMMON,
    "dpo": (*_COMMON, "beta"),
    "reinforcement": (
        *_COMMON,
        "compute_multiplier",
        "eval_interval",
        "eval_samples",
        "reasoning_effort",
    ),
}
REASONING_EFFORTS = ("default", "low", "medium", "high")
_TOP_LEVEL = {
    "model",
    "training_file",
    "validation_file",
    "suffix",
    "seed",
    "metadata",
    "integrations",
    "method",
    "hyperparameters",
}
_AZURE_SUFFIX = re.compile(r"[A-Za-z0-9_-]{1,18}")


@dataclass(frozen=True)
class JobSpec:
    """An accepted job request; `hyperparameters` holds every key of the method, "auto" or set."""

    model: str
    method: str
    hyperparameters: dict[str, object]
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] | None = None
    method_extra: dict[str, object] = field(default_factory=dict)
    integrations: list[object] | None = None


def _int_in(low: int, high: int | None) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return low <= value and (high is None or value <= high)

    return check


def _float_in(low: float, high: float | None) -> Callable[[object], bool]:
    """Open at `low`, closed at `high`."""

    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return low < value and (high is None or value <= high)

    return check


_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "n_epochs": (_int_in(1, 50), "an integer from 1 to 50"),
    "batch_size": (_int_in(1, 256), "an integer from 1 to 256"),
    "learning_rate_multiplier": (_float_in(0.0, None), "a number greater than 0"),
    "beta": (_float_in(0.0, 2.0), "a number greater than 0 and at most 2"),
    "compute_multiplier": (_float_in(0.00001, 10.0), "a number above 0.00001 and at most 10"),
    "eval_interval": (_int_in(1, None), "an integer of at least 1"),
    "eval_samples": (_int_in(1, None), "an integer of at least 1"),
    "reasoning_effort": (
        lambda value: value in REASONING_EFFORTS,
        "one of " + ", ".join(REASONING_EFFORTS),
    ),
}


def check_job(
    body: Mapping[str, object],
    dialect: Dialect,
    models: Collection[str],
    file_status: Callable[[str], str | None],
) -> JobSpec:
    """Return the accepted request, or raise the service's 400 for the first problem."""
    _check_fields(body, dialect)
    model = _check_model(body.get("model"), models)
    method, raw, extra = _method_parts(body, dialect)
    training = _check_file(body.get("training_file"), "training_file", file_status)
    validation = body.get("validation_file")
    if validation is not None or method == "reinforcement":
        validation = _check_file(validation, "validation_file", file_status)
    return JobSpec(
        model=model,
        method=method,
        hyperparameters=_check_hyperparameters(method, raw),
        training_file=training,
        validation_file=validation,
        suffix=_check_suffix(body.get("suffix"), dialect),
        seed=_check_seed(body.get("seed")),
        metadata=None if dialect == "azure" else _check_metadata(body.get("metadata")),
        method_extra=extra,
        integrations=_list_or_none(body.get("integrations")),
    )


def _check_fields(body: Mapping[str, object], dialect: Dialect) -> None:
    allowed = _TOP_LEVEL | ({"trainingType"} if dialect != "openai" else set())
    for name in body:
        if name not in allowed:
            raise invalid(
                f"Unrecognized request argument supplied: {name}", name, "unknown_parameter"
            )


def _check_model(model: object, models: Collection[str]) -> str:
    if not isinstance(model, str) or not model:
        raise invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if model not in models:
        message = f"Model {model} is not available for fine-tuning or does not exist."
        raise ServiceError(400, message, code="model_not_available", param="model")
    return model


def _method_parts(
    body: Mapping[str, object], dialect: Dialect
) -> tuple[str, Mapping[str, object], dict[str, object]]:
    """The method type, its raw hyperparameters and its other fields (grader, ...)."""
    method = body.get("method")
    if method is None:
        return "supervised", _mapping(body.get("hyperparameters"), "hyperparameters"), {}
    method = _mapping(method, "method")
    kind = method.get("type")
    if kind not in METHODS or (dialect == "azure" and kind == "reinforcement"):
        raise invalid(f"Invalid method type: {kind!r}.", "method.type")
    assert isinstance(kind, str)
    section = _mapping(method.get(kind), f"method.{kind}")
    extra = {key: value for key, value in section.items() if key != "hyperparameters"}
    if kind == "reinforcement" and "grader" not in extra:
        raise invalid("A reinforcement job needs a grader.", "method.reinforcement.grader")
    return kind, _mapping(section.get("hyperparameters"), f"method.{kind}.hyperparameters"), extra


def _mapping(value: object, param: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
    return value


def _check_hyperparameters(method: str, raw: Mapping[str, object]) -> dict[str, object]:
    names = HYPERPARAMETERS[method]
    where = f"method.{method}.hyperparameters"
    resolved: dict[str, object] = {}
    for name, value in raw.items():
        if name not in names:
            raise invalid(f"{where}.{name}: Extra inputs are not permitted", f"{where}.{name}")
        check, rule = _RULES[name]
        if not (value == "auto" and name != "reasoning_effort") and not check(value):
            raise invalid(
                f"Invalid {name}: {value!r}; it must be {rule} or 'auto'.", f"{where}.{name}"
            )
        resolved[name] = value
    for name in names:
        resolved.setdefault(name, "default" if name == "reasoning_effort" else "auto")
    return resolved


def _check_file(value: object, param: str, file_status: Callable[[str], str | None]) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(
            f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
        )
    status = file_status(value)
    if status is None:
        raise invalid(f"invalid {param}: {value}", param, f"invalid_{param}")
    if status != "processed":
        message = f"File {value} is not ready (status {status}); try again once it is processed."
        raise invalid(message, param, "file_not_ready")
    return value


def _check_suffix(value: object, dialect: Dialect) -> str | None:
    if value is None:
        return None
    if dialect != "openai" and not (isinstance(value, str) and _AZURE_SUFFIX.fullmatch(value)):
        raise invalid("suffix must be 1 to 18 characters of [A-Za-z0-9_-].", "suffix")
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise invalid("suffix must be a string of 1 to 64 characters.", "suffix")
    return value


def _check_seed(value: object) -> int | None:
    if value is None:
        return None
    if not _int_in(0, 2147483647)(value):
        raise invalid(
            f"Invalid seed: {value!r}; it must be an integer from 0 to 2147483647.", "seed"
        )
    assert isinstance(value, int)
    return value


def _check_metadata(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    pairs = _mapping(value, "metadata")
    if len(pairs) > 16:
        raise invalid(f"metadata has {len(pairs)} pairs; at most 16 are allowed.", "metadata")
    for key, item in pairs.items():
        if len(key) > 64:
            raise invalid(f"metadata key {key[:20]!r}... is over 64 characters.", "metadata")
        if not isinstance(item, str) or len(item) > 512:
            raise invalid(
                f"metadata[{key}] must be a string of at most 512 characters.", "metadata"
            )
    return {key: str(item) for key, item in pairs.items()}


def _list_or_none(value: object) -> list[object] | None:
    return list(value) if isinstance(value, list) else None
