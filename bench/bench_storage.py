"""Benchmark Optuna storages for ftsweep's workload.

    python bench/bench_storage.py              # SQLite + JournalFile, ~2 min on 2 cores
    python bench/bench_storage.py --quick      # 10x smaller, smoke test
    python bench/bench_storage.py --postgres   # also PostgreSQL ($FTSWEEP_TEST_POSTGRES_URL)

The workload is a fine-tuning sweep study with 4 params (log-float, int, categorical, float),
one objective, and 3 user attrs per finished trial.  Sections:

  a) add finished trials: stock ``study.add_trials`` vs. one bulk write (internals)
  b) tell N RUNNING trials (created with the stock ``create_new_trial(template)``):
     per-trial public API vs. batched techniques (some use Optuna internals)
  c) cold load (fresh process) of a 10,000-trial study
  d) ``study.ask()`` x8 with TPESampler on a 1,000-trial study
  e) concurrency checks for the bulk techniques (several processes, one storage)

Every write is checked: each written study is re-read from a *fresh process* and every
trial's state, params, value and user attrs are compared with what was written.

The bulk helpers here (``rdb_bulk_tell``, ``journal_bulk_tell``, ``rdb_bulk_add``,
``journal_bulk_add``) are written against Optuna 5.0.0 internals; see each docstring.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_distribution_compatibility,
    distribution_to_json,
    json_to_distribution,
)
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

# --------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------

DISTRIBUTIONS: dict[str, BaseDistribution] = {
    "learning_rate_multiplier": FloatDistribution(0.02, 2.0, log=True),
    "n_epochs": IntDistribution(1, 10),
    "batch_size": CategoricalDistribution([1, 2, 4, 8, 16, 32]),
    "warmup_ratio": FloatDistribution(0.0, 0.2),
}


def params_for(n: int) -> dict[str, Any]:
    """Deterministic params of trial number ``n`` (so any process can recompute them)."""
    return {
        "learning_rate_multiplier": 0.02 * 100 ** (((n * 7919) % 1009) / 1008),
        "n_epochs": 1 + (n * 31) % 10,
        "batch_size": [1, 2, 4, 8, 16, 32][(n * 17) % 6],
        "warmup_ratio": 0.2 * (((n * 104729) % 997) / 996),
    }


def value_for(n: int, tag: int = 0) -> float:
    return tag * 1000.0 + ((n * 7907) % 10007) / 10007.0


def attrs_for(n: int, tag: int = 0) -> dict[str, Any]:
    return {
        "job_id": f"ftjob-{tag}-{n:07d}",
        "cost_usd": round(0.01 * n + tag, 4),
        "trained_tokens": 1000 * n + tag,
    }


def finished_trial(n: int) -> FrozenTrial:
    return optuna.trial.create_trial(
        params=params_for(n),
        distributions=DISTRIBUTIONS,
        value=value_for(n),
        user_attrs=attrs_for(n),
    )


def running_template(n: int) -> FrozenTrial:
    """What ``study.ask(DISTRIBUTIONS)`` leaves in storage: a RUNNING trial with params."""
    return FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.now(),
        datetime_complete=None,
        params=params_for(n),
        distributions=DISTRIBUTIONS,
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=-1,
    )


@dataclass(frozen=True)
class Result:
    """One finished fine-tuning job to record on an existing RUNNING trial."""

    trial_id: int
    value: float
    user_attrs: dict[str, Any]


# --------------------------------------------------------------------------------------
# Storages
# --------------------------------------------------------------------------------------


def open_storage(kind: str, where: str) -> BaseStorage:
    if kind in ("sqlite", "sqlite-wal"):
        storage = RDBStorage(f"sqlite:///{where}")
        if kind == "sqlite-wal":
            enable_sqlite_wal(storage)
        return storage
    if kind == "postgres":
        return RDBStorage(where)
    if kind == "journal":
        return JournalStorage(JournalFileBackend(where))
    raise ValueError(kind)


def close_storage(storage: BaseStorage) -> None:
    if isinstance(storage, RDBStorage):
        storage.remove_session()
        storage.engine.dispose()


def enable_sqlite_wal(storage: RDBStorage) -> None:
    """Public-API speed-up for SQLite: WAL journal + synchronous=NORMAL on every connection.

    Uses only SQLAlchemy's public event API on ``storage.engine``.  WAL is persistent in the
    database file; synchronous=NORMAL in WAL mode can lose the last commits on power loss
    (not on a process crash), never corrupts.  WAL needs a local file system (no NFS).
    """
    import sqlalchemy

    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    sqlalchemy.event.listen(storage.engine, "connect", _on_connect)
    storage.remove_session()
    storage.engine.dispose()  # drop connections opened before the listener existed


def storage_size(kind: str, where: str) -> int:
    if kind == "postgres":
        return 0
    total = 0
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(where + suffix):
            total += os.path.getsize(where + suffix)
    return total


# --------------------------------------------------------------------------------------
# Bulk techniques: RDBStorage (SQLite / PostgreSQL)
# --------------------------------------------------------------------------------------


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _utc_naive(dt: datetime | None) -> datetime | None:
    # RDBStorage keeps naive UTC in the DB (models.TrialModel.datetime_* setters).
    return None if dt is None else dt.astimezone(UTC).replace(tzinfo=None)


def _rdb_upsert(
    engine_name: str, table: Any, index_elements: list[str], update_cols: list[str]
) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any
    if engine_name == "sqlite":
        insert = sqlite.insert
    elif engine_name == "postgresql":
        insert = postgresql.insert
    else:  # pragma: no cover - MySQL would need on_duplicate_key_update
        raise NotImplementedError(engine_name)
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=index_elements, set_={c: stmt.excluded[c] for c in update_cols}
    )


def rdb_bulk_tell(storage: RDBStorage, results: Sequence[Result]) -> list[int]:
    """Mark many RUNNING trials COMPLETE with one value and user attrs, in ONE transaction.

    Returns the trial ids actually told; trials that were not RUNNING any more (finished by
    someone else) are skipped, like ``study.tell(..., skip_if_finished=True)``.

    How: ``UPDATE trials SET state=COMPLETE ... WHERE trial_id IN (...) AND state=RUNNING
    RETURNING trial_id`` claims the rows (row locks on PostgreSQL, the write lock on
    SQLite), then executemany upserts into ``trial_values`` / ``trial_user_attributes`` for
    the claimed ids only, then one COMMIT.  Readers see all or nothing.

    Optuna internals touched: ``optuna.storages._rdb.models`` (table and column names, the
    naive-UTC datetime convention, ``TrialValueModel.value_to_stored_repr``) and
    ``RDBStorage.engine``.  Tied to schema version 12 / Optuna 5.0: re-check on upgrade.
    """
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    trials = models.TrialModel.__table__
    values_t = models.TrialValueModel.__table__
    attrs_t = models.TrialUserAttributeModel.__table__
    by_id = {r.trial_id: r for r in results}
    now = _utc_naive(datetime.now(UTC))
    name = storage.engine.dialect.name
    told: list[int] = []
    with storage.engine.begin() as conn:
        for ids in _chunks(list(by_id), 500):
            stmt = (
                sa.update(trials)
                .where(trials.c.trial_id.in_(ids), trials.c.state == TrialState.RUNNING)
                .values(state=TrialState.COMPLETE, datetime_complete=now)
                .returning(trials.c.trial_id)
            )
            told.extend(row[0] for row in conn.execute(stmt))
        if not told:
            return told
        value_rows: list[dict[str, Any]] = []
        attr_rows: list[dict[str, Any]] = []
        for tid in told:
            r = by_id[tid]
            stored, vtype = models.TrialValueModel.value_to_stored_repr(r.value)
            value_rows.append(
                {"trial_id": tid, "objective": 0, "value": stored, "value_type": vtype}
            )
            attr_rows.extend(
                {"trial_id": tid, "key": k, "value_json": json.dumps(v)}
                for k, v in r.user_attrs.items()
            )
        conn.execute(
            _rdb_upsert(name, values_t, ["trial_id", "objective"], ["value", "value_type"]),
            value_rows,
        )
        if attr_rows:
            conn.execute(_rdb_upsert(name, attrs_t, ["trial_id", "key"], ["value_json"]), attr_rows)
    return told


def rdb_orm_one_session_tell(storage: RDBStorage, results: Sequence[Result]) -> None:
    """Optuna's own per-trial ORM code, but all trials in one session / one COMMIT.

    The public methods can't be wrapped in an outer transaction: each one runs in
    ``_create_scoped_session``, which commits *and closes* the thread-local scoped session.
    So this calls the private ``_set_trial_attr_without_commit`` /
    ``_set_trial_value_without_commit`` helpers on ``storage.scoped_session()`` directly
    and re-does ``set_trial_state_values``'s body.  All-or-nothing: raises (and rolls back
    everything) if any trial is already finished.
    """
    from optuna.storages._rdb import models

    session = storage.scoped_session()
    try:
        for r in results:
            trial = models.TrialModel.find_or_raise_by_id(r.trial_id, session, for_update=True)
            storage.check_trial_is_updatable(r.trial_id, trial.state)  # type: ignore[arg-type]
            for k, v in r.user_attrs.items():
                storage._set_trial_attr_without_commit(
                    session, models.TrialUserAttributeModel, r.trial_id, k, v
                )
            storage._set_trial_value_without_commit(session, trial, 0, r.value)
            trial.state = TrialState.COMPLETE
            trial.datetime_complete = datetime.now()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rdb_bulk_add(  # noqa: C901
    storage: RDBStorage, study_id: int, frozen: Sequence[FrozenTrial]
) -> list[int]:
    """``study.add_trials`` in one transaction with executemany INSERTs (internals).

    Numbers are assigned like ``TrialModel.count_past_trials`` (trials of the study with a
    smaller trial_id) while holding the study lock (PostgreSQL: ``SELECT ... FOR UPDATE`` on
    the study row, exactly what ``create_new_trial`` takes; SQLite: the database write lock
    taken by the first INSERT).  Validates like ``add_trial`` (``_validate``, distribution
    compatibility with the study's existing params).
    """
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    for t in frozen:
        t._validate()
    studies = models.StudyModel.__table__
    trials = models.TrialModel.__table__
    params_t = models.TrialParamModel.__table__
    values_t = models.TrialValueModel.__table__
    uattrs_t = models.TrialUserAttributeModel.__table__
    sattrs_t = models.TrialSystemAttributeModel.__table__
    inter_t = models.TrialIntermediateValueModel.__table__
    name = storage.engine.dialect.name
    with storage.engine.begin() as conn:
        if name != "sqlite":  # on SQLite a leading SELECT would only invite SQLITE_BUSY
            conn.execute(
                sa.select(studies.c.study_id)
                .where(studies.c.study_id == study_id)
                .with_for_update()
            ).one()
        # Distribution compatibility, as _set_trial_param_without_commit checks it.
        known: dict[str, BaseDistribution] = {}
        for pname in {p for t in frozen for p in t.distributions}:
            row = conn.execute(
                sa.select(params_t.c.distribution_json)
                .join(trials, trials.c.trial_id == params_t.c.trial_id)
                .where(trials.c.study_id == study_id, params_t.c.param_name == pname)
                .limit(1)
            ).first()
            if row is not None:
                known[pname] = json_to_distribution(row[0])
        for t in frozen:
            for pname, dist in t.distributions.items():
                if pname in known:
                    check_distribution_compatibility(known[pname], dist)
                else:
                    known[pname] = dist

        ids = [
            row[0]
            for row in conn.execute(
                sa.insert(trials).returning(trials.c.trial_id, sort_by_parameter_order=True),
                [
                    {
                        "study_id": study_id,
                        "number": None,
                        "state": t.state,
                        "datetime_start": _utc_naive(t.datetime_start),
                        "datetime_complete": _utc_naive(t.datetime_complete),
                    }
                    for t in frozen
                ],
            )
        ]
        lo, hi = ids[0], ids[-1]
        base = int(
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(trials)
                .where(trials.c.study_id == study_id, trials.c.trial_id < lo)
            )
            or 0
        )
        inside = conn.scalar(
            sa.select(sa.func.count())
            .select_from(trials)
            .where(trials.c.study_id == study_id, trials.c.trial_id.between(lo, hi))
        )
        if ids != sorted(ids) or inside != len(ids):
            raise RuntimeError("interleaved trial ids; use study.add_trials instead")
        conn.execute(
            sa.update(trials)
            .where(trials.c.trial_id == sa.bindparam("b_id"))
            .values(number=sa.bindparam("b_number")),
            [{"b_id": tid, "b_number": base + i} for i, tid in enumerate(ids)],
        )
        p_rows, v_rows, ua_rows, sa_rows, iv_rows = [], [], [], [], []
        for tid, t in zip(ids, frozen, strict=True):
            for pname, pval in t.params.items():
                dist = t.distributions[pname]
                p_rows.append(
                    {
                        "trial_id": tid,
                        "param_name": pname,
                        "param_value": dist.to_internal_repr(pval),
                        "distribution_json": distribution_to_json(dist),
                    }
                )
            for obj, v in enumerate(t.values or []):
                stored, vtype = models.TrialValueModel.value_to_stored_repr(v)
                v_rows.append(
                    {"trial_id": tid, "objective": obj, "value": stored, "value_type": vtype}
                )
            for k, v in t.user_attrs.items():
                ua_rows.append({"trial_id": tid, "key": k, "value_json": json.dumps(v)})
            for k, v in t.system_attrs.items():
                sa_rows.append({"trial_id": tid, "key": k, "value_json": json.dumps(v)})
            for step, iv in t.intermediate_values.items():
                stored, ivtype = (
                    models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(iv)
                )
                iv_rows.append(
                    {
                        "trial_id": tid,
                        "step": step,
                        "intermediate_value": stored,
                        "intermediate_value_type": ivtype,
                    }
                )
        for table, rows in (
            (params_t, p_rows),
            (values_t, v_rows),
            (uattrs_t, ua_rows),
            (sattrs_t, sa_rows),
            (inter_t, iv_rows),
        ):
            if rows:
                conn.execute(sa.insert(table), rows)
    return ids


# --------------------------------------------------------------------------------------
# Bulk techniques: JournalStorage
# --------------------------------------------------------------------------------------


def journal_bulk_tell(storage: JournalStorage, results: Sequence[Result]) -> list[int]:
    """Tell many RUNNING trials with ONE ``append_logs`` call (one file lock, one fsync).

    Builds exactly the records the public methods would write (``_write_log``: op_code,
    worker_id + fields), per trial 3 x SET_TRIAL_USER_ATTR (one key each: the replay
    asserts that) then SET_TRIAL_STATE_VALUES with ``datetime_complete`` -- attrs first,
    because the replay rejects any update of a finished trial.  A trial's records are
    contiguous in one append, so concurrent writers can't interleave inside a trial.

    Then replays our own records into the in-memory state (``_sync_with_backend``).
    Every process replays the file in the same order, so the first writer of a trial wins
    everywhere; our records for a trial someone else finished first are skipped by all
    replays.  In *this* process the replay raises for such records (they carry our
    worker_id), so we keep syncing past them.  Returns the trial ids whose tell lost
    (finished by someone else first), like ``skip_if_finished=True``.

    Optuna internals touched: ``JournalStorage._thread_lock``, ``._backend``,
    ``._sync_with_backend``, ``._replay_result`` (worker_id, trials) and the journal log
    format (``JournalOperation`` codes, field names).  The format is the persisted on-disk
    format, so it is kept readable across versions, but re-check on Optuna upgrades.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages.journal._storage import JournalOperation

    rejected: list[int] = []
    written: list[Result] = []
    with storage._thread_lock:
        storage._sync_with_backend()
        replay = storage._replay_result
        worker_id = replay.worker_id
        now = datetime.now(tz=UTC).isoformat(timespec="microseconds")
        logs: list[dict[str, Any]] = []
        for r in results:
            t = replay._trials.get(r.trial_id)
            if t is None:
                raise KeyError(f"trial_id {r.trial_id} does not exist")
            if t.state.is_finished():
                rejected.append(r.trial_id)  # known to be finished before writing: skip
                continue
            written.append(r)
            for k, v in r.user_attrs.items():
                logs.append(
                    {
                        "op_code": int(JournalOperation.SET_TRIAL_USER_ATTR),
                        "worker_id": worker_id,
                        "trial_id": r.trial_id,
                        "user_attr": {k: v},
                    }
                )
            logs.append(
                {
                    "op_code": int(JournalOperation.SET_TRIAL_STATE_VALUES),
                    "worker_id": worker_id,
                    "trial_id": r.trial_id,
                    "state": int(TrialState.COMPLETE),
                    "values": [r.value],
                    "datetime_complete": now,
                }
            )
        if logs:
            storage._backend.append_logs(logs)
        for _ in range(len(logs) + 1):
            try:
                storage._sync_with_backend()
                break
            except (UpdateFinishedTrialError, KeyError):
                # The failing record is already counted as read; go on after it.
                continue
        for r in written:
            t = replay._trials[r.trial_id]
            if t.values != [r.value] or any(
                t.user_attrs.get(k) != v for k, v in r.user_attrs.items()
            ):
                rejected.append(r.trial_id)
    return rejected


def journal_bulk_add(storage: JournalStorage, study_id: int, frozen: Sequence[FrozenTrial]) -> None:
    """``study.add_trials`` as ONE ``append_logs`` of CREATE_TRIAL records.

    The records are the ones ``JournalStorage.create_new_trial(template_trial=...)`` writes
    (code mirrored from Optuna 5.0.0), so the file is the same as after stock add_trials;
    only the number of lock/fsync/replay round trips differs.  Same internals as
    ``journal_bulk_tell``.
    """
    from optuna.storages.journal._storage import JournalOperation

    for t in frozen:
        t._validate()
    with storage._thread_lock:
        worker_id = storage._replay_result.worker_id
        logs = []
        for t in frozen:
            log: dict[str, Any] = {
                "op_code": int(JournalOperation.CREATE_TRIAL),
                "worker_id": worker_id,
                "study_id": study_id,
                "state": int(t.state),
            }
            if t.values is not None and len(t.values) > 1:
                log["value"], log["values"] = None, t.values
            else:
                log["value"], log["values"] = t.value, None
            log["datetime_start"] = (
                t.datetime_start.astimezone(UTC).isoformat(timespec="microseconds")
                if t.datetime_start
                else None
            )
            if t.datetime_complete:
                log["datetime_complete"] = t.datetime_complete.astimezone(UTC).isoformat(
                    timespec="microseconds"
                )
            log["distributions"] = {k: distribution_to_json(d) for k, d in t.distributions.items()}
            log["params"] = {k: t.distributions[k].to_internal_repr(v) for k, v in t.params.items()}
            log["user_attrs"] = t.user_attrs
            log["system_attrs"] = t.system_attrs
            log["intermediate_values"] = t.intermediate_values
            logs.append(log)
        storage._backend.append_logs(logs)
        storage._sync_with_backend()


# --------------------------------------------------------------------------------------
# Per-trial (public API) tells
# --------------------------------------------------------------------------------------


def per_trial_tell(storage: BaseStorage, results: Sequence[Result]) -> None:
    """Public storage API: 3 x set_trial_user_attr + set_trial_state_values per trial."""
    for r in results:
        for k, v in r.user_attrs.items():
            storage.set_trial_user_attr(r.trial_id, k, v)
        storage.set_trial_state_values(r.trial_id, TrialState.COMPLETE, [r.value])


def study_tell(study: optuna.Study, numbers: Sequence[int], results: Sequence[Result]) -> None:
    """What naive ftsweep code would do: user attrs, then ``study.tell(number, value)``."""
    storage = study._storage
    for n, r in zip(numbers, results, strict=True):
        for k, v in r.user_attrs.items():
            storage.set_trial_user_attr(r.trial_id, k, v)
        study.tell(n, r.value)


# --------------------------------------------------------------------------------------
# Verification (runs in a fresh process)
# --------------------------------------------------------------------------------------


def check_study(storage: BaseStorage, study_name: str, spec: dict[str, Any]) -> list[str]:
    """Compare every trial of the study with the deterministic workload.

    spec: {"n": total trials, "complete": [lo, hi) numbers that must be COMPLETE with
    value/attrs (others must be RUNNING), "tag": value tag}.
    """
    errors: list[str] = []
    study_id = storage.get_study_id_from_name(study_name)
    trials = storage.get_all_trials(study_id, deepcopy=False)
    n, (lo, hi), tag = spec["n"], spec["complete"], spec.get("tag", 0)
    if len(trials) != n:
        errors.append(f"{study_name}: {len(trials)} trials, expected {n}")
    if sorted(t.number for t in trials) != list(range(len(trials))):
        errors.append(f"{study_name}: trial numbers are not 0..{len(trials) - 1}")
    for t in trials:
        if len(errors) > 5:
            break
        if t.params != params_for(t.number) or set(t.distributions) != set(DISTRIBUTIONS):
            errors.append(f"{study_name} #{t.number}: params {t.params}")
        if lo <= t.number < hi:
            ok = (
                t.state == TrialState.COMPLETE
                and t.values == [value_for(t.number, tag)]
                and t.user_attrs == attrs_for(t.number, tag)
                and t.datetime_complete is not None
            )
            if not ok:
                errors.append(f"{study_name} #{t.number}: {t.state} {t.values} {t.user_attrs}")
        elif t.state != TrialState.RUNNING or t.values is not None:
            errors.append(f"{study_name} #{t.number}: expected untouched RUNNING, got {t.state}")
    return errors


def run_child(spec: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec['op']} failed:\n{proc.stdout}\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def verify_fresh(kind: str, where: str, studies: dict[str, dict[str, Any]]) -> None:
    out = run_child({"op": "verify", "kind": kind, "where": where, "studies": studies})
    if out["errors"]:
        raise AssertionError(f"{kind} {where}: verification failed: {out['errors']}")


# --------------------------------------------------------------------------------------
# Child-process operations
# --------------------------------------------------------------------------------------


def _wait_for(path: str, timeout: float = 60) -> None:
    """Say we're ready (a ``<path>.ready.<pid>`` file), then wait for the go file."""
    open(f"{path}.ready.{os.getpid()}", "w").close()
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.001)


