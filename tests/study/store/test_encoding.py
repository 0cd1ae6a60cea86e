"""How configurations become Optuna parameters and back (`ftsweep.study.store.encoding`).

Every kind of space the sweep file allows is encoded, decoded, and sampled through Optuna's
define-by-run API; a configuration must survive the round trip exactly and every sampled one
must lie in the space.
"""

from __future__ import annotations

import itertools
import json

import optuna
import pytest

from ftsweep.study.store.encoding import Encoding
from ftsweep.sweep import Sweep, loads_sweep
from ftsweep.sweep.strategies import sequence

HEAD = """\
name: enc
method: {method}
model: gpt-4.1-mini-2025-04-14
training_file: file-train
validation_file: file-valid
"""
GRADER = """\
grader:
  type: string_check
  name: exact
  input: "{{{{sample.output_text}}}}"
  reference: "{{{{item.answer}}}}"
  operation: eq
"""

#: One sweep per kind of space; each value is (method, the `space` block as YAML).
SPACES: dict[str, tuple[str, str]] = {
    "list with auto": ("supervised", "space:\n  batch_size: [auto, 4, 8]\n  n_epochs: [1, 3]\n"),
    "int range": ("supervised", "space:\n  n_epochs: {low: 1, high: 5}\n"),
    "int range step": ("supervised", "space:\n  n_epochs: {low: 1, high: 9, step: 2}\n"),
    "int range uneven step": ("supervised", "space:\n  n_epochs: {low: 1, high: 10, step: 4}\n"),
    "int range log": ("supervised", "space:\n  batch_size: {low: 1, high: 64, log: true}\n"),
    "int range log num": (
        "supervised",
        "space:\n  batch_size: {low: 1, high: 64, log: true, num: 4}\n",
    ),
    "int range auto": ("supervised", "space:\n  n_epochs: {low: 1, high: 4, auto: true}\n"),
    "float range": ("supervised", "space:\n  learning_rate_multiplier: {low: 0.1, high: 2}\n"),
    "float range log auto": (
        "supervised",
        "space:\n  learning_rate_multiplier: {low: 0.01, high: 10, log: true, auto: true}\n",
    ),
    "float range step": (
        "dpo",
        "space:\n  beta: {low: 0.1, high: 0.5, step: 0.1}\n  n_epochs: [1, 2]\n",
    ),
    "float range uneven step": (
        "dpo",
        "space:\n  beta: {low: 0.1, high: 0.45, step: 0.1, auto: true}\n",
    ),
    "float range num": (
        "supervised",
        "space:\n  learning_rate_multiplier: {low: 0.1, high: 10, log: true, num: 3}\n",
    ),
    "fixed values": (
        "reinforcement",
        "space:\n  batch_size: 8\n  n_epochs: {low: 3, high: 3}\n  reasoning_effort: high\n"
        "  eval_samples: auto\n  compute_multiplier: [0.5, 1.0]\n",
    ),
    "single number or auto": (
        "supervised",
        "space:\n  n_epochs: {low: 3, high: 3, auto: true}\n  batch_size: [4, 8]\n"
        "  learning_rate_multiplier: {low: 1.5, high: 1.5, auto: true}\n",
    ),
    "single float": (
        "dpo",
        "space:\n  beta: {low: 0.5, high: 0.5}\n  n_epochs: [1, 2]\n"
        "  learning_rate_multiplier: {low: 0.2, high: 0.2, num: 1, auto: true}\n",
    ),
    "model dimension": (
        "supervised",
        "space:\n  model: [gpt-4.1-mini-2025-04-14, gpt-4.1-nano-2025-04-14]\n  n_epochs: [1, 2]\n",
    ),
    "zip": (
        "supervised",
        "space:\n  n_epochs: [1, 2, 4]\n  learning_rate_multiplier: [2.0, 1.0, 0.5]\n"
        "  batch_size: [auto, 8]\n  zip: [[n_epochs, learning_rate_multiplier]]\n",
    ),
    "union": (
        "supervised",
        "space:\n"
        "  - {batch_size: [2, 4], n_epochs: [1, 2]}\n"
        "  - batch_size: 32\n"
        "    n_epochs: [2, 4, 8]\n"
        "    learning_rate_multiplier: [2.0, 1.0, 0.5]\n"
        "    zip: [[n_epochs, learning_rate_multiplier]]\n"
        "  - {batch_size: {low: 1, high: 16, auto: true},"
        " learning_rate_multiplier: {low: 0.1, high: 4, log: true}}\n",
    ),
}


def sweep_of(kind: str) -> Sweep:
    method, space = SPACES[kind]
    text = HEAD.format(method=method) + space
    if method == "reinforcement":
        text += GRADER.format()
    return loads_sweep(text)


def planned(sweep: Sweep, count: int = 60) -> list[dict[str, object]]:
    """Points of every static strategy: the grid (when finite), random and sobol."""
    strategies = ["random", "sobol"] + (["grid"] if sweep.space.finite else [])
    return [
        params
        for strategy in strategies
        for params in itertools.islice(sequence(sweep.space, strategy, 3), count)
    ]


@pytest.mark.parametrize("kind", SPACES)
def test_decode_inverts_encode(kind: str) -> None:
    sweep = sweep_of(kind)
    encoding = Encoding(sweep.space)
    distributions = encoding.distributions()
    points = planned(sweep)
    assert points
    for params in points:
        encoded = encoding.encode(params)
        assert set(encoded) <= set(distributions), (params, encoded)
        for name, value in encoded.items():
            # Every stored value is one its distribution holds (Optuna refuses anything else).
            distribution = distributions[name]
            assert distribution._contains(distribution.to_internal_repr(value)), (name, value)
        assert encoding.decode(encoded) == params


