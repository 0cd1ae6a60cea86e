"""Commented starter sweeps, one per method, as `ftsweep init` writes them."""

from __future__ import annotations

__all__ = ["starter", "starter_name"]

#: The longest name a starter takes from its file name: its `{sweep}-{trial}` suffix must stay
#: within the API's 64 characters.
MAX_STARTER_NAME = 40

_HEAD = """\
# A ftsweep sweep file. Check it with `ftsweep validate {path}`,
# preview its trials with `ftsweep plan {path}`. First replace every REPLACE-ME with your
# own value (your uploaded file ids, your model): validate refuses the placeholders until then.
name: {name}   # also the Optuna study name
method: {method}   # supervised | dpo | reinforcement
model: {model}
training_file: file-REPLACE-ME     # the id of your uploaded training file
"""

_SPACE_NOTE = """\
# Each dimension is a fixed value, a list of choices (may mix auto with numbers),
# or a range {low, high, log?, step?, num?, auto?}. A grid needs finite ranges (num or step).
"""

_BODIES = {
    "supervised": """\
validation_file: file-REPLACE-ME   # another file's id; optional, but the objective needs it
strategy: grid                # grid | random | sobol | bayes | tpe | gp | cmaes | nsga2
seed: 0
{note}space:
  learning_rate_multiplier: {{low: 0.5, high: 2.0, log: true, num: 3}}
  n_epochs: [2, 3, 4]
  batch_size: [auto, 8]
objective:
  metric: full_valid_loss     # reduce: last | min | max over the job's steps
  reduce: last
job:
  seed: 42
  suffix: "{{sweep}}-{{trial}}"   # templates: {{sweep}}, {{trial}} and any dimension
""",
    "dpo": """\
validation_file: file-REPLACE-ME   # the id of your uploaded validation file
strategy: bayes               # learns from the results you tell it (README, "Search")
max_trials: 24
seed: 0
{note}space:
  beta: {{low: 0.02, high: 2.0, log: true}}
  learning_rate_multiplier: {{low: 0.1, high: 4.0, log: true, auto: true}}
  n_epochs: {{low: 1, high: 5}}
  batch_size: [auto, 4, 8, 16]
objective:
  metric: full_valid_loss
  direction: minimize
job:
  seed: 42
  suffix: "dpo-{{trial}}"
  metadata: {{team: research}}
""",
    "reinforcement": """\
validation_file: file-REPLACE-ME   # your validation file's id: required for reinforcement
strategy: random
max_trials: 8
seed: 0
{note}space:
  reasoning_effort: [low, medium, high]
  compute_multiplier: {{low: 0.5, high: 2.0, log: true}}
  n_epochs: 2
  eval_interval: 5
  eval_samples: 4
objective:
  metric: valid_reward_mean
  direction: maximize
job:
  suffix: "rft-{{trial}}"
# {{{{ item.* }}}} reads the training row, {{{{ sample.* }}}} the model's output
grader:
  type: string_check
  name: exact_answer
  input: "{{{{ sample.output_text }}}}"
  reference: "{{{{ item.answer }}}}"
  operation: eq
""",
}

_MODELS = {
    "supervised": "gpt-4.1-mini-2025-04-14",
    "dpo": "gpt-4.1-mini-2025-04-14",
    "reinforcement": "REPLACE-ME-reasoning-model   # reinforcement needs a reasoning model",
}


def starter_name(stem: str) -> str:
    """A valid sweep name from a file name's stem (`my sweep!` -> `my-sweep`), short enough."""
    name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in stem)
    return name[:MAX_STARTER_NAME].strip("-._") or "sweep"


def starter(method: str, name: str, path: str) -> str:
    """The starter sweep file for `method`, named `name`, mentioning its own `path`."""
    head = _HEAD.format(path=path, name=name, method=method, model=_MODELS[method])
    return head + _BODIES[method].format(note=_SPACE_NOTE)
