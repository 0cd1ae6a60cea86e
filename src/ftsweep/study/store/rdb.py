"""Many trial updates in one database transaction, on Optuna's RDB storage (PostgreSQL, SQLite).

Optuna's public API commits once per attribute, each after a few queries: a tell of 500 results
on PostgreSQL took about 2,000 commits, and a tell that failed or was killed halfway stayed half
told. `commit_updates` applies a whole tell in one transaction, all or nothing, with a handful
of set-based statements on Optuna's own tables (its SQLAlchemy models, so the rows are what its
setters write): the trials are locked and checked in one query, every attribute is one upsert,
so are the intermediate values, the values one insert, the states one update per state. The
models are Optuna's private API: where the engine is neither PostgreSQL nor SQLite, or this
Optuna lacks what is used, `commit_updates` returns False and the caller falls back to the
public API.
tests/study/test_rdb.py replays what it wrote through Optuna's own `load_study` on both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from optuna.trial import TrialState

__all__ = ["commit_updates"]

_ENGINES = ("postgresql", "sqlite")  # the dialects whose upsert is used
_CHUNK = 1000  # rows per statement: well within SQLite's and PostgreSQL's parameter limits


class Update(Protocol):
    """The updates of one trial (`writes._Update`)."""

    user_attrs: dict[str, Any]
    system_attrs: dict[str, Any]
    intermediate: dict[int, float]  # by step
    state: int | None  # Optuna's TrialState value
    values: Sequence[float] | None
    completed: datetime | None


def commit_updates(storage: Any, updates: Mapping[int, Update]) -> bool:
    """Apply every update in one transaction; False (nothing done) where it cannot."""
    engine = getattr(storage, "engine", None)
    if engine is None or engine.name not in _ENGINES:
        return False
    try:
        from optuna.storages._rdb import models
    except ImportError:
        return False
    from sqlalchemy.orm import Session

    with Session(bind=engine) as session, session.begin():
        _check_updatable(session, models, storage, list(updates))
        for model, field in (
            (models.TrialUserAttributeModel, "user_attrs"),
            (models.TrialSystemAttributeModel, "system_attrs"),
        ):
            rows = [
                {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
                for trial_id, update in updates.items()
                for key, value in getattr(update, field).items()
            ]
            _upsert(session, engine.name, model, rows)
        _intermediate(session, engine.name, models.TrialIntermediateValueModel, updates)
        _finish(session, models, updates)
    return True


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _check_updatable(session: Any, models: Any, storage: Any, ids: list[int]) -> None:
    """Lock the trials; refuse the whole transaction if one is missing or finished."""
    from optuna.exceptions import UpdateFinishedTrialError
    from sqlalchemy import select

    trial = models.TrialModel
    found: dict[int, tuple[int, TrialState]] = {}
    for chunk in _chunks(ids):
        query = select(trial.trial_id, trial.number, trial.state).where(trial.trial_id.in_(chunk))
        found.update((i, (n, s)) for i, n, s in session.execute(query.with_for_update()))
    for trial_id in ids:
        if trial_id not in found:
            raise KeyError(f"No trial with trial id {trial_id} exists.")
        number, state = found[trial_id]
        if state.is_finished():
            raise UpdateFinishedTrialError(
                f"Trial#{number} has already finished and can not be updated."
            )


def _upsert(
    session: Any,
    dialect: str,
    model: Any,
    rows: list[dict[str, Any]],
    keys: tuple[str, ...] = ("trial_id", "key"),
) -> None:
    """Insert `rows`, or where a row of the same `keys` exists, set its other columns."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chunk in _chunks(rows):
        statement = insert(model).values(list(chunk))
        changed = [name for name in chunk[0] if name not in keys]
        statement = statement.on_conflict_do_update(
            index_elements=[getattr(model, name) for name in keys],
            set_={name: statement.excluded[name] for name in changed},
        )
        session.execute(statement)


def _intermediate(session: Any, dialect: str, model: Any, updates: Mapping[int, Update]) -> None:
    """The intermediate values, one row per trial and step, as `set_trial_intermediate_value`
    stores them (NaN and infinities as their type, with no value)."""
    rows = []
    for trial_id, update in updates.items():
        for step, number in update.intermediate.items():
            stored, kind = model.intermediate_value_to_stored_repr(number)
            rows.append(
                {
                    "trial_id": trial_id,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": kind,
                }
            )
    _upsert(session, dialect, model, rows, keys=("trial_id", "step"))


def _finish(session: Any, models: Any, updates: Mapping[int, Update]) -> None:
    finishing = {i: u for i, u in updates.items() if u.state is not None}
    if finishing:
        _values(session, models.TrialValueModel, finishing)
        _states(session, models.TrialModel.__table__, finishing)


def _values(session: Any, value: Any, finishing: Mapping[int, Update]) -> None:
    from sqlalchemy import delete, insert

    for chunk in _chunks(list(finishing)):
        session.execute(delete(value).where(value.trial_id.in_(chunk)))
    rows = []
    for trial_id, item in finishing.items():
        for objective, number in enumerate(item.values or ()):
            stored, kind = value.value_to_stored_repr(number)
            rows.append(
                {"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind}
            )
    for chunk in _chunks(rows):
        session.execute(insert(value), list(chunk))


def _states(session: Any, table: Any, finishing: Mapping[int, Update]) -> None:
    """One update per state; then the job's own finish time where the service gave one. The
    column holds naive UTC (Optuna 5's model converts through a property, which a set-based
    update does not use)."""
    from optuna.trial import TrialState
    from sqlalchemy import update

    by_state: dict[TrialState, list[int]] = {}
    for trial_id, item in finishing.items():
        assert item.state is not None
        by_state.setdefault(TrialState(item.state), []).append(trial_id)
    now = datetime.now(UTC).replace(tzinfo=None)
    for state, members in by_state.items():
        done = {"datetime_complete": now} if state.is_finished() else {}
        for chunk in _chunks(members):
            statement = update(table).where(table.c.trial_id.in_(chunk))
            session.execute(statement.values(state=state, **done))
    for trial_id, item in finishing.items():
        finished = item.state is not None and TrialState(item.state).is_finished()
        if item.completed is not None and finished:
            moment = item.completed.astimezone(UTC).replace(tzinfo=None)
            statement = update(table).where(table.c.trial_id == trial_id)
            session.execute(statement.values(datetime_complete=moment))
