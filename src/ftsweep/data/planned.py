"""What a plan would train and cost, trial by trial and in total, and where it goes over budget.

`plan` reads no study, so its running total starts from nothing: it says what the plan costs
on its own. `ask` and `submit` count what the study has already spent (`Costing.admit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ftsweep.data.cost import Costing, Spend, money, over

__all__ = ["PlanCosts", "PlannedCost"]


@dataclass(frozen=True)
class PlannedCost:
    """One planned trial's estimate (None where it cannot be made) and whether the running
    total goes over the sweep's budget at it."""

    trained_tokens: int | None
    cost: float | None
    over_budget: bool


class PlanCosts:
    """Prices the trials of a plan in order, keeping the running total."""

    def __init__(self, costing: Costing) -> None:
        self.costing = costing
        self.total = Spend()
        self.priced = 0  # trials with an estimate
        self.unpriced = 0  # trials whose cost (or size) cannot be estimated
        self.first_over: int | None = None  # the position of the first trial past the budget
        self._seen = 0

    @property
    def budget(self) -> bool:
        return self.costing.sweep.spec.budget is not None

    def next(self, params: Mapping[str, object]) -> PlannedCost:
        """The estimate of the plan's next trial."""
        made = self.costing.estimate(params)
        position, self._seen = self._seen, self._seen + 1
        if made is None:
            self.unpriced += 1
            return PlannedCost(None, None, self.first_over is not None)
        self.priced += 1
        if made.cost is None:
            self.unpriced += 1
        self.total += Spend(made.trained_tokens, made.cost)
        budget = self.costing.sweep.spec.budget
        if budget is not None and self.first_over is None and over(budget, self.total):
            self.first_over = position
        return PlannedCost(made.trained_tokens, made.cost, self.first_over is not None)

    def columns(self) -> Sequence[str]:
        """The CSV columns: `trained_tokens`, `estimated_cost` (the trials frame's names), and
        `over_budget` when the sweep has a budget."""
        names = ["trained_tokens", "estimated_cost"]
        return [*names, "over_budget"] if self.budget else names

    def values(self, params: Mapping[str, object]) -> list[object]:
        """The next trial's CSV cells (empty where there is no estimate)."""
        planned = self.next(params)
        cells: list[object] = [
            "" if planned.trained_tokens is None else planned.trained_tokens,
            "" if planned.cost is None else planned.cost,
        ]
        return [*cells, str(planned.over_budget).lower()] if self.budget else cells

    def summary(self) -> str | None:
        """The totals line: trained tokens and cost over the trials priced, and the budget."""
        if not self.priced:
            return None
        parts = [f"{self.priced:,} trials: {self.total.trained_tokens:,} trained tokens"]
        if self.total.cost is not None:
            parts.append(f"estimated cost {money(self.total.cost)}")
        elif self.unpriced:
            parts.append("cost unknown (no price for the model)")
        budget = self.costing.sweep.spec.budget
        if budget is not None:
            parts.append(self._budget_words())
        return " · ".join(parts)

    def _budget_words(self) -> str:
        budget = self.costing.sweep.spec.budget
        assert budget is not None
        limits = []
        if budget.max_cost is not None:
            limits.append(f"max_cost {money(budget.max_cost)}")
        if budget.max_trained_tokens is not None:
            limits.append(f"max_trained_tokens {budget.max_trained_tokens:,}")
        within = (
            "within budget"
            if self.first_over is None
            else (f"over budget from trial {self.first_over}")
        )
        return f"budget {' and '.join(limits)}: {within}"