def child_main(spec: dict[str, Any]) -> dict[str, Any]:
    op, kind, where = spec["op"], spec["kind"], spec["where"]
    if op == "verify":
        storage = open_storage(kind, where)
        errors: list[str] = []
        for name, s in spec["studies"].items():
            errors += check_study(storage, name, s)
        close_storage(storage)
        return {"errors": errors}
    if op == "load":
        # Cold load: fresh process, nothing cached.  Times open+load_study, then the call.
        t0 = time.perf_counter()
        storage = open_storage(kind, where)
        study = optuna.load_study(study_name=spec["study"], storage=storage)
        t1 = time.perf_counter()
        if spec["method"] == "dataframe":
            n = len(study.trials_dataframe())
        else:
            n = len(study._storage.get_all_trials(study._study_id, deepcopy=False))
        t2 = time.perf_counter()
        errors = check_study(storage, spec["study"], spec["check"]) if spec.get("check") else []
        close_storage(storage)
        return {"open": t1 - t0, "call": t2 - t1, "n": n, "errors": errors}
    if op == "conc-bulk-tell":
        storage = open_storage(kind, where)
        study_id = storage.get_study_id_from_name(spec["study"])
        by_number = {t.number: t._trial_id for t in storage.get_all_trials(study_id)}
        lo, hi, tag = spec["lo"], spec["hi"], spec["tag"]
        # Both writers do the shared range first, in the same order, to really collide.
        a, b = spec["overlap"]
        order = list(range(a, b)) + [n for n in range(lo, hi) if not a <= n < b]
        results = [Result(by_number[n], value_for(n, tag), attrs_for(n, tag)) for n in order]
        _wait_for(spec["go"])
        # Several smaller batches, so the writers really interleave.
        told = rejected = 0
        for batch in _chunks(results, spec["batch"]):
            if isinstance(storage, JournalStorage):
                lost = len(journal_bulk_tell(storage, batch))
                told += len(batch) - lost
                rejected += lost
            else:
                assert isinstance(storage, RDBStorage)
                got = rdb_bulk_tell(storage, batch)
                told += len(got)
                rejected += len(batch) - len(got)
        view = {
            t.number: (t.values, t.user_attrs.get("job_id"))
            for t in storage.get_all_trials(study_id, deepcopy=False)
            if lo <= t.number < hi  # our range: finished (by us or the other writer) by now
        }
        close_storage(storage)
        return {"rejected": rejected, "told": told, "view": view}
    if op == "conc-ask-tell":
        storage = open_storage(kind, where)
        study = optuna.load_study(
            study_name=spec["study"], storage=storage, sampler=optuna.samplers.RandomSampler(0)
        )
        _wait_for(spec["go"])
        numbers = []
        for _ in range(spec["count"]):
            trial = study.ask(DISTRIBUTIONS)
            numbers.append(trial.number)
            study.tell(trial, 5000.0 + trial.number)
        close_storage(storage)
        return {"numbers": numbers}
    raise ValueError(op)


