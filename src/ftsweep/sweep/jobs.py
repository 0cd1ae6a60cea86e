"""Turn trials into `fine_tuning.jobs.create` bodies.

The sweep was validated once, so every value of every dimension is known to be allowed and the
templates are known to fit the API's limits at their longest: a body is assembled from prebuilt
parts without validating a model per trial. The tests check that every body built this way is
exactly what `JobRequest` validates and dumps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftsweep.sweep.dimensions import template_text
from ftsweep.sweep.templates import placeholders, trial_text

if TYPE_CHECKING:
    from ftsweep.api.job import JobRequest
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.space import Params

__all__ = ["JobRenderer", "trial_key", "trial_number"]


def trial_key(sweep_name: str, number: int) -> str:
    """A trial's stable key: the sweep's name and the trial's number (`dpo-beta-0007`)."""
    return f"{sweep_name}-{trial_text(number)}"  # JobRenderer.body inlines this; keep them equal


def trial_number(sweep_name: str, key: str) -> int | None:
    """The number of the trial `key` names, or None when it is no key of sweep `sweep_name`."""
    prefix, _, digits = key.rpartition("-")
    ascii_digits = digits.isascii() and digits.isdigit()  # int("²") raises
    return int(digits) if prefix == sweep_name and ascii_digits else None


class JobRenderer:
    """Builds the job request of any trial of one sweep."""

    def __init__(self, sweep: Sweep) -> None:
        spec = sweep.spec
        self.sweep = sweep
        self._name = spec.name
        self._model = spec.model
        self._method = spec.method
        self._head = {"training_file": spec.training_file}
        if spec.validation_file is not None:
            self._head["validation_file"] = spec.validation_file
        self._seed = spec.job.seed
        self._suffix = spec.job.suffix
        self._metadata = dict(spec.job.metadata)
        self._templated = any("{" in t for t in (self._suffix or "", *self._metadata.values()))
        self._fields = self._template_fields()
        self._integrations = [
            i.model_dump(mode="json", exclude_none=True) for i in spec.job.integrations
        ]
        self._method_extra = _method_extra(sweep)

    def _template_fields(self) -> tuple[str, ...]:
        texts = [self._suffix or "", *self._metadata.values()]
        return tuple(dict.fromkeys(n for t in texts for n in placeholders(t)))

    def key(self, index: int) -> str:
        return trial_key(self._name, index)

    def body(self, index: int, params: Params) -> dict[str, Any]:
        """The job request body of trial `index` with these hyperparameters (and model)."""
        hyperparameters = dict(params)
        trial = trial_text(index)
        body: dict[str, Any] = {"model": hyperparameters.pop("model", self._model), **self._head}
        values = self._values(trial, params) if self._templated else None
        if self._suffix is not None:
            body["suffix"] = self._suffix.format_map(values) if values else self._suffix
        if self._seed is not None:
            body["seed"] = self._seed
        if values:
            metadata = {k: v.format_map(values) for k, v in self._metadata.items()}
        else:
            metadata = self._metadata.copy()
        metadata["ftsweep_sweep"] = self._name
        metadata["ftsweep_trial"] = f"{self._name}-{trial}"
        body["metadata"] = metadata
        if self._integrations:
            body["integrations"] = self._integrations
        if hyperparameters:
            body["method"] = {
                "type": self._method,
                self._method: {"hyperparameters": hyperparameters, **self._method_extra},
            }
        else:
            body["method"] = {"type": self._method, self._method: dict(self._method_extra)}
        return body

    def _values(self, trial: str, params: Params) -> dict[str, str]:
        values = {"sweep": self._name, "trial": trial}
        for name in self._fields:
            if name not in values:
                absent = self._model if name == "model" and self._model else "auto"
                values[name] = template_text(params.get(name, absent))
        return values

    def request(self, index: int, params: Params) -> JobRequest:
        """The same body as a validated `JobRequest` (slower: for checks and library users)."""
        from ftsweep.api.job import JobRequest

        return JobRequest.model_validate(self.body(index, params))


def _method_extra(sweep: Sweep) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if sweep.grader is not None:
        extra["grader"] = sweep.grader.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if sweep.response_format is not None:
        extra["response_format"] = sweep.response_format.model_dump(
            mode="json", by_alias=True, exclude_unset=True
        )
    return extra
