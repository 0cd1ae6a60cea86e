"""text_similarity metrics against scores worked out by hand."""

from __future__ import annotations

import sys

import pytest

from ftsweep.api.graders import EVALUATION_METRICS
from ftsweep.local.similarity import _METRICS, require, similarity

HYPOTHESIS = "the cat sat on the mat"
REFERENCE = "the cat sat on a mat"


def test_fuzzy_match_is_the_indel_ratio() -> None:
    # kitten / sitting: longest common subsequence "ittn", so 6 + 7 - 2 * 4 = 5 edits of 13.
    assert similarity("fuzzy_match", "kitten", "sitting") == pytest.approx(8 / 13)
    assert similarity("fuzzy_match", "same", "same") == 1.0


def test_bleu_by_hand() -> None:
    # Clipped matches of 1..4-grams: 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty.
    expected = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** (1 / 4)
    assert similarity("bleu", HYPOTHESIS, REFERENCE) == pytest.approx(expected)


def test_bleu_of_a_short_answer_uses_its_own_order() -> None:
    assert similarity("bleu", "Paris", "Paris") == 1.0
    assert similarity("bleu", "New York", "New York") == 1.0
    assert similarity("bleu", "", "Paris") == 0.0


def test_gleu_by_hand() -> None:
    # 18 n-grams of 1..4 words on each side, 5 + 3 + 2 + 1 = 11 shared: min(11/18, 11/18).
    assert similarity("gleu", HYPOTHESIS, REFERENCE) == pytest.approx(11 / 18)


def test_meteor_by_hand_with_stems_and_without_synonyms() -> None:
    # All 6 words match in one chunk: penalty 0.5 * (1/6)^3 on an F-mean of 1.
    assert similarity("meteor", HYPOTHESIS, HYPOTHESIS) == pytest.approx(1 - 0.5 / 216)
    # "cats" matches "cat" by its Porter stem: one chunk of one word, penalty 0.5.
    assert similarity("meteor", "cats", "cat") == pytest.approx(0.5)
    assert similarity("meteor", "quick", "fast") == 0.0  # WordNet would match them


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("rouge_1", 6 / 7),  # P = 3/3, R = 3/4
        ("rouge_2", 0.8),  # P = 2/2, R = 2/3
        ("rouge_3", 2 / 3),  # P = 1/1, R = 1/2
        ("rouge_4", 0.0),
        ("rouge_5", 0.0),
        ("rouge_l", 6 / 7),  # longest common subsequence of 3
    ],
)
def test_rouge_by_hand(metric: str, expected: float) -> None:
    assert similarity(metric, "The cat sat", "the cat sat on") == pytest.approx(expected)


def test_every_reinforcement_metric_has_an_implementation() -> None:
    assert set(_METRICS) == set(EVALUATION_METRICS) - {"cosine"}


def test_a_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rouge_score", None)
    with pytest.raises(
        ImportError, match=r"'rouge_l' needs rouge_score: pip install 'ftsweep\[local\]'"
    ):
        require("rouge_l")
