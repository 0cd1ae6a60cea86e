"""A journal replayed without Optuna: its studies and trials, as plain objects, fast.

Optuna's `JournalStorage` replays a journal into `FrozenTrial`s: it copies a trial for every
record and parses every trial's distributions, which for a study of 10,000 trials takes most of
a second, and importing Optuna takes half of one more. `JournalReplay` replays the same records
into `JournalTrial`s (changed in place, distributions kept as their JSON text, parsed once per
text) and keeps its place in the file, so a second read replays only what was appended since.

It follows Optuna 5's replay (`optuna/storages/journal/_storage.py`) record by record for what
ftsweep and Optuna write; tests/study/store/test_journal_replay.py compares the two on every kind
of write. Whatever it would have to guess at raises `Unreplayable`, and the caller replays the
journal with Optuna instead, which gives Optuna's exact result or error: a record Optuna refuses,
a distribution of another kind than Optuna's three (or malformed), two distributions for one
parameter of a study.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ftsweep.study.store.journal_file import JournalFile
from ftsweep.study.store.journal_format import (
    CREATE_STUDY,
    CREATE_TRIAL,
    DELETE_STUDY,
    DISCARD_TRIALS,
    SET_STUDY_SYSTEM_ATTR,
    SET_STUDY_USER_ATTR,
    SET_TRIAL_INTERMEDIATE_VALUE,
    SET_TRIAL_PARAM,
    SET_TRIAL_STATE_VALUES,
    SET_TRIAL_SYSTEM_ATTR,
    SET_TRIAL_USER_ATTR,
    TRIAL_STATES,
)

__all__ = ["JournalReplay", "JournalStudy", "JournalTrial", "Unreplayable", "optuna_time"]

_DIRECTIONS = (0, 1, 2)  # StudyDirection: NOT_SET, MINIMIZE, MAXIMIZE
_STATES = tuple(range(len(TRIAL_STATES)))
_RUNNING = TRIAL_STATES.index("running")
_FINISHED = tuple(TRIAL_STATES.index(s) for s in ("complete", "pruned", "fail"))
_SCALARS = (str, int, float, bool, type(None))


class Unreplayable(Exception):
    """A record this replay does not follow exactly as Optuna would: replay it with Optuna."""


@dataclass(slots=True, eq=False)
class JournalStudy:
    """A study: its id, name, system attributes and trials (in number order)."""

    study_id: int
    name: str
    system_attrs: dict[str, Any] = field(default_factory=dict)
    trials: list[JournalTrial] = field(default_factory=list)
    # Each parameter's distribution text among the trials holding it; None where they differ.
    texts: dict[str, str | None] = field(default_factory=dict)

    def hold(self, name: str, text: str) -> None:
        """A trial of the study now holds parameter `name` with the distribution `text`."""
        if self.texts.setdefault(name, text) != text:
            self.texts[name] = None


@dataclass(slots=True, eq=False)
class JournalTrial:
    """A trial as Optuna's replay leaves it (`FrozenTrial`'s fields and meanings), but
    `distributions`: each parameter's distribution as its JSON text, and the times: as written
    (aware where the text has an offset, as ftsweep's have); `optuna_time` makes one the naive
    local time of Optuna's replay."""

    trial_id: int
    number: int
    study: JournalStudy
    state: int  # Optuna's TrialState value
    values: list[Any] | None
    params: dict[str, Any]
    distributions: dict[str, str]
    user_attrs: dict[str, Any]
    system_attrs: dict[str, Any]
    intermediate_values: dict[int, Any]
    datetime_start: datetime | None
    datetime_complete: datetime | None
    version: int = 0  # records that changed it: what a reader made of it holds until it moves


class JournalReplay:
    """The studies and trials of a journal file, replayed from where the last read ended."""

    def __init__(self, journal: JournalFile) -> None:
        self.journal = journal
        self._read = 0  # records replayed (lines, framing records included)
        self._studies: dict[int, JournalStudy] = {}
        self._names: dict[str, int] = {}
        self._trials: list[JournalTrial] = []  # by trial id, every study's
        self._next_study = 0
        self._kinds: dict[str, _Kind] = {}  # distribution texts parsed

    @property
    def next_trial_id(self) -> int:
        """The id Optuna gives the next new trial: it counts the trials of every study."""
        return len(self._trials)

    def study(self, name: str) -> JournalStudy | None:
        """The study named `name`, with everything written until now replayed."""
        for log in self.journal.read_logs(self._read, pending=False):
            self._read += 1
            _HANDLERS[log["op_code"]](self, log)
        found = self._names.get(name)
        return None if found is None else self._studies[found]

    # -- studies --------------------------------------------------------------------------

    def _create_study(self, log: dict[str, Any]) -> None:
        if not all(d in _DIRECTIONS for d in log["directions"]):
            raise Unreplayable("a study direction Optuna does not know")
        name = log["study_name"]
        if name in self._names:
            return  # Optuna keeps the first study of a name
        study_id, self._next_study = self._next_study, self._next_study + 1
        self._studies[study_id] = JournalStudy(study_id, name)
        self._names[name] = study_id

    def _delete_study(self, log: dict[str, Any]) -> None:
        study = self._studies.pop(log["study_id"], None)
        if study is not None:
            del self._names[study.name]

    def _set_study_system_attr(self, log: dict[str, Any]) -> None:
        study = self._studies.get(log["study_id"])
        if study is not None:  # a framing record names study -1: no study
            study.system_attrs.update(log["system_attr"])

    # -- trials ---------------------------------------------------------------------------

    def _create_trial(self, log: dict[str, Any]) -> None:
        study = self._studies.get(log["study_id"])
        if study is None:
            return
        distributions = _mapping(log, "distributions")
        params = self._params(_mapping(log, "params"), distributions)
        trial = JournalTrial(
            trial_id=len(self._trials),
            number=len(study.trials),
            study=study,
            state=_state(log.get("state", _RUNNING)),
            values=_values(log),
            params=params,
            distributions=distributions,
            user_attrs=_mapping(log, "user_attrs"),
            system_attrs=_mapping(log, "system_attrs"),
            intermediate_values=_intermediate_values(log),
            datetime_start=_moment(log["datetime_start"]),
            datetime_complete=_moment(log.get("datetime_complete")),
        )
        self._trials.append(trial)
        study.trials.append(trial)
        for name in params:
            study.hold(name, distributions[name])

    def _params(self, params: dict[str, Any], distributions: dict[str, Any]) -> dict[str, Any]:
        """A new trial's parameters as Optuna reads them: every distribution parsed, every
        value through its own."""
        kinds = {name: self._kind(text) for name, text in distributions.items()}
        if not params.keys() <= kinds.keys():
            raise Unreplayable("a parameter without its distribution")
        return {name: kinds[name].external(value) for name, value in params.items()}

    def _set_trial_param(self, log: dict[str, Any]) -> None:
        trial = self._updatable(log["trial_id"])
        if trial is None:
            return
        name, text = log["param_name"], log["distribution"]
        kind = self._kind(text)
        if trial.study.texts.get(name, text) != text:  # Optuna checks them for compatibility
            raise Unreplayable(f"parameter {name!r} with another distribution")
        trial.params[name] = kind.external(log["param_value_internal"])
        trial.distributions[name] = text
        trial.study.hold(name, text)
        trial.version += 1

    def _set_trial_state_values(self, log: dict[str, Any]) -> None:
        trial = self._updatable(log["trial_id"])
        state = log["state"]
        if trial is None or state == trial.state == _RUNNING:  # running already: not popped
            return
        if state == _RUNNING:
            trial.datetime_start = _moment(log["datetime_start"])
        if state in _FINISHED:
            trial.datetime_complete = _moment(log["datetime_complete"])
        trial.state = int(state)
        if log["values"] is not None:
            trial.values = list(log["values"])
        trial.version += 1

    def _set_trial_intermediate_value(self, log: dict[str, Any]) -> None:
        trial = self._updatable(log["trial_id"])
        if trial is None:
            return
        if "intermediate_value" not in log:
            raise Unreplayable("an intermediate value without its value")
        trial.intermediate_values[log["step"]] = log["intermediate_value"]
        trial.version += 1

    def _set_trial_user_attr(self, log: dict[str, Any]) -> None:
        trial = self._updatable(log["trial_id"])
        if trial is not None:
            trial.user_attrs.update(log["user_attr"])
            trial.version += 1

    def _set_trial_system_attr(self, log: dict[str, Any]) -> None:
        trial = self._updatable(log["trial_id"])
        if trial is not None:
            trial.system_attrs.update(log["system_attr"])
            trial.version += 1

    def _ignore(self, log: dict[str, Any]) -> None:
        """A record Optuna replays as nothing (study user attributes, discarded trials)."""

    def _updatable(self, trial_id: int) -> JournalTrial | None:
        """The trial a record updates; None (the record is ignored) when it does not exist or
        has finished."""
        if not 0 <= trial_id < len(self._trials):
            return None
        trial = self._trials[trial_id]
        return None if trial.state in _FINISHED else trial

    def _kind(self, text: Any) -> _Kind:
        kind = self._kinds.get(text) if isinstance(text, str) else None
        if kind is None:
            kind = self._kinds[text] = _parse(text)
        return kind


_HANDLERS: dict[int, Callable[[JournalReplay, dict[str, Any]], None]] = {
    CREATE_STUDY: JournalReplay._create_study,
    DELETE_STUDY: JournalReplay._delete_study,
    SET_STUDY_USER_ATTR: JournalReplay._ignore,
    SET_STUDY_SYSTEM_ATTR: JournalReplay._set_study_system_attr,
    CREATE_TRIAL: JournalReplay._create_trial,
    SET_TRIAL_PARAM: JournalReplay._set_trial_param,
    SET_TRIAL_STATE_VALUES: JournalReplay._set_trial_state_values,
    SET_TRIAL_INTERMEDIATE_VALUE: JournalReplay._set_trial_intermediate_value,
    SET_TRIAL_USER_ATTR: JournalReplay._set_trial_user_attr,
    SET_TRIAL_SYSTEM_ATTR: JournalReplay._set_trial_system_attr,
    DISCARD_TRIALS: JournalReplay._ignore,
}


# -- the fields of a new trial ---------------------------------------------------------------


def _mapping(log: dict[str, Any], name: str) -> dict[str, Any]:
    found = log.get(name, {})
    if type(found) is not dict:
        raise Unreplayable(f"{name!r} is not an object")
    return found


def _state(value: Any) -> int:
    if value not in _STATES:
        raise Unreplayable(f"unknown trial state {value!r}")
    return int(value)


def _values(log: dict[str, Any]) -> list[Any] | None:
    """A new trial's values: Optuna's template trials write `value` or `values`, never both."""
    value, values = log.get("value"), log.get("values")
    if value is not None and values is not None:
        raise Unreplayable("a trial with a value and values")
    if value is not None:
        return [value]
    if values is not None and type(values) is not list:
        raise Unreplayable("values that are not a list")
    return values


def _intermediate_values(log: dict[str, Any]) -> dict[int, Any]:
    """A new trial's intermediate values, by step (a number, as Optuna reads it)."""
    try:
        return {int(step): value for step, value in _mapping(log, "intermediate_values").items()}
    except ValueError:
        raise Unreplayable("an intermediate value whose step is not a number") from None


def _moment(text: str | None) -> datetime | None:
    """A time as written, refused where Optuna's replay could not make it a local time."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if not 1 < moment.year < 9999:  # a day from the ends of time: the local time may not be
            optuna_time(moment)
    except (ValueError, OverflowError, OSError):
        raise Unreplayable(f"a time Optuna cannot read: {text!r}") from None
    return moment


def optuna_time(moment: datetime) -> datetime:
    """A time as Optuna's replay leaves it: naive, in local time (converting every time of a
    large study so is a tenth of its replay, so a replayed trial keeps them as written)."""
    return moment.astimezone().replace(tzinfo=None)


# -- distributions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kind:
    """What reading a parameter needs of its distribution: its choices, or whether it is an
    integer (`to_external_repr`: a categorical's choice, an int's int, a float as stored)."""

    choices: tuple[Any, ...] | None = None
    integer: bool = False

    def external(self, internal: Any) -> Any:
        try:
            if self.choices is not None:
                return self.choices[int(internal)]
            return int(internal) if self.integer else internal
        except (TypeError, ValueError, IndexError, OverflowError):
            problem = f"a parameter value its distribution does not hold: {internal!r}"
            raise Unreplayable(problem) from None


def _parse(text: Any) -> _Kind:
    """A distribution's text, checked as Optuna's constructor checks it (any other form, even
    one Optuna reads, is Unreplayable)."""
    try:
        found = json.loads(text)
    except (TypeError, ValueError):
        raise Unreplayable("a distribution that is not JSON text") from None
    if type(found) is not dict or found.keys() != {"name", "attributes"}:
        raise Unreplayable("a distribution in a form Optuna 5 does not write")
    parse = _PARSERS.get(found["name"])
    attributes = found["attributes"]
    if parse is None or type(attributes) is not dict or attributes.keys() != _KEYS[found["name"]]:
        raise Unreplayable(f"a distribution {found['name']!r} of unknown form")
    kind = parse(attributes)
    if kind is None:
        raise Unreplayable(f"a distribution Optuna refuses: {text}")
    return kind


def _categorical(attributes: dict[str, Any]) -> _Kind | None:
    choices = attributes["choices"]
    if type(choices) is not list or not choices:
        return None
    if not all(isinstance(choice, _SCALARS) for choice in choices):
        return None
    return _Kind(choices=tuple(choices))


def _int(attributes: dict[str, Any]) -> _Kind | None:
    low, high, step, log = (attributes[k] for k in ("low", "high", "step", "log"))
    if not (_integer(low) and _integer(high) and _integer(step) and type(log) is bool):
        return None
    if low > high or step <= 0 or (log and (step != 1 or low < 1)):
        return None
    return _Kind(integer=True)


def _float(attributes: dict[str, Any]) -> _Kind | None:
    low, high, step, log = (attributes[k] for k in ("low", "high", "step", "log"))
    if not (_number(low) and _number(high) and type(log) is bool):
        return None
    if step is not None and not (_number(step) and step > 0 and not log):
        return None
    if low > high or (log and low <= 0):
        return None
    return _Kind()


def _integer(value: Any) -> bool:
    return type(value) is int


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


_PARSERS: dict[str, Callable[[dict[str, Any]], _Kind | None]] = {
    "CategoricalDistribution": _categorical,
    "IntDistribution": _int,
    "FloatDistribution": _float,
}
_KEYS = {
    "CategoricalDistribution": {"choices"},
    "IntDistribution": {"log", "step", "low", "high"},
    "FloatDistribution": {"step", "low", "high", "log"},
}
