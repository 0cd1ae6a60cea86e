"""The python grader run on this machine: `grade(sample, item)` in one subprocess a batch.

Only with `service.allow_python_grader: true`, for the source comes from the sweep file and runs
with this user's rights: the subprocess keeps the trainer safe from the grader, it is no sandbox
for the machine. It is `sys.executable -I` (no user site, no PYTHON* variables, no working
directory on the path) in a session of its own, reading the source, samples and items as JSON
on stdin and answering one JSON object on a copy of its stdout: what the grader prints goes to
stderr, of which the last bytes are kept for the warning.

What the grader does wrong costs scores, never the run: a batch that takes longer than the time
limit is killed (its process group, so children go too) and scores 0.0; so does a source that
fails to run or exits, a process that dies or answers garbage; a `grade` that raises, or
returns anything but a finite number (`bool` is not one), scores 0.0 for that sample. Each
sample so scored is counted as kind `python`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from ftsweep.local.graders import Item, Report, Sample, Scorer

__all__ = ["python_scorer", "run_grade"]

_RUNNER = """\
import json, math, os, sys
answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
request = json.loads(sys.stdin.buffer.read())

def score(grade, sample, item):
    try:
        value = grade(sample, item)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "grade returned a " + type(value).__name__ + ", not a number"
        value = float(value)
        return value if math.isfinite(value) else "grade returned " + repr(value)
    except BaseException as exc:
        return "grade raised " + type(exc).__name__

try:
    namespace = {"__name__": "__grader__"}
    exec(compile(request["source"], "<grader>", "exec"), namespace)
    pairs = zip(request["samples"], request["items"])
    scores = [score(namespace["grade"], sample, item) for sample, item in pairs]
except BaseException as exc:
    scores = "the source failed to run: " + type(exc).__name__
answer.write(json.dumps({"scores": scores}))
answer.flush()
os._exit(0)
"""
_STDERR_KEPT = 300


def _killed(process: subprocess.Popen[bytes]) -> None:
    """Kill the grader's process group (it leads its own session) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


def _tail(errors: IO[bytes]) -> str:
    errors.seek(0, os.SEEK_END)
    errors.seek(max(0, errors.tell() - _STDERR_KEPT))
    text = errors.read().decode("utf-8", "replace").strip()
    return f"; its stderr ends: {text!r}" if text else ""


def _answer(out: bytes, count: int) -> list[float | str] | None:
    """The scores (a float, or why not) in the process's answer; None if it gave none."""
    try:
        answer = json.loads(out)
    except (ValueError, RecursionError):
        return None
    scores = answer.get("scores") if isinstance(answer, dict) else None
    if isinstance(scores, str):
        return [scores] * count
    if not isinstance(scores, list) or len(scores) != count:
        return None
    return [score if isinstance(score, float | str) else str(score) for score in scores]


def run_grade(
    source: str, samples: Sequence[Sample], items: Sequence[Item], timeout: float
) -> list[float | str]:
    """`grade(sample, item)` for each pair, in one subprocess: a score, or why there is none."""
    request = json.dumps(
        {"source": source, "samples": list(samples), "items": list(items)}, default=str
    ).encode("utf-8")
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", _RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(request, timeout=timeout)
        except subprocess.TimeoutExpired:
            _killed(process)
            return [f"the batch took longer than {timeout:g} s and was stopped"] * len(samples)
        scores = _answer(out, len(samples))
        if scores is None:
            why = f"the grader process ended (status {process.returncode}) without an answer"
            return [why + _tail(errors)] * len(samples)
        return scores


def python_scorer(source: str, timeout: float, report: Report) -> Scorer:
    """A scorer that runs `source`'s `grade` on each batch, `timeout` seconds at most."""

    def scorer(samples: Sequence[Sample], items: Sequence[Item]) -> list[float]:
        if not samples:
            return []
        return [_accepted(score, report) for score in run_grade(source, samples, items, timeout)]

    return scorer


def _accepted(score: float | str, report: Report) -> float:
    if isinstance(score, str):
        report("python", score)
        return 0.0
    return score
