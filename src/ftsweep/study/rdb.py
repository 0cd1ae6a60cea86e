"""Many trial updates in one database transaction, on Optuna's RDB storage (PostgreSQL, SQLite).

Optuna's public API commits once per attribute: a tell of 500 results on PostgreSQL made some
2,000 commits, each a round trip and a disk sync on the server, and a tell that failed or was
killed halfway stayed half told. `commit_updates` applies a whole tell in one transaction, all
or nothing, through the RDB storage's own per-row helpers (the ones its public setters call
before they commit), so rows are written exactly as Optuna writes them. Those helpers are
private: where this Optuna lacks one, `commit_updates` returns False and the caller falls back
to the public API. tests/study/test_rdb.py replays what it wrote through Optuna's own
`load_study` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from optuna.trial import TrialState

__all__ = ["commit_updates"]

_NEEDED = (
    "engine",
    "check_trial_is_updatable",
    "_set_trial_attr_without_commit",
    "_set_trial_value_without_commit",
)


class Update(Protocol):
    """The updates of one trial (`writes._Update`)."""

    user_attrs: dict[str, Any]
    system_attrs: dict[str, Any]
    state: TrialState | None
    values: Sequence[float] | None


def commit_updates(storage: Any, updates: Mapping[int, Update]) -> bool:
    """Apply every update in one transaction; False (nothing done) where this Optuna's RDB
    storage lacks the helpers used."""
    if not all(hasattr(storage, name) for name in _NEEDED):
        return False
    from optuna.storages._rdb import models
    from sqlalchemy.orm import Session

    # A session of its own, not the storage's scoped one: on a finished trial Optuna's check
    # reads the trial through the scoped session and commits it, which would commit half of
    # this transaction before raising.
    session = Session(bind=storage.engine)
    try:
        user, system = models.TrialUserAttributeModel, models.TrialSystemAttributeModel
        for trial_id, update in updates.items():
            _attrs(storage, session, user, trial_id, update.user_attrs)
            _attrs(storage, session, system, trial_id, update.system_attrs)
            if update.state is not None:
                _finish(storage, session, models, trial_id, update)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return True


def _attrs(storage: Any, session: Any, model: Any, trial_id: int, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        storage._set_trial_attr_without_commit(session, model, trial_id, key, value)


def _finish(storage: Any, session: Any, models: Any, trial_id: int, update: Update) -> None:
    assert update.state is not None
    trial = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
    storage.check_trial_is_updatable(trial_id, trial.state)
    for objective, value in enumerate(update.values or ()):
        storage._set_trial_value_without_commit(session, trial, objective, value)
    trial.state = update.state
    if update.state.is_finished():
        trial.datetime_complete = datetime.now()  # naive local time, as Optuna's own setter