# --------------------------------------------------------------------------------------
# Benchmark driver
# --------------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    kind: str
    technique: str
    n: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.inf


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="ftsweep-bench-")
        self.rows: list[Row] = []
        self.scale = 10 if args.quick else 1
        self.kinds = ["sqlite", "journal"] + (["postgres"] if args.postgres else [])
        self._pg_dbs: list[str] = []
        self._pg_server = os.environ.get("FTSWEEP_TEST_POSTGRES_URL", "")
        self.failed = False
        self.c_where: dict[str, tuple[str, int]] = {}

    # -- helpers ---------------------------------------------------------------------
    def n(self, full: int) -> int:
        return max(20, full // self.scale)

    def where(self, kind: str, name: str) -> str:
        if kind in ("sqlite", "sqlite-wal"):
            return os.path.join(self.tmp, f"{name}.db")
        if kind == "journal":
            return os.path.join(self.tmp, f"{name}.log")
        # postgres: a fresh database per name on the configured server
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        dbname = f"ftsweep_bench_{name}_{uuid.uuid4().hex[:8]}"
        admin = make_url(self._pg_server).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        self._pg_dbs.append(dbname)
        return make_url(self._pg_server).set(database=dbname).render_as_string(hide_password=False)

    def cleanup(self) -> None:
        if self._pg_dbs:
            import psycopg
            from psycopg import sql
            from sqlalchemy.engine import make_url

            admin = make_url(self._pg_server).set(drivername="postgresql")
            with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
                for db in self._pg_dbs:
                    c.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(db)
                        )
                    )
        if self.args.keep:
            print(f"(kept {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"  {row.section:<3} {row.kind:<10} {row.technique:<44} n={row.n:>6}  "
            f"{row.seconds:8.3f}s  {row.rate:>10,.0f}/s  {row.note}",
            flush=True,
        )

    def timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    def new_study(self, storage: BaseStorage, name: str) -> optuna.Study:
        return optuna.create_study(storage=storage, study_name=name, direction="minimize")

    def create_running(self, storage: BaseStorage, study_id: int, n: int) -> list[int]:
        return [storage.create_new_trial(study_id, running_template(i)) for i in range(n)]

    # -- a) add_trials -------------------------------------------------------------------
    def section_a(self) -> None:
        print("\na) add N finished trials (4 params, value, 3 user attrs)", flush=True)
        for kind in self.kinds:
            n = self.n(2000)
            where = self.where(kind, "a")
            storage = open_storage(kind, where)
            study = self.new_study(storage, "a_stock")
            frozen = [finished_trial(i) for i in range(n)]
            dt, _ = self.timed(lambda: study.add_trials(frozen))  # noqa: B023 (called at once)
            self.add(Row("a", kind, "stock study.add_trials", n, dt))

            n_bulk = self.n(10000)
            frozen = [finished_trial(i) for i in range(n_bulk)]
            bulk_where = self.where(kind, "c10k")  # also the 10k-trial study for section c
            bstorage = open_storage(kind, bulk_where)
            bstudy = self.new_study(bstorage, "c10k")
            if isinstance(bstorage, RDBStorage):
                sid = bstudy._study_id
                dt, _ = self.timed(lambda: rdb_bulk_add(bstorage, sid, frozen))  # noqa: B023
                tech = "bulk add: 1 tx, executemany (internals)"
            else:
                assert isinstance(bstorage, JournalStorage)
                sid = bstudy._study_id
                dt, _ = self.timed(lambda: journal_bulk_add(bstorage, sid, frozen))  # noqa: B023
                tech = "bulk add: 1 append_logs (internals)"
            self.add(Row("a", kind, tech, n_bulk, dt))
            close_storage(storage)
            close_storage(bstorage)
            verify_fresh(kind, where, {"a_stock": {"n": n, "complete": [0, n]}})
            verify_fresh(kind, bulk_where, {"c10k": {"n": n_bulk, "complete": [0, n_bulk]}})
            self.c_where[kind] = (bulk_where, n_bulk)

    # -- b) tells ------------------------------------------------------------------------
    def _tell_case(
        self,
        kind: str,
        technique: str,
        n: int,
        tell: Callable[[BaseStorage, optuna.Study, list[int], list[Result]], Any],
        storage_kind: str | None = None,
        note: str = "",
        bulk_create: bool = False,
    ) -> None:
        sk = storage_kind or kind
        where = self.where(sk, f"b_{len(self.rows)}")
        storage = open_storage(sk, where)
        study = self.new_study(storage, "b")
        t0 = time.perf_counter()
        if bulk_create:  # only to afford N=10,000 on SQLite; same rows as create_new_trial
            assert isinstance(storage, RDBStorage)
            ids = rdb_bulk_add(storage, study._study_id, [running_template(i) for i in range(n)])
        else:
            ids = self.create_running(storage, study._study_id, n)
        ask_dt = time.perf_counter() - t0
        results = [Result(tid, value_for(i), attrs_for(i)) for i, tid in enumerate(ids)]
        numbers = list(range(n))
        dt, _ = self.timed(lambda: tell(storage, study, numbers, results))
        # Same process, fresh read: everything COMPLETE?
        states = {t.state for t in storage.get_all_trials(study._study_id, deepcopy=False)}
        assert states == {TrialState.COMPLETE}, states
        close_storage(storage)
        verify_fresh(sk, where, {"b": {"n": n, "complete": [0, n]}})
        how = "bulk add" if bulk_create else "ask"
        self.add(Row("b", sk, technique, n, dt, note + f" [{how}: {n / ask_dt:,.0f}/s]"))

    def section_b(self) -> None:
        print(
            "\nb) tell N RUNNING trials (created by stock create_new_trial(template), rate in [])"
            " -> COMPLETE + value + 3 user attrs; every result re-checked from a fresh process",
            flush=True,
        )

        def per_trial(storage: BaseStorage, study: optuna.Study, nums: Any, res: Any) -> None:
            per_trial_tell(storage, res)

        def via_study(storage: BaseStorage, study: optuna.Study, nums: Any, res: Any) -> None:
            study_tell(study, nums, res)

        def rdb_orm(storage: BaseStorage, study: optuna.Study, nums: Any, res: Any) -> None:
            assert isinstance(storage, RDBStorage)
            rdb_orm_one_session_tell(storage, res)

        def rdb_core(storage: BaseStorage, study: optuna.Study, nums: Any, res: Any) -> None:
            assert isinstance(storage, RDBStorage)
            assert len(rdb_bulk_tell(storage, res)) == len(res)

        def journal_bulk(storage: BaseStorage, study: optuna.Study, nums: Any, res: Any) -> None:
            assert isinstance(storage, JournalStorage)
            assert journal_bulk_tell(storage, res) == []

        for kind in self.kinds:
            if kind == "journal":
                self._tell_case(
                    kind, "study.tell + attrs, per trial (stock)", self.n(1000), via_study
                )
                self._tell_case(kind, "public API per trial (4 calls)", self.n(10000), per_trial)
                self._tell_case(
                    kind, "bulk: 1 append_logs (internals)", self.n(10000), journal_bulk
                )
            else:
                scaled = "(N scaled down: too slow)"
                self._tell_case(
                    kind,
                    "study.tell + attrs, per trial (stock)",
                    self.n(200),
                    via_study,
                    note=scaled,
                )
                self._tell_case(
                    kind, "public API per trial (4 calls)", self.n(500), per_trial, note=scaled
                )
                if kind == "sqlite":
                    self._tell_case(
                        kind,
                        "public API per trial, WAL+sync=NORMAL",
                        self.n(500),
                        per_trial,
                        storage_kind="sqlite-wal",
                        note=scaled,
                    )
                self._tell_case(
                    kind, "ORM helpers, 1 session (internals)", self.n(500), rdb_orm, note=scaled
                )
                self._tell_case(
                    kind,
                    "bulk: 1 tx UPDATE..RETURNING+upserts (int.)",
                    self.n(1000),
                    rdb_core,
                    note="(stock-created trials)",
                )
                self._tell_case(
                    kind,
                    "bulk: 1 tx UPDATE..RETURNING+upserts (int.)",
                    self.n(10000),
                    rdb_core,
                    bulk_create=True,
                    note="(RUNNING trials made by bulk add)",
                )

    # -- c) cold load ---------------------------------------------------------------------
    def section_c(self) -> None:
        print("\nc) cold load of the 10,000-trial study (fresh process each)", flush=True)
        for kind in self.kinds:
            where, n = self.c_where[kind]
            size = storage_size(kind, where)
            for method in ("get_all_trials", "dataframe"):
                out = run_child(
                    {
                        "op": "load",
                        "kind": kind,
                        "where": where,
                        "study": "c10k",
                        "method": method,
                        "check": {"n": n, "complete": [0, n]}
                        if method == "get_all_trials"
                        else None,
                    }
                )
                assert out["n"] == n and not out["errors"], out
                label = (
                    "get_all_trials(deepcopy=False)"
                    if method != "dataframe"
                    else "trials_dataframe()"
                )
                note = f"= open+load_study {out['open']:.3f}s + call {out['call']:.3f}s"
                if size:
                    note += f", file {size / 1e6:.1f} MB"
                self.add(Row("c", kind, "cold " + label, n, out["open"] + out["call"], note))

    # -- d) TPE asks -----------------------------------------------------------------------
    def section_d(self) -> None:
        print("\nd) study.ask(DISTRIBUTIONS) x8, TPESampler, 1,000-trial study", flush=True)
        for kind in self.kinds:
            n = self.n(1000)
            where = self.where(kind, "d1k")
            storage = open_storage(kind, where)
            study = self.new_study(storage, "d1k")
            frozen = [finished_trial(i) for i in range(n)]
            if isinstance(storage, RDBStorage):
                rdb_bulk_add(storage, study._study_id, frozen)
            else:
                assert isinstance(storage, JournalStorage)
                journal_bulk_add(storage, study._study_id, frozen)
            close_storage(storage)
            verify_fresh(kind, where, {"d1k": {"n": n, "complete": [0, n]}})

            # Fresh storage object (cold cache), same process.
            t0 = time.perf_counter()
            storage = open_storage(kind, where)
            study = optuna.load_study(
                study_name="d1k", storage=storage, sampler=optuna.samplers.TPESampler(seed=0)
            )
            t_open = time.perf_counter() - t0
            per_ask = []
            for _ in range(8):
                dt, trial = self.timed(lambda: study.ask(DISTRIBUTIONS))  # noqa: B023
                per_ask.append(dt)
                assert set(trial.params) == set(DISTRIBUTIONS)
            warm, _ = self.timed(lambda: [study.ask(DISTRIBUTIONS) for _ in range(8)])  # noqa: B023
            close_storage(storage)
            self.add(
                Row(
                    "d",
                    kind,
                    "8 x ask(), cold storage object",
                    8,
                    sum(per_ask),
                    f"first {per_ask[0] * 1000:.0f} ms, next {1000 * sum(per_ask[1:]) / 7:.0f} ms"
                    f"/ask; open {t_open:.2f}s; next 8 asks {warm:.2f}s",
                )
            )

    # -- e) concurrency --------------------------------------------------------------------
    def section_e(self) -> None:  # noqa: C901
        print(
            "\ne) concurrency: 2 processes bulk-tell OVERLAPPING trial ranges + 1 process doing"
            " stock ask/tell, all at once",
            flush=True,
        )
        for kind in self.kinds:
            n = self.n(2000) if kind == "journal" else self.n(500)
            where = self.where(kind, "e")
            storage = open_storage(kind, where)
            study = self.new_study(storage, "e")
            self.create_running(storage, study._study_id, n)
            close_storage(storage)
            go = os.path.join(self.tmp, f"go-{kind}")
            third = n // 3
            specs = [
                {"op": "conc-bulk-tell", "lo": 0, "hi": 2 * third, "tag": 1},
                {"op": "conc-bulk-tell", "lo": third, "hi": n, "tag": 2},
            ]
            for s in specs:
                s.update(kind=kind, where=where, study="e", go=go, batch=max(10, n // 20))
                s["overlap"] = [third, 2 * third]
            asker: dict[str, Any] = {"op": "conc-ask-tell", "kind": kind, "where": where}
            asker.update(study="e", go=go, count=50)
            procs = [
                subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--_child", json.dumps(s)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for s in [*specs, asker]
            ]
            deadline = time.monotonic() + 120
            while sum(f.startswith(f"go-{kind}.ready.") for f in os.listdir(self.tmp)) < len(procs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    break  # a child died or hangs: communicate() below reports it
                time.sleep(0.01)
            t0 = time.perf_counter()
            open(go, "w").close()
            outs = []
            for p in procs:
                so, se = p.communicate(timeout=300)
                if p.returncode != 0:
                    raise RuntimeError(f"concurrency child failed:\n{so}\n{se}")
                outs.append(json.loads(so.strip().splitlines()[-1]))
            wall = time.perf_counter() - t0

            storage = open_storage(kind, where)
            sid = storage.get_study_id_from_name("e")
            trials = storage.get_all_trials(sid, deepcopy=False)
            close_storage(storage)
            problems = []
            if sorted(t.number for t in trials) != list(range(n + 50)):
                problems.append("trial numbers not unique/contiguous")
            if any(t.state != TrialState.COMPLETE for t in trials):
                problems.append("not all trials COMPLETE")
            winners = {1: 0, 2: 0}
            for t in trials:
                if t.number >= n:
                    if t.values != [5000.0 + t.number]:
                        problems.append(f"asked trial #{t.number} wrong")
                    continue
                tag = int(t.values[0] // 1000) if t.values else -1
                if tag not in (1, 2) or t.values != [value_for(t.number, tag)]:
                    problems.append(f"#{t.number} values {t.values}")
                    continue
                if t.user_attrs != attrs_for(t.number, tag):  # attrs from the same writer
                    problems.append(f"#{t.number} attrs of the other writer")
                if third <= t.number < 2 * third:
                    winners[tag] += 1
                if (t.number < third and tag != 1) or (t.number >= 2 * third and tag != 2):
                    problems.append(f"#{t.number} written by a writer that didn't own it")
            told_total = sum(o.get("told", 0) for o in outs[:2])
            rejected = sum(o["rejected"] for o in outs[:2])
            # Every process must see the same final winner per trial as a fresh reader.
            final = {str(t.number): (t.values, t.user_attrs.get("job_id")) for t in trials}
            for o in outs[:2]:
                for num, view in o["view"].items():
                    if int(num) < n and final[num] != (view[0], view[1]):
                        problems.append(f"process view differs on #{num}")
                        break
            overlap = (2 * third) - third
            if rejected != overlap:
                problems.append(f"{rejected} rejected tells, expected {overlap} (the overlap)")
            verdict = "PASS" if not problems else "FAIL: " + "; ".join(problems[:5])
            note = (
                f"{verdict}; overlap {overlap}: wins w1={winners[1]} w2={winners[2]}, "
                f"rejected {rejected}; +50 stock ask/tell"
            )
            note += f"; told {told_total}"
            self.add(Row("e", kind, "2 bulk tellers + 1 ask/tell, concurrent", n + 50, wall, note))
            if problems:
                self.failed = True

    # -- summary ---------------------------------------------------------------------------
    def summary(self) -> None:
        base = next(
            (
                r
                for r in self.rows
                if r.section == "a" and r.kind == "sqlite" and "stock" in r.technique
            ),
            None,
        )
        print("\n" + "=" * 118)
        print(
            f"{'':3} {'storage':<10} {'technique':<44} {'n':>6} {'seconds':>9} {'per s':>10}"
            f" {'x stock add_trials(SQLite)':>27}"
        )
        print("-" * 118)
        for r in self.rows:
            ratio = ""
            if base and r.section in ("a", "b"):
                ratio = f"{r.rate / base.rate:,.1f}x"
            print(
                f"{r.section:<3} {r.kind:<10} {r.technique:<44} {r.n:>6} {r.seconds:>9.3f}"
                f" {r.rate:>10,.0f} {ratio:>27}"
            )
            if r.note and r.section in ("b", "c", "d", "e"):
                print(f"{'':15}{r.note}")
        print("=" * 118)
        print(
            f"optuna {optuna.__version__}, python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cpus; temp dir {self.tmp}"
        )


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "--_child":
        print(json.dumps(child_main(json.loads(sys.argv[2]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10x smaller (smoke test)")
    ap.add_argument(
        "--postgres", action="store_true", help="also PostgreSQL at $FTSWEEP_TEST_POSTGRES_URL"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--sections", default="abcde", help="which sections to run (default abcde)")
    args = ap.parse_args()
    if args.postgres and not os.environ.get("FTSWEEP_TEST_POSTGRES_URL"):
        ap.error("--postgres needs FTSWEEP_TEST_POSTGRES_URL (source .ci/postgres.sh; pg_start)")
    bench = Bench(args)
    t0 = time.perf_counter()
    try:
        if "a" in args.sections or "c" in args.sections:
            bench.section_a()
        if "b" in args.sections:
            bench.section_b()
        if "c" in args.sections:
            bench.section_c()
        if "d" in args.sections:
            bench.section_d()
        if "e" in args.sections:
            bench.section_e()
        bench.summary()
    finally:
        bench.cleanup()
    print(f"total {time.perf_counter() - t0:.1f}s")
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
