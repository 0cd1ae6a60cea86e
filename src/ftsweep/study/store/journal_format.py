"""The journal's records: Optuna's journal format as ftsweep writes, frames and checks it.

Op codes and record builders (the records Optuna's own setters write), the framing of an append
of several records (see `ftsweep.study.store.journal`), and the scanner that reads whole lines,
whole frames and checks every record before Optuna replays it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, NamedTuple

import orjson

__all__ = [
    "APPEND",
    "TRIAL_STATES",
    "Entry",
    "check_record",
    "encode",
    "frame_record",
    "intermediate_record",
    "now",
    "scan",
    "state_record",
    "study_attr_record",
    "trial_attr_record",
    "trial_record",
    "worker",
]

APPEND = "ftsweep:append"  # the framing record's attribute, and its worker id

# Optuna's JournalOperation op codes (optuna/storages/journal/_storage.py; a test pins them).
CREATE_STUDY, DELETE_STUDY, SET_STUDY_USER_ATTR, SET_STUDY_SYSTEM_ATTR = 0, 1, 2, 3
CREATE_TRIAL, SET_TRIAL_PARAM, SET_TRIAL_STATE_VALUES, SET_TRIAL_INTERMEDIATE_VALUE = 4, 5, 6, 7
SET_TRIAL_USER_ATTR, SET_TRIAL_SYSTEM_ATTR, DISCARD_TRIALS = 8, 9, 10
TRIAL_STATES = ("running", "complete", "pruned", "fail", "waiting")  # TrialState, by value
_RUNNING, _WAITING = TRIAL_STATES.index("running"), TRIAL_STATES.index("waiting")

_NONE = type(None)
_NUMBER = (int, float)
# The fields each op needs when Optuna replays it, and their JSON types.
_FIELDS: dict[int, dict[str, Any]] = {
    CREATE_STUDY: {"study_name": str, "directions": list},
    DELETE_STUDY: {"study_id": int},
    SET_STUDY_USER_ATTR: {"study_id": int, "user_attr": dict},
    SET_STUDY_SYSTEM_ATTR: {"study_id": int, "system_attr": dict},
    CREATE_TRIAL: {"study_id": int, "datetime_start": (str, _NONE)},
    SET_TRIAL_PARAM: {
        "trial_id": int,
        "param_name": str,
        "param_value_internal": _NUMBER,
        "distribution": str,
    },
    SET_TRIAL_STATE_VALUES: {"trial_id": int, "state": int, "values": (list, _NONE)},
    SET_TRIAL_INTERMEDIATE_VALUE: {"trial_id": int, "step": int},
    SET_TRIAL_USER_ATTR: {"trial_id": int, "user_attr": dict},
    SET_TRIAL_SYSTEM_ATTR: {"trial_id": int, "system_attr": dict},
    DISCARD_TRIALS: {},
}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


# -- records ---------------------------------------------------------------------------------


def now() -> str:
    """A completion time the way Optuna's JournalStorage writes one (it replays it naive)."""
    return datetime.now(tz=UTC).isoformat(timespec="microseconds")


def worker() -> str:
    """A worker id for one write's records: no process's Optuna worker, so that Optuna's replay
    takes them as another's (a worker owns the running trials it created)."""
    return f"ftsweep-{uuid.uuid4()}"


def trial_record(
    worker: str,
    study_id: int,
    *,
    state: int,
    values: Sequence[float] | None,
    times: tuple[str, str | None],
    distributions: dict[str, str],
    params: dict[str, Any],
    user_attrs: dict[str, Any],
    system_attrs: dict[str, Any],
) -> dict[str, Any]:
    """A new trial written whole, as `create_new_trial` writes one from a template trial:
    `times` are its start and completion, `distributions` their JSON texts, `params` internal."""
    several = values is not None and len(values) > 1
    record: dict[str, Any] = {
        "op_code": CREATE_TRIAL,
        "worker_id": worker,
        "study_id": study_id,
        "datetime_start": times[0],
        "state": state,
        "value": values[0] if values is not None and not several else None,
        "values": list(values) if values is not None and several else None,
    }
    if times[1] is not None:
        record["datetime_complete"] = times[1]
    record.update(
        distributions=distributions,
        params=params,
        user_attrs=user_attrs,
        system_attrs=system_attrs,
        intermediate_values={},
    )
    return record