def sampled_study(sampler: str) -> optuna.Study:
    """An in-memory study whose trials a seeded `tpe` or `random` sampler chooses."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = (
        optuna.samplers.TPESampler(seed=1, n_startup_trials=5)
        if sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=1)
    )
    return optuna.create_study(sampler=chosen)


@pytest.mark.parametrize("kind", SPACES)
@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_suggest_stays_in_the_space(kind: str, sampler: str) -> None:
    sweep = sweep_of(kind)
    encoding = Encoding(sweep.space)
    study = sampled_study(sampler)
    for i in range(25):
        trial = study.ask()
        params = encoding.suggest(trial)
        assert sweep.space.contains(params), params
        assert encoding.decode(trial.params) == params
        study.tell(trial, float(i % 7))


@pytest.mark.parametrize("kind", ["float range step", "float range uneven step", "float range num"])
def test_suggested_grid_values_are_exact_points(kind: str) -> None:
    """A float range with points hands out the points as written, never 0.30000000000000004."""
    sweep = sweep_of(kind)
    encoding = Encoding(sweep.space)
    (dimension,) = [d for d in sweep.space.subspaces[0].dimensions.values() if d.size != 2]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    seen = set()
    for _ in range(40):
        value = encoding.suggest(study.ask())[dimension.name]
        if value != "auto":
            assert value in dimension.points, value
            seen.add(value)
    assert len(seen) > 2


@pytest.mark.parametrize("kind", SPACES)
def test_distributions_are_stable(kind: str) -> None:
    def as_json(sweep: Sweep) -> str:
        found = Encoding(sweep.space).distributions()
        return json.dumps(
            {k: optuna.distributions.distribution_to_json(d) for k, d in found.items()},
            sort_keys=True,
        )

    assert as_json(sweep_of(kind)) == as_json(sweep_of(kind))


@pytest.mark.parametrize("kind", SPACES)
def test_distribution_texts_are_what_optuna_writes(kind: str) -> None:
    """The texts are made without Optuna; a journal's trials and the study's signature hold
    Optuna's own `distribution_to_json`, and reading them compares the two."""
    from optuna.distributions import distribution_to_json, json_to_distribution

    encoding = Encoding(sweep_of(kind).space)
    made, texts = encoding.distributions(), encoding.texts
    assert texts == {k: distribution_to_json(d) for k, d in made.items()}
    assert {k: json_to_distribution(t) for k, t in texts.items()} == made


def test_auto_range_is_a_mode_and_a_conditional_number() -> None:
    encoding = Encoding(sweep_of("float range log auto").space)
    assert set(encoding.distributions()) == {
        "learning_rate_multiplier.auto",
        "learning_rate_multiplier",
    }
    assert encoding.encode({"learning_rate_multiplier": "auto"}) == {
        "learning_rate_multiplier.auto": True
    }
    assert encoding.encode({"learning_rate_multiplier": 0.5}) == {
        "learning_rate_multiplier.auto": False,
        "learning_rate_multiplier": 0.5,
    }


def test_union_and_zip_parameter_names() -> None:
    encoding = Encoding(sweep_of("union").space)
    assert list(encoding.distributions()) == [
        "space",
        "s0.batch_size",
        "s0.n_epochs",
        "s1.zip(n_epochs,learning_rate_multiplier)",
        "s2.batch_size.auto",
        "s2.batch_size",
        "s2.learning_rate_multiplier",
    ]
    encoded = encoding.encode({"batch_size": 32, "n_epochs": 4, "learning_rate_multiplier": 1.0})
    assert encoded == {"space": 1, "s1.zip(n_epochs,learning_rate_multiplier)": 1}


def test_fixed_dimensions_are_not_parameters() -> None:
    encoding = Encoding(sweep_of("fixed values").space)
    assert list(encoding.distributions()) == ["compute_multiplier"]


def test_a_configuration_outside_the_space_is_refused() -> None:
    encoding = Encoding(sweep_of("list with auto").space)
    with pytest.raises(ValueError, match="is not a configuration of this sweep's space"):
        encoding.encode({"batch_size": 16, "n_epochs": 1})


@pytest.mark.parametrize("kind", SPACES)
@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_try_decode_reads_every_configuration_optuna_stored(kind: str, sampler: str) -> None:
    sweep = sweep_of(kind)
    encoding = Encoding(sweep.space)
    study = sampled_study(sampler)
    for i in range(15):
        trial = study.ask()
        params = encoding.suggest(trial)
        assert encoding.try_decode(trial.params) == params
        study.tell(trial, float(i % 7))


@pytest.mark.parametrize(
    ("kind", "encoded"),
    [
        ("list with auto", {}),  # plain `study.ask()`: no parameters
        ("list with auto", {"x": 0.5}),  # another study's parameters
        ("list with auto", {"batch_size": 4}),  # one missing
        ("list with auto", {"batch_size": 4, "n_epochs": 1, "x": 2}),  # one extra
        ("list with auto", {"batch_size": 16, "n_epochs": 1}),  # not a choice
        ("int range", {"n_epochs": 50}),  # outside the range
        ("int range", {"n_epochs": "three"}),
        ("int range auto", {"n_epochs.auto": "yes"}),
        ("union", {"space": 7}),
        ("union", {"s0.batch_size": 4, "s0.n_epochs": 1}),  # no sub-space named
        ("union", {"space": 1, "s1.zip(n_epochs,learning_rate_multiplier)": 99}),
    ],
)
def test_try_decode_is_none_for_parameters_of_no_configuration(
    kind: str, encoded: dict[str, object]
) -> None:
    encoding = Encoding(sweep_of(kind).space)
    assert encoding.try_decode(encoded) is None
