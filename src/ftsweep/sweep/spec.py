"""The sweep file's fields, as frozen pydantic models that forbid unknown keys.

`space` and `zip` are kept raw here: `ftsweep.sweep.parse` turns them into a `Space`, so that a
file's problems in the space and elsewhere are reported together. `grader` and `response_format`
are kept raw too and checked by `ftsweep.sweep.load`, so that the grader models are built only
for sweeps that have a grader (this keeps `ftsweep validate` fast).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    model_validator,
)

from ftsweep.api.common import MAX_SEED, Integration
from ftsweep.api.names import MethodName

__all__ = [
    "COST_METRIC",
    "KNOWN_METRICS",
    "MAX_TRIALS",
    "TOKENIZERS",
    "Budget",
    "JobTemplate",
    "Objective",
    "Price",
    "Prune",
    "Search",
    "Service",
    "StrategyName",
    "SweepSpec",
]

StrategyName = Literal["grid", "random", "sobol", "bayes", "tpe", "gp", "cmaes", "nsga2"]
Direction = Literal["minimize", "maximize"]

#: Metrics a finished job reports (API_FACTS section 7), with the direction that improves them.
KNOWN_METRICS: dict[str, Direction] = {
    "train_loss": "minimize",
    "valid_loss": "minimize",
    "full_valid_loss": "minimize",
    "train_accuracy": "maximize",
    "train_mean_token_accuracy": "maximize",
    "valid_mean_token_accuracy": "maximize",
    "full_valid_mean_token_accuracy": "maximize",
    "train_mean_reward": "maximize",
    "full_valid_mean_reward": "maximize",
    "full_valid_mean_parse_error": "minimize",
    "valid_reward_mean": "maximize",
    "trained_tokens": "minimize",
    "cost": "minimize",  # the job's cost at the user's prices (ftsweep.data.cost)
}

#: The objective metric that is the trial's cost: to trade the metric against money.
COST_METRIC = "cost"

#: What a sweep optimises when its file names no objective.
DEFAULT_METRIC: dict[str, str] = {
    "supervised": "full_valid_loss",
    "dpo": "full_valid_loss",
    "reinforcement": "valid_reward_mean",
}

#: The most trials a sweep may hand out: more fine-tuning jobs than this is a typo, not a plan.
MAX_TRIALS = 1_000_000

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _sweep_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            "a sweep name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (it names the Optuna study and goes into every job's metadata)"
        )
    return name


def _between(low: int, high: int, why: str) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}{why}")
        return value

    return AfterValidator(check)


def _auto_or_count(low: int, high: int | None) -> AfterValidator:
    """`auto`, or a whole number from low to high (None: no bound): one error either way, not
    one per type."""

    def check(value: Any) -> int | str:
        if value == "auto":
            return "auto"
        if type(value) is int and low <= value <= (value if high is None else high):
            return value
        bound = f"of at least {low}" if high is None else f"from {low} to {high:,}"
        raise ValueError(f"must be auto or an integer {bound}")

    return AfterValidator(check)


def _one_or_many(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


SweepName = Annotated[str, StringConstraints(strict=True), AfterValidator(_sweep_name)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(_Strict):
    """One metric to optimise, how to reduce its per-step values, and which way is better."""

    metric: NonEmpty
    direction: Direction | None = None
    reduce: Literal["last", "min", "max"] = "last"

    @model_validator(mode="after")
    def _direction(self) -> Objective:
        if self.direction is None:
            if self.metric not in KNOWN_METRICS:
                known = ", ".join(KNOWN_METRICS)
                raise ValueError(
                    f"direction (minimize or maximize) is required for metric {self.metric!r}; "
                    f"it is known only for: {known}"
                )
            object.__setattr__(self, "direction", KNOWN_METRICS[self.metric])
        return self


class JobTemplate(_Strict):
    """Fields copied into every job request; `suffix` and metadata values are templates."""

    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = None
    suffix: Annotated[str, StringConstraints(min_length=1, strict=True)] | None = None
    metadata: dict[NonEmpty, Annotated[str, StringConstraints(strict=True)]] = Field(
        default_factory=dict
    )
    integrations: tuple[Integration, ...] = ()


#: Names a credential might be given under: refused with a pointer to the environment.
SECRET_FIELDS = ("api_key", "key", "token", "azure_ad_token", "password", "secret")


Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Rate = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class BaseLearningRate(_Strict):
    """The learning rate `learning_rate_multiplier` multiplies, per method, on the local backend:
    TRL's own defaults (SFTConfig 2e-5, DPOConfig and GRPOConfig 1e-6). The service never
    published its own."""

    supervised: Rate = 2.0e-5
    dpo: Rate = 1.0e-6
    reinforcement: Rate = 1.0e-6


class Lora(_Strict):
    """LoRA adapters instead of full fine-tuning (peft's LoraConfig, same names)."""

    r: Annotated[StrictInt, Field(ge=1, le=4096)] = 16
    lora_alpha: Annotated[StrictInt, Field(ge=1)] | None = None  # None: 2 x r
    lora_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    target_modules: NonEmpty | tuple[NonEmpty, ...] = "all-linear"


class Judge(_Strict):
    """The chat-completions endpoint that scores `score_model` and `label_model` graders on the
    local backend. Its key comes from the environment variable `api_key_env` names (none: the
    endpoint takes none), never from the file."""

    base_url: NonEmpty
    model: NonEmpty
    api_key_env: NonEmpty | None = None
    timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0


Device = Annotated[StrictInt, Field(ge=0, le=1023)] | Literal["cpu"]


class Service(_Strict):
    """Where the sweep's jobs run. Never a key: credentials come only from the environment, as
    the `openai` client reads them (OPENAI_API_KEY; AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN).

    `base_url` is the endpoint (OpenAI: a compatible `/v1` URL; Azure: the resource's
    `https://NAME.openai.azure.com`); `api_version` chooses Azure's dated API (for example
    `2025-04-01-preview`) instead of its v1 API; `extra_body` is merged into every job body (Azure
    may want `trainingType`); `timeout` is how long one request may take (s); `poll_interval`
    how often `sync --wait` and `run` look at running jobs (s; 30, or 2 on the local backend).

    The rest is for `provider: local`, which trains each trial on this machine with Hugging Face
    TRL (`ftsweep.local`), and decides what the service decides for itself:
    `base_learning_rate` (per method), `max_steps` (a cap on each trial's optimizer steps),
    `parallel` (trials at once: `run`'s and `submit`'s default, 1 here and 4 on a service),
    `devices` (GPU indexes or `cpu`; by default GPU 0 when there is one, else the CPU), `lora`
    (adapters; full fine-tuning without),
    `judge` (the model graders' endpoint), `allow_python_grader` (run a python grader's code),
    `allow_download` (let a model named by its hub name download; by default only the local
    cache is read, and the trainers run with HF_HUB_OFFLINE=1 unless the environment sets it),
    `dtype` (the weights' dtype; `auto`: the checkpoint's own),
    `output_dir` (each trial's folder, relative to the sweep file; default `.ftsweep/local`)
    and `python` (the interpreter that trains; default the one running ftsweep).
    """

    provider: Literal["openai", "azure", "local"] = "openai"
    base_url: NonEmpty | None = None
    api_version: NonEmpty | None = None
    extra_body: dict[NonEmpty, Any] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    poll_interval: Annotated[float, Field(gt=0, le=3600)] = 30.0
    base_learning_rate: BaseLearningRate = Field(default_factory=BaseLearningRate)
    max_steps: Annotated[StrictInt, Field(ge=1)] | None = None
    parallel: Annotated[StrictInt, Field(ge=1, le=64)] = 1
    devices: tuple[Device, ...] | None = None
    lora: Lora | None = None
    judge: Judge | None = None
    allow_python_grader: StrictBool = False
    allow_download: StrictBool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    output_dir: NonEmpty | None = None
    python: NonEmpty | None = None

    def overridden(self, provider: str | None, parallel: int | None) -> Service:
        """These settings with a command line's `--provider` and `--parallel` over them."""
        update: dict[str, Any] = {}
        if provider is not None:
            update["provider"] = provider
        if parallel is not None:
            update["parallel"] = parallel
        return self.model_copy(update=update) if update else self

    def polling(self) -> float:
        """Seconds between looks at running jobs: as set, else 30 (2 for local trials)."""
        if "poll_interval" in self.model_fields_set or self.provider != "local":
            return self.poll_interval
        return 2.0

    def jobs_at_once(self) -> int:
        """How many jobs `submit` creates and `run` keeps going at once: `parallel` where it is
        set (the file or `--parallel`), else 1 for local trials (they share this machine) and 4
        on a service."""
        if "parallel" in self.model_fields_set or self.provider == "local":
            return self.parallel
        return 4


#: The encodings ftsweep can count offline (`ftsweep.data.tokens`); `tokenizer:` picks one for a
#: model whose family it does not know.
TokenizerName = Literal["o200k_base", "cl100k_base"]
TOKENIZERS: tuple[str, ...] = get_args(TokenizerName)


class Price(_Strict):
    """What one model's training costs, in the user's currency (USD in the shipped example).

    `per_1m_trained_tokens` prices supervised and DPO jobs, billed per trained token. A
    reinforcement job is billed per hour of training (`per_hour`); since nobody publishes how
    fast it trains, its estimate needs `hours_per_1m_trained_tokens` too, and stays rough.
    """

    per_1m_trained_tokens: Money | None = None
    per_hour: Money | None = None
    hours_per_1m_trained_tokens: Rate | None = None

    @model_validator(mode="after")
    def _some_price(self) -> Price:
        if self.per_1m_trained_tokens is None and self.per_hour is None:
            raise ValueError("a price needs per_1m_trained_tokens or per_hour")
        return self


class Budget(_Strict):
    """The most a sweep may spend: estimates of the trials handed out and not finished, plus
    what finished ones cost, never go over it. Either key alone is fine."""

    max_cost: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    max_trained_tokens: Annotated[StrictInt, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> Budget:
        if self.max_cost is None and self.max_trained_tokens is None:
            raise ValueError("a budget needs max_cost or max_trained_tokens (or both)")
        return self


class Search(_Strict):
    """The few knobs of the adaptive strategies (tpe, gp, cmaes, nsga2); static ones ignore them.

    - `startup_trials`: how many trials explore before the sampler's model chooses: `auto`
      sizes it to `max_trials` and the number of dimensions (`ftsweep.sweep.start`); the
      baseline and imported or warm-start trials count towards it.
    - `design`: how the exploring trials are spread: a scrambled Sobol sequence or a Latin
      hypercube over the encoded space ("auto" and sub-spaces included), or independent random
      draws (`random`, Optuna's own way).
    - `baseline`: the first trial is the all-"auto" configuration (what the service picks when
      nothing is set), where the space has one.
    - `candidates`: how many candidates TPE weighs for each proposal (Optuna's
      `n_ei_candidates`).
    - `warm_start`: other sweeps to learn from: a sweep file (relative to this one) or the name
      of a study in this sweep's storage. Their finished trials inform the sampler on the
      dimensions the spaces share; they are not trials of this sweep and cost no budget.
    """

    startup_trials: Annotated[Any, _auto_or_count(0, MAX_TRIALS)] = "auto"
    design: Literal["sobol", "latin", "random"] = "sobol"
    baseline: bool = True
    candidates: Annotated[StrictInt, _between(1, 10_000, "")] | None = None
    warm_start: tuple[NonEmpty, ...] = ()


class Prune(_Strict):
    """Early stopping of running jobs whose intermediate metric is hopeless (`sync --prune`,
    `run`): Optuna's median, percentile or successive-halving pruner over the metric each job
    reports step by step.

    - `rule`: `median` (worse than the median of the others at the same point), `percentile`
      (worse than `percentile` of them) or `halving` (successive halving).
    - `metric`: the per-step metric judged; by default the objective's.
    - `startup_trials`: trials that must have finished (with a curve) before any job is pruned.
    - `warmup_examples`: how far a job runs before it may be pruned; `auto` (the default) is one
      epoch of the training file, from its examples when it is a local file, else from the
      finished trials (the examples each trained over its resolved epochs).
    - `min_trials`: how many other trials must have a value at a point to compare with.
    - `min_examples`, `reduction_factor`: successive halving's minimum resource and rate.

    Curves are compared by progress, the examples a job has trained (step x batch size), so that
    jobs of different batch sizes compare at the same cost: `warmup_examples` and `min_examples`
    count in that unit (`ftsweep.study.pruning`).
    """

    rule: Literal["median", "percentile", "halving"] = "percentile"
    metric: NonEmpty | None = None
    percentile: Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False)] = 40.0
    startup_trials: Annotated[StrictInt, _between(0, MAX_TRIALS, "")] = 4
    warmup_examples: Annotated[Any, _auto_or_count(0, None)] = "auto"
    min_trials: Annotated[StrictInt, Field(ge=1)] = 1
    min_examples: Annotated[Any, _auto_or_count(1, MAX_TRIALS)] = "auto"
    reduction_factor: Annotated[StrictInt, Field(ge=2, le=100)] = 3


