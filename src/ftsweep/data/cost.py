"""What a trial will cost before it runs, what it cost once it ran, and what a sweep has spent.

Supervised and DPO jobs are billed per trained token: about `n_epochs` x the training file's
tokens, each example capped at the context limit (API_FACTS section 6); the finished job reports
the billed figure as `trained_tokens`. `n_epochs: auto` resolves with the published rule
(`auto_epochs`). Reinforcement jobs are billed per hour of training, which nobody can know in
advance: their estimate needs the user's own `hours_per_1m_trained_tokens` and is rough; once
one ran, its actual cost is its hours on the service (`finished_at - created_at`, queue time
included, so an upper bound) at `per_hour`.

Prices are the user's (`ftsweep.data.prices`), never constants here. A trial's estimate is
stored on it when it is handed out (`JobRecord.estimated_tokens`, `estimated_cost`); its actual
cost is worked out when read, from the service's `trained_tokens` and the price table.

What a sweep has spent (`spent`), which a budget bounds: for every trial of the sweep that ftsweep
handed out, the actual figure once its job reported one; otherwise its estimate, while it runs
and also when it ended without a figure but had a job (a cancelled job is billed for what it
trained): for a pruned trial, its estimate less what stopping it saved (the untrained share).
A trial that never got a job cost nothing. Imported jobs were paid for before the sweep: they
are shown with their cost but use none of its budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftsweep.api.hyperparameters import AUTO
from ftsweep.errors import PlanError

if TYPE_CHECKING:
    from ftsweep.study.records import JobRecord, TrialRecord
    from ftsweep.sweep.load import Sweep
    from ftsweep.sweep.spec import Budget, Price

__all__ = [
    "Costing",
    "DataSize",
    "Estimate",
    "Spend",
    "auto_epochs",
    "base_model",
    "costing_for",
    "money",
    "over",
    "price_of",
    "sweep_models",
]

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def money(amount: float) -> str:
    """An amount as people read it: cents from 1 up (`1,234.50`), four significant digits
    below (`0.01859`), where cents would round a small trial's cost away."""
    if abs(amount) >= 1 or amount == 0:
        return f"{amount:,.2f}"
    decimals = 3 - math.floor(math.log10(abs(amount)))
    whole, _, fraction = f"{amount:.{decimals}f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def auto_epochs(examples: int) -> int:
    """The epochs `n_epochs: auto` resolves to for a training file of `examples` examples: 3,
    raised to reach 100 example passes (at most 25 epochs), lowered to stay near 25,000."""
    if examples <= 0:
        return 3
    if examples * 3 < 100:
        return min(25, 100 // examples)
    if examples * 3 > 25_000:
        return max(1, 25_000 // examples)
    return 3


def sweep_models(sweep: Sweep) -> list[str]:
    """Every model a trial of the sweep may train: the fixed one, or the dimension's."""
    from ftsweep.sweep.dimensions import Categorical

    found = [sweep.spec.model] if sweep.spec.model else []
    for sub in sweep.space.subspaces:
        dimension = sub.dimensions.get("model")
        if isinstance(dimension, Categorical):
            found += [str(v) for v in dimension.values]
    return list(dict.fromkeys(found))


def base_model(model: str) -> str:
    """The base model of a fine-tuned one (`ft:gpt-4.1-mini-2025-04-14:org::id` gives
    `gpt-4.1-mini-2025-04-14`); any other name as it is."""
    if model.startswith("ft:"):
        return model.split(":")[1] or model
    return model


def price_of(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of training `model`: its own entry, else its base model's, else the entry of
    its name without the snapshot date (`gpt-4.1-mini` prices `gpt-4.1-mini-2025-04-14`)."""
    for name in (model, base_model(model), _SNAPSHOT.sub("", base_model(model))):
        if name in prices:
            return prices[name]
    return None


@dataclass(frozen=True)
class DataSize:
    """A training file as billing sees it: its examples, and its tokens in one epoch with each
    example capped at the context limit."""

    examples: int
    tokens: int


@dataclass(frozen=True)
class Estimate:
    """What one trial is expected to train and cost (None: no price for its model)."""

    epochs: int
    trained_tokens: int
    cost: float | None


@dataclass(frozen=True)
class Spend:
    """What a sweep has spent or committed: trained tokens, and money (None where some trial's
    cost cannot be priced)."""

    trained_tokens: int = 0
    cost: float | None = 0.0

    def __add__(self, other: Spend) -> Spend:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Spend(self.trained_tokens + other.trained_tokens, cost)


class Costing:
    """The prices and training-data size of one sweep, to price its trials with.

    `data` is None when the training file is not local (a file id): nothing can be estimated.
    """

    def __init__(self, sweep: Sweep, data: DataSize | None, prices: Mapping[str, Price]) -> None:
        self.sweep = sweep
        self.data = data
        self.prices = dict(prices)

    def check(self) -> None:
        """Refuse a sweep whose `cost` objective cannot be priced: its trials could never
        complete. (A budget is checked as trials are handed out, `admit`.)"""
        if not self.sweep.costs:
            return
        missing = [m for m in sweep_models(self.sweep) if price_of(m, self.prices) is None]
        if missing:
            raise PlanError(
                f"{self.sweep.file}: objective: metric cost needs a price for "
                f"{', '.join(map(repr, missing))}: add it under `prices:` in the sweep file or "
                "in the file --prices or FTSWEEP_PRICES names"
            )

    def model_of(self, params: Mapping[str, object]) -> str | None:
        model = params.get("model", self.sweep.spec.model)
        return model if isinstance(model, str) else None

    def epochs(self, params: Mapping[str, object], resolved: Mapping[str, object]) -> int | None:
        """The epochs a trial trains for: as requested, as the service resolved it, or by the
        published rule for "auto"."""
        for value in (params.get("n_epochs", AUTO), resolved.get("n_epochs")):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return auto_epochs(self.data.examples) if self.data is not None else None

    def estimate(
        self, params: Mapping[str, object], resolved: Mapping[str, object] | None = None
    ) -> Estimate | None:
        """What a trial of these hyperparameters should train and cost; None without local
        training data."""
        epochs = self.epochs(params, resolved or {})
        if self.data is None or epochs is None:
            return None
        tokens = epochs * self.data.tokens
        return Estimate(epochs, tokens, self._price(params, tokens, hours=None))

    def actual(self, params: Mapping[str, object], job: JobRecord) -> float | None:
        """What a trial's job cost, from what the service reported (None: not known yet, or
        no price for its model)."""
        if self.sweep.method == "reinforcement":
            hours = _hours(job)
            if hours is not None:
                return self._price(params, job.trained_tokens, hours)
        if job.trained_tokens is None:
            return None
        return self._price(params, job.trained_tokens, hours=None)

    def _price(
        self, params: Mapping[str, object], tokens: int | None, hours: float | None
    ) -> float | None:
        model = self.model_of(params)
        price = price_of(model, self.prices) if model is not None else None
        if price is None:
            return None
        if self.sweep.method == "reinforcement" and price.per_hour is not None:
            if hours is None and tokens is not None and price.hours_per_1m_trained_tokens:
                hours = tokens / 1e6 * price.hours_per_1m_trained_tokens
            if hours is not None:
                return round(hours * price.per_hour, 6)
        if price.per_1m_trained_tokens is None or tokens is None:
            return None
        return round(tokens / 1e6 * price.per_1m_trained_tokens, 6)

    def trial_estimate(self, trial: TrialRecord) -> Spend | None:
        """A trial's estimate: the one stored when it was handed out, else one made now."""
        job = trial.job
        if job.estimated_tokens is not None:
            return Spend(job.estimated_tokens, job.estimated_cost)
        made = self.estimate(trial.params or {}, job.resolved)
        return None if made is None else Spend(made.trained_tokens, made.cost)

    def trial_spend(self, trial: TrialRecord) -> Spend | None:
        """What a trial uses of the budget (see the module docstring); None: cannot be told."""
        job = trial.job
        if trial.origin != "ask" or (trial.state.finished and job.id is None):
            return Spend()
        hours = _hours(job) if self.sweep.method == "reinforcement" else None
        if job.trained_tokens is not None or hours is not None:
            cost = job.actual_cost
            if cost is None:
                cost = self.actual(trial.params or {}, job)
            tokens = job.trained_tokens
            if tokens is None:  # a reinforcement job reports hours, not always tokens
                made = self.trial_estimate(trial)
                tokens = made.trained_tokens if made is not None else 0
            return Spend(tokens, cost)
        made = self.trial_estimate(trial)
        saved = trial.pruned if trial.state.value == "pruned" else None
        if made is None or saved is None or saved.saved_tokens is None:
            return made
        cost = made.cost
        if cost is not None and saved.saved_cost is not None:
            cost = max(0.0, cost - saved.saved_cost)
        return Spend(max(0, made.trained_tokens - saved.saved_tokens), cost)

    def spent(self, trials: Iterable[TrialRecord]) -> Spend | None:
        """What the sweep's current trials have spent or committed; None when some trial's
        share cannot be told (no local data to estimate it from)."""
        from ftsweep.study.records import current

        total = Spend()
        for trial in current(list(trials)):
            share = self.trial_spend(trial)
            if share is None:
                return None
            total += share
        return total

    def admit(
        self, trials: Iterable[TrialRecord], candidates: Iterable[Mapping[str, object]]
    ) -> tuple[list[Estimate | None], str | None]:
        """The estimates of the leading candidates that fit the sweep's budget, in order, and
        why the next one does not (None: all fit). Without a budget every candidate fits."""
        budget = self.sweep.spec.budget
        total = self.spent(trials) if budget is not None else Spend()
        if total is None:
            raise PlanError(self._unpriceable("a trial already handed out"))
        admitted: list[Estimate | None] = []
        for params in candidates:
            made = self.estimate(params)
            if budget is not None:
                if made is None or (budget.max_cost is not None and made.cost is None):
                    raise PlanError(self._unpriceable(f"model {self.model_of(params)!r}"))
                after = total + Spend(made.trained_tokens, made.cost)
                limit = over(budget, after)
                if limit is not None:
                    return admitted, _stop(limit, total, made)
                total = after
            admitted.append(made)
        return admitted, None

    def _unpriceable(self, what: str) -> str:
        if self.data is None:
            return (
                f"{self.sweep.file}: budget: needs the training data as a local file to "
                f"estimate {what} from (training_file names a file id)"
            )
        return (
            f"{self.sweep.file}: budget: max_cost needs a price for {what}: add it under "
            f"`prices:` in the sweep file or in the file --prices or FTSWEEP_PRICES names"
        )


def costing_for(
    sweep: Sweep,
    prices: str | Path | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Costing:
    """The costing of a sweep: its training file's size (counted once per content, see
    `ftsweep.data.sizes`) and the price table that applies (`ftsweep.data.prices`)."""
    from ftsweep.data.prices import price_table
    from ftsweep.data.sizes import training_size

    try:
        size = training_size(sweep, progress=progress)
    except PlanError:  # no tokenizer for the model: estimates are only needed for money rules
        if sweep.spec.budget is not None or sweep.costs:
            raise
        size = None
    costing = Costing(sweep, size, price_table(sweep, prices))
    costing.check()
    return costing


def _stop(limit: str, total: Spend, made: Estimate) -> str:
    if limit.startswith("max_trained_tokens"):
        spent, next_one = f"{total.trained_tokens:,} tokens", f"{made.trained_tokens:,}"
    else:
        spent, next_one = money(total.cost or 0), money(made.cost or 0)
    return f"budget {limit} reached: {spent} spent or committed, the next trial needs {next_one}"


def _hours(job: JobRecord) -> float | None:
    if job.created_at is None or job.finished_at is None:
        return None
    return max(0, job.finished_at - job.created_at) / 3600


def over(budget: Budget, spend: Spend) -> str | None:
    """Which limit of the budget `spend` goes over, in words; None when it fits."""
    if budget.max_trained_tokens is not None and spend.trained_tokens > budget.max_trained_tokens:
        return f"max_trained_tokens ({budget.max_trained_tokens:,})"
    if budget.max_cost is not None and (spend.cost is None or spend.cost > budget.max_cost):
        return f"max_cost ({money(budget.max_cost)})"
    return None
