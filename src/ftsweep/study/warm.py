"""Warm start: what other sweeps' finished trials teach this sweep's sampler.

`search: {warm_start: [...]}` names other sweeps: a sweep file (relative to this one; its study
is read from the storage this sweep was given, or else its own default), or the name of a study
in this sweep's storage (sweeps beside each other share the default journal). Their complete
trials join the sampler's in-memory study, never the sweep's own: they cost no budget, count no
trial and are not in `ftsweep trials`, but they count towards the start-up, and the sampler
learns from them at once.

A trial of another space carries over on the parameters the spaces share: each parameter whose
name is one of this sweep's and whose value this sweep's range holds (a learning rate outside
this range is left out, the trial's other parameters still count). A number chosen where this
sweep also allows "auto" is a number, not "auto". A trial that shares nothing is left out. The
studies must optimise the same metrics in the same directions: another objective is an error,
since its values would mislead the sampler. Each problem is a PlanError (exit 2) naming the
sweep file, the field and the entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep.errors import FtsweepError, PlanError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

    from ftsweep.study.store.trial_store import TrialStore

__all__ = ["warm_trials"]

_SWEEP_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
_FIELD = "search.warm_start"


def warm_trials(store: TrialStore) -> list[FrozenTrial]:
    """The finished trials of the sweeps `store`'s sweep warm-starts from, in its parameters."""
    sweep = store.sweep
    if not sweep.spec.search.warm_start:
        return []
    ours = store.encoding.distributions()
    metrics = [o.metric for o in sweep.objectives]
    directions = [o.direction or "minimize" for o in sweep.objectives]
    found: list[FrozenTrial] = []
    for entry in sweep.spec.search.warm_start:
        for trial in _source(store, entry, metrics, directions):
            moved = _moved(trial, ours)
            if moved is not None:
                found.append(moved)
    return found


def _source(
    store: TrialStore, entry: str, metrics: Sequence[str], directions: Sequence[str]
) -> list[FrozenTrial]:
    path = Path(entry).expanduser()
    if not path.is_absolute():
        path = Path(store.sweep.file).parent / path
    if path.suffix.lower() in _SWEEP_SUFFIXES or path.is_file():
        return _from_file(store, entry, path, metrics, directions)
    return _from_storage(store.storage, entry, store, metrics, directions)


def _from_file(
    store: TrialStore,
    entry: str,
    path: Path,
    metrics: Sequence[str],
    directions: Sequence[str],
) -> list[FrozenTrial]:
    from ftsweep.study.records import State
    from ftsweep.study.store.trial_store import TrialStore
    from ftsweep.sweep.load import load_sweep

    where = f"{store.sweep.file}: {_FIELD}: {entry}"
    if not path.is_file():
        raise PlanError(f"{where}: no such sweep file: {path}")
    try:
        other = load_sweep(path)
    except FtsweepError as exc:
        raise PlanError(f"{where}: the sweep file does not load:\n{exc}") from None
    if other.name == store.sweep.name:
        raise PlanError(f"{where}: is this sweep itself ({other.name!r})")
    theirs = [o.metric for o in other.objectives], [o.direction for o in other.objectives]
    _same_objectives(where, theirs, metrics, directions)
    source = TrialStore(other, store.requested)
    try:
        if not source.location.exists():
            url = source.location.url
            raise PlanError(f"{where}: sweep {other.name!r} has no study yet in {url}")
        records = [t for t in source.load().trials if t.live and t.state == State.COMPLETE]
        return source.optuna_trials(records)
    finally:
        source.close()


def _from_storage(
    storage: BaseStorage,
    name: str,
    store: TrialStore,
    metrics: Sequence[str],
    directions: Sequence[str],
) -> list[FrozenTrial]:
    from optuna.trial import TrialState

    where = f"{store.sweep.file}: {_FIELD}: {name}"
    if name == store.sweep.name:
        raise PlanError(f"{where}: is this sweep itself")
    studies = {s.study_name: s for s in storage.get_all_studies()}
    study = studies.get(name)
    if study is None:
        known = ", ".join(sorted(n for n in studies if n != store.sweep.name)) or "none"
        raise PlanError(
            f"{where}: no sweep file and no study of that name in {store.location.url} "
            f"(other studies there: {known})"
        )
    theirs = (
        list(study.system_attrs.get("study:metric_names") or metrics),
        [d.name.lower() for d in study.directions],
    )
    _same_objectives(where, theirs, metrics, directions)
    study_id = storage.get_study_id_from_name(name)
    trials = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if not t.system_attrs.get("ftsweep:discarded")]


def _same_objectives(
    where: str,
    theirs: tuple[Sequence[Any], Sequence[Any]],
    metrics: Sequence[str],
    directions: Sequence[str],
) -> None:
    if list(theirs[0]) == list(metrics) and list(theirs[1]) == list(directions):
        return
    mine = ", ".join(f"{m} ({d})" for m, d in zip(metrics, directions, strict=True))
    other = ", ".join(f"{m} ({d})" for m, d in zip(*theirs, strict=False))
    raise PlanError(f"{where}: optimises {other}, this sweep {mine}: its values would mislead")


def _moved(trial: FrozenTrial, ours: Mapping[str, BaseDistribution]) -> FrozenTrial | None:
    """The trial in this sweep's parameters (those it shares), or None when it shares none."""
    from optuna.trial import TrialState, create_trial

    params: dict[str, Any] = {}
    for name, value in trial.params.items():
        dist = ours.get(name)
        if dist is not None and _holds(dist, value):
            params[name] = value
    for name in list(params):
        flag = f"{name}.auto"
        if flag in ours and flag not in params:
            params[flag] = False  # a number was chosen: where "auto" is an option, not "auto"
    if not params or trial.values is None:
        return None
    return create_trial(
        state=TrialState.COMPLETE,
        values=list(trial.values),
        params=params,
        distributions={name: ours[name] for name in params},
    )


def _holds(dist: BaseDistribution, value: Any) -> bool:
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError, IndexError):
        return False
