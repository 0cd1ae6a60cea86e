"""The python grader in its subprocess: scores, and hostile sources that cost only scores."""

from __future__ import annotations

import time

import pytest

from ftsweep.local.graders import RewardFunction, reward_functions


def _python(source: str, timeout: float = 10.0) -> RewardFunction:
    grader = {"type": "python", "name": "code", "source": source}
    [function] = reward_functions(grader, allow_python_grader=True, python_timeout=timeout)
    return function


def test_grade_reads_the_sample_and_the_item_and_may_print() -> None:
    reward = _python(
        "import sys\n"
        "print('noise on stdout'); print('{\"scores\": [9]}')\n"
        "def grade(sample, item):\n"
        "    print('more noise', file=sys.stderr)\n"
        "    return float(sample['output_text'] == item['answer']) + item['bonus']\n"
    )
    scores = reward(["q", "q"], ["4", "5"], answer=["4", "4"], bonus=[0.5, 0])
    assert scores == [1.5, 0.0]
    assert reward.problems.total == 0


def test_one_process_grades_a_whole_batch() -> None:
    reward = _python("import os\ndef grade(sample, item):\n    return os.getpid()\n")
    first, second = reward(["q"] * 3, ["a", "b", "c"]), reward(["q"], ["a"])
    assert len(set(first)) == 1
    assert first[0] != second[0]
    assert reward(prompts=[], completions=[]) == []


def test_a_grade_that_raises_or_returns_no_number_costs_that_sample() -> None:
    reward = _python(
        "def grade(sample, item):\n"
        "    text = sample['output_text']\n"
        "    if text == 'raise': raise RuntimeError('no')\n"
        "    if text == 'exit': raise SystemExit(3)\n"
        "    odd = {'nan': float('nan'), 'bool': True, 'str': '1', 'big': 10 ** 400}\n"
        "    return odd.get(text, 0.25)\n"
    )
    scores = reward(["q"] * 7, ["raise", "exit", "nan", "bool", "str", "big", "fine"])
    assert scores == [0.0] * 6 + [0.25]
    assert reward.problems.counts == {("code", "python"): 6}


def test_a_batch_past_the_time_limit_is_killed_and_scores_zero() -> None:
    reward = _python("def grade(sample, item):\n    while True:\n        pass\n", timeout=0.5)
    started = time.monotonic()
    assert reward(["q", "q"], ["a", "b"]) == [0.0, 0.0]
    assert time.monotonic() - started < 5
    assert reward.problems.counts == {("code", "python"): 2}


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nsys.exit(0)\ndef grade(sample, item):\n    return 1\n",
        "import os\ndef grade(sample, item):\n    os._exit(0)\n",
        "import os\ndef grade(sample, item):\n    os.write(3, b'garbage'); os._exit(1)\n",
        "def grade(sample, item):\n    return 1\nraise ImportError('no numpy')\n",
    ],
    ids=["exits-on-load", "exits-in-grade", "garbage-on-the-answer", "fails-on-load"],
)
def test_a_source_that_exits_or_fails_scores_the_batch_zero(source: str) -> None:
    reward = _python(source)
    assert reward(["q", "q"], ["a", "b"]) == [0.0, 0.0]
    assert reward.problems.counts == {("code", "python"): 2}