class SweepSpec(_Strict):
    """A sweep file, field by field (the space still raw)."""

    name: SweepName
    method: MethodName
    model: NonEmpty | None = None
    training_file: NonEmpty
    validation_file: NonEmpty | None = None
    strategy: StrategyName | None = None
    max_trials: (
        Annotated[StrictInt, _between(1, MAX_TRIALS, ": more jobs is surely a typo")] | None
    ) = None
    seed: Annotated[StrictInt, _between(0, MAX_SEED, ", as a job's seed")] = 0
    space: Any
    zip: Any = None
    objective: (
        Annotated[
            Annotated[Objective, Tag("one")]
            | Annotated[list[Objective], Field(min_length=1), Tag("many")],
            Discriminator(_one_or_many),
        ]
        | None
    ) = None
    job: JobTemplate = Field(default_factory=JobTemplate)
    service: Service = Field(default_factory=Service)
    prices: dict[NonEmpty, Price] = Field(default_factory=dict)
    budget: Budget | None = None
    tokenizer: TokenizerName | None = None
    search: Search = Field(default_factory=Search)
    prune: Prune | None = None
    grader: Any = None  # checked by ftsweep.sweep.load, which builds grader models only if needed
    response_format: Any = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        if self.objective is None:
            return (Objective(metric=DEFAULT_METRIC[self.method]),)
        if isinstance(self.objective, Objective):
            return (self.objective,)
        return tuple(self.objective)