def trial_attr_record(
    worker: str, trial_id: int, kind: str, key: str, value: Any
) -> dict[str, Any]:
    """One trial attribute (`kind` is "user" or "system"): the journal takes one per record."""
    op = SET_TRIAL_USER_ATTR if kind == "user" else SET_TRIAL_SYSTEM_ATTR
    return {"op_code": op, "worker_id": worker, "trial_id": trial_id, f"{kind}_attr": {key: value}}


def intermediate_record(worker: str, trial_id: int, step: int, value: float) -> dict[str, Any]:
    """One intermediate value of a trial, as `set_trial_intermediate_value` writes it."""
    return {
        "op_code": SET_TRIAL_INTERMEDIATE_VALUE,
        "worker_id": worker,
        "trial_id": trial_id,
        "step": step,
        "intermediate_value": value,
    }


def study_attr_record(worker: str, study_id: int, key: str, value: Any) -> dict[str, Any]:
    """One study system attribute, as `set_study_system_attr` writes it."""
    return {
        "op_code": SET_STUDY_SYSTEM_ATTR,
        "worker_id": worker,
        "study_id": study_id,
        "system_attr": {key: value},
    }


def state_record(
    worker: str, trial_id: int, state: int, values: Sequence[float] | None, time: str
) -> dict[str, Any]:
    """A trial's new state and values; `time` is its start (running) or completion (finished)."""
    record = {
        "op_code": SET_TRIAL_STATE_VALUES,
        "worker_id": worker,
        "trial_id": trial_id,
        "state": state,
        "values": list(values) if values is not None else None,
    }
    if state == _RUNNING:
        record["datetime_start"] = time
    elif state != _WAITING:
        record["datetime_complete"] = time
    return record


def encode(logs: Sequence[dict[str, Any]], *, framed: bool = False) -> bytes:
    """The bytes one append writes: the records, framed when there are more than one (or when
    `framed` says so: a transaction's readers counted a frame before its records)."""
    body = b"".join(_line(log) for log in logs)
    if len(logs) < 2 and not framed:
        return body
    return _line(frame_record({"records": len(logs), "bytes": len(body)})) + body


def frame_record(frame: dict[str, int]) -> dict[str, Any]:
    head = {"op_code": SET_STUDY_SYSTEM_ATTR, "worker_id": APPEND, "study_id": -1}
    return {**head, "system_attr": {APPEND: frame}}


