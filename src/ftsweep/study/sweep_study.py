"""A sweep's study: asking it for trials (the bookkeeping of `ask`, over the trial store).

Every trial a sweep hands out is a trial of its study: static strategies (grid, random, sobol)
take the next unused points of their seeded sequence, adaptive ones (tpe, gp, cmaes, nsga2) the
distinct proposals of the study's sampler (`ftsweep.study.store.samplers.Proposer`). Handing out
happens under the study's lock, so concurrent workers never receive the same trial or the same
point; the trials are written whole, in one `TrialStore.apply`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftsweep.errors import StudyError
from ftsweep.study.batch import AskedTrial, Batch, Shortfall
from ftsweep.study.delivery import (
    delivered_in_file,
    is_orphaned,
    is_stream,
    pending_marker,
)
from ftsweep.study.records import (
    Create,
    Deliver,
    Discard,
    JobRecord,
    State,
    TrialRecord,
    Write,
)
from ftsweep.study.store.trial_store import Snapshot, TrialStore
from ftsweep.sweep.jobs import JobRenderer, trial_key, trial_number
from ftsweep.sweep.space import ConfigKey, Space, configuration_key
from ftsweep.sweep.spec import MAX_TRIALS
from ftsweep.sweep.strategies import STATIC, sequence

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler
    from threadpoolctl import ThreadpoolController

    from ftsweep.data.cost import Costing, Estimate
    from ftsweep.study.store.storage import StorageLocation
    from ftsweep.sweep.load import Sweep

__all__ = ["SweepStudy"]


class SweepStudy:
    """The study of one sweep, in the storage `storage` names (or the default)."""

    def __init__(
        self,
        sweep: Sweep,
        storage: str | None = None,
        costing: Costing | None = None,
        *,
        sampler: Callable[[int], BaseSampler] | None = None,
    ) -> None:
        self.sweep = sweep
        #: Makes the sampler of an adaptive strategy from a seed, in place of ftsweep's own
        #: search (its startup design and baseline included): plain Optuna, for comparisons.
        self.sampler = sampler
        self.store = TrialStore(sweep, storage)
        self.renderer = JobRenderer(sweep)
        #: Prices the trials `ask` hands out, and keeps them within the sweep's budget.
        self.costing = costing

    @property
    def location(self) -> StorageLocation:
        return self.store.location

    @property
    def name(self) -> str:
        return self.sweep.name

    def close(self) -> None:
        """Release the storage's database connections (journal files hold none)."""
        self.store.close()

    def __enter__(self) -> SweepStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def money(self) -> Costing | None:
        """The costing, made from the sweep's own files the first time a budget or a `cost`
        objective needs it, when the study was opened without one."""
        if self.costing is None and (self.sweep.spec.budget is not None or self.sweep.costs):
            from ftsweep.data.cost import costing_for

            self.costing = costing_for(self.sweep)
        return self.costing

    def key(self, number: int) -> str:
        return trial_key(self.name, number)

    def number_of(self, key: str) -> int | None:
        """The trial number a key names, or None when it is not a key of this sweep."""
        return trial_number(self.name, key)

    def trials(self) -> list[TrialRecord]:
        """Every trial of the study, read without a lock and without creating anything. A
        storage that holds no study of this sweep is a NoStudyError."""
        return self.store.load().trials

    # -- asking --------------------------------------------------------------------------

    def ask(self, n: int) -> Batch:
        """Hand out the next `n` trials (fewer when `max_trials` or the space runs out; the
        batch's `shortfall` says which). They are delivered: returned is handed out."""
        return self._allocate(n, None)

    def _allocate(self, n: int, pending: dict[str, Any] | None) -> Batch:
        if not 1 <= n <= MAX_TRIALS:
            raise StudyError(f"ask for 1 to {MAX_TRIALS:,} trials, not {n:,}")
        with self.store.lock():
            snapshot = self._reclaimed(self.store.load(write=True))
            live = [t for t in snapshot.trials if t.live]
            count = self._budget(live, n)
            if self.sweep.strategy in STATIC:
                creates = self._ask_static(live, count, pending)
            else:
                creates = self._ask_adaptive(live, count, pending)
            creates, over_budget = self._priced(live, creates)
            numbers = self.store.apply(creates)
        asked = [self._asked(number, c) for number, c in zip(numbers, creates, strict=True)]
        if over_budget is not None:
            return Batch(asked, n, Shortfall("budget", over_budget))
        return Batch(asked, n, self._shortfall(len(asked), n, count))

    def _priced(
        self, live: Sequence[TrialRecord], creates: list[Create]
    ) -> tuple[list[Create], str | None]:
        """The leading trials that fit the budget, each with its estimate, and why the next
        one does not fit (None: all do)."""
        costing = self.money()
        if costing is None:
            return creates, None
        estimates, why = costing.admit(live, [c.params for c in creates])
        priced = [_with_estimate(c, e) for c, e in zip(creates, estimates, strict=False)]
        return priced, why

    def _reclaimed(self, snapshot: Snapshot) -> Snapshot:
        """Discard the pending trials of processes that died before their batch was written
        (see `ftsweep.study.delivery`); deliver those whose batch file holds them."""
        orphans = [
            t
            for t in snapshot.trials
            if t.state == State.RUNNING and is_orphaned(t, snapshot.delivered)
        ]
        if not orphans:
            return snapshot
        written = delivered_in_file(orphans)
        writes: list[Write] = []
        for trial in orphans:
            assert trial.pending is not None
            if trial.number in written:
                writes.append(Deliver(str(trial.pending["batch"])))
            else:
                why = f"batch never written (process {trial.pending.get('pid')} died)"
                writes.append(Discard(trial.number, why))
        self.store.apply(list(dict.fromkeys(writes)))
        return self.store.load(write=True)

    def _budget(self, live: Sequence[TrialRecord], n: int) -> int:
        limit = self.sweep.spec.max_trials
        if limit is None:
            return n
        return max(0, min(n, limit - sum(1 for t in live if t.counts)))

    def _shortfall(self, handed_out: int, n: int, budget: int) -> Shortfall | None:
        if handed_out == n:
            return None
        if handed_out == budget:
            limit = self.sweep.spec.max_trials
            return Shortfall("max_trials", f"max_trials ({limit}) reached")
        size = self.sweep.space.size
        if size is not None:
            return Shortfall("space", f"every one of the space's {size:,} configurations was tried")
        return Shortfall("space", "no configuration left that has not been tried")

    def _ask_static(
        self, live: Sequence[TrialRecord], n: int, pending: dict[str, Any] | None
    ) -> list[Create]:
        taken = {t.position for t in live}
        seen = _seen(live)
        creates: list[Create] = []
        points = sequence(self.sweep.space, self.sweep.strategy, self.sweep.spec.seed)
        for position, params in enumerate(points):
            if len(creates) >= n:
                break
            if position in taken or configuration_key(params) in seen:
                continue
            creates.append(Create(params, position=position, pending=pending))
        return creates

    def _ask_adaptive(
        self, live: Sequence[TrialRecord], n: int, pending: dict[str, Any] | None
    ) -> list[Create]:
        """Distinct proposals of the sampler: a duplicate costs no trial number."""
        from ftsweep.study.store.samplers import Proposer

        seen = _seen(live) | _trained(live, self.sweep.space)
        if n == 0 or (self.sweep.space.size is not None and len(seen) >= self.sweep.space.size):
            return []  # every configuration has been tried: nothing to propose
        seed = (self.sweep.spec.seed + len(live)) % 2**32  # a new seed per batch
        creates: list[Create] = []
        # The models' matrices are small: BLAS threads only contend (4x slower on 2 busy cores).
        with _blas_controller().limit(limits=1, user_api="blas"):
            proposer = Proposer(self.store, live, seed, self.sampler)
            for _ in range(n):
                proposal = proposer.propose(seen)
                if proposal is None:
                    break
                params, sampler_attrs = proposal
                seen.add(configuration_key(params))
                creates.append(Create(params, pending=pending, sampler_attrs=sampler_attrs))
        return creates

    def _asked(self, number: int, create: Create) -> AskedTrial:
        params = create.params
        return AskedTrial(number, self.key(number), params, self.renderer.body(number, params))

    def abandon(self, asked: Sequence[AskedTrial]) -> None:
        """Discard trials whose batch was never delivered, so they neither linger nor count."""
        with self.store.lock():
            self.store.load(write=True)
            self.store.apply([Discard(item.number, "batch not written") for item in asked])

    def _deliver(self, batch: str) -> None:
        with self.store.lock():
            self.store.apply([Deliver(batch)])

    @contextlib.contextmanager
    def asking(self, n: int, *, output: str | Path | None = None) -> Iterator[Batch]:
        """Hand out `n` trials for a block that writes them to `output` (None: a stream).

        If the block fails, the trials are abandoned. Until it ends they are pending: should
        this process die first, the next `ask` reclaims them unless `output` holds them. A batch
        for a stream counts as delivered as the block starts: a reader may take part of it.
        """
        stream, marker = is_stream(output), pending_marker(output)
        batch = self._allocate(n, marker)
        if batch and stream:
            self._deliver(marker["batch"])
        try:
            yield batch
        except BaseException:
            self.abandon(batch)
            raise
        if batch and not stream:
            self._deliver(marker["batch"])


def _with_estimate(create: Create, estimate: Estimate | None) -> Create:
    if estimate is None:
        return create
    job = JobRecord(estimated_tokens=estimate.trained_tokens, estimated_cost=estimate.cost)
    return replace(create, job=job)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools, found once (finding them reads every loaded library),
    after loading the libraries the models use."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _seen(live: Sequence[TrialRecord]) -> set[ConfigKey]:
    """The configurations of the live trials (a trial plain Optuna added is none)."""
    return {configuration_key(t.params) for t in live if t.params is not None}


def _trained(live: Sequence[TrialRecord], space: Space) -> set[ConfigKey]:
    """The configurations the live trials' jobs trained, "auto" as the service resolved it:
    asking for the number "auto" became would pay for the same job again."""
    trained = (t.trained for t in live if t.params is not None and t.job.resolved)
    return {configuration_key(p) for p in trained if p is not None and space.contains(p)}