def _line(log: dict[str, Any]) -> bytes:
    try:
        if not _non_finite(log):
            return orjson.dumps(log, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # what orjson does not encode (a big int): Optuna's way
        pass
    return (json.dumps(log, separators=(",", ":")) + "\n").encode()


def _non_finite(log: dict[str, Any]) -> bool:
    """Whether a value or intermediate value is NaN or infinite: orjson would write it as null,
    Optuna's `json` writes `NaN` and `Infinity` (and reads them back)."""
    op = log.get("op_code")
    if op == SET_TRIAL_INTERMEDIATE_VALUE:
        numbers = [log.get("intermediate_value")]
    elif op in (SET_TRIAL_STATE_VALUES, CREATE_TRIAL):
        numbers = [log.get("value"), *(log.get("values") or ())]
        numbers += list((log.get("intermediate_values") or {}).values())
    else:
        return False
    return any(isinstance(n, float) and not math.isfinite(n) for n in numbers)


# -- reading ---------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One whole line of a journal: its number (from 0), its bytes, its record or its damage (a
    tuple: a study of 10,000 trials has some 50,000 lines, read on every command)."""

    number: int
    start: int
    end: int
    log: dict[str, Any] | None
    problem: str | None = None
    frame: bool = False


def scan(file: IO[bytes], number: int, offset: int, size: int) -> Iterator[Entry]:
    """The whole lines from `offset` (line `number`) to `size`, each checked.

    It stops before an incomplete tail: a last line without its newline, or a framed append whose
    bytes are not all there. A frame that does not match what follows it is a damaged line, and
    the lines after it are read one by one.
    """
    file.seek(offset)
    while offset < size:
        line = file.readline()
        end = offset + len(line)
        if end > size or not line.endswith(b"\n"):
            return
        entry = _entry(number, offset, end, line)
        framed = _framed(entry)
        if framed is not None:
            body = _body(file, entry, framed, size)
            if body is None:
                return  # the append is still being written, or was cut off
            yield from body
            number, offset = body[-1].number + 1, body[-1].end
            continue
        yield entry
        number, offset = number + 1, end


def _body(file: IO[bytes], frame: Entry, framed: tuple[int, int], size: int) -> list[Entry] | None:
    records, length = framed
    if frame.end + length > size:
        return None
    chunk = file.read(length)
    lines = chunk.splitlines(keepends=True)
    if len(lines) != records or not chunk.endswith(b"\n"):
        file.seek(frame.end)
        problem = f"an append framed as {records} records of {length} bytes is not followed by them"
        return [Entry(frame.number, frame.start, frame.end, None, problem)]
    offset = frame.end
    entries = [Entry(frame.number, frame.start, frame.end, frame.log, frame=True)]
    for number, line in enumerate(lines, start=frame.number + 1):
        entries.append(_entry(number, offset, offset + len(line), line))
        offset += len(line)
    return entries


def _framed(entry: Entry) -> tuple[int, int] | None:
    """(records, bytes) of a framing record, else None."""
    log = entry.log
    if log is None or log.get("worker_id") != APPEND or log.get("op_code") != SET_STUDY_SYSTEM_ATTR:
        return None
    frame = log.get("system_attr", {}).get(APPEND)
    if not isinstance(frame, dict):
        return None
    records, length = frame.get("records"), frame.get("bytes")
    if type(records) is int and type(length) is int and records >= 0 and length >= 0:
        return records, length
    return None


def _entry(number: int, start: int, end: int, line: bytes) -> Entry:
    try:
        log = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # Optuna writes NaN and Infinity, which only Python's json reads
            log = json.loads(line)
        except json.JSONDecodeError as exc:
            return Entry(number, start, end, None, f"not JSON ({exc.msg} at column {exc.colno})")
        except ValueError:
            return Entry(number, start, end, None, "not JSON (not UTF-8 text)")
    problem = check_record(log)
    return Entry(number, start, end, log if problem is None else None, problem)


def check_record(log: Any) -> str | None:
    """Why Optuna could not replay `log`, or None."""
    if not isinstance(log, dict):
        return f"not a JSON object but {type(log).__name__}"
    op = log.get("op_code")
    if type(op) is not int or op not in _FIELDS:
        return f"unknown op_code {op!r}"
    if not isinstance(log.get("worker_id"), str):
        return "worker_id is missing or not a string"
    for name, kind in _FIELDS[op].items():
        if name not in log:
            return f"op_code {op} needs a {name!r} field"
        if not isinstance(log[name], kind):
            return f"{name!r} must be {_TYPE_NAMES.get(kind, 'of another type')}"
    return _check_values(op, log)


def _check_values(op: int, log: dict[str, Any]) -> str | None:
    for name in ("user_attr", "system_attr"):
        if name in _FIELDS[op] and len(log[name]) != 1:
            return f"{name!r} must hold exactly one attribute"
    if op == SET_TRIAL_STATE_VALUES:
        return _check_state(log)
    if op == CREATE_TRIAL:
        return _check_trial_times(log)
    return None


def _check_trial_times(log: dict[str, Any]) -> str | None:
    names = ["datetime_complete"] if "datetime_complete" in log else []
    names += ["datetime_start"] if log["datetime_start"] is not None else []
    for name in names:
        problem = _check_time(log, name)
        if problem is not None:
            return problem
    return None


def _check_state(log: dict[str, Any]) -> str | None:
    state = log["state"]
    if not 0 <= state <= _WAITING:
        return f"unknown trial state {state}"
    if state == _WAITING:
        return None
    return _check_time(log, "datetime_start" if state == _RUNNING else "datetime_complete")


def _check_time(log: dict[str, Any], name: str) -> str | None:
    if name not in log:
        return f"{name!r} is missing"
    value = log[name]
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return f"{name!r} is not a date and time (got {value!r})"
    return None
