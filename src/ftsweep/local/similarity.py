"""The metrics of text_similarity graders, each computed by a library loaded when it is used.

The libraries come with the `ftsweep[local]` extra; `require` says which one a metric needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache, partial
from typing import Any, cast

__all__ = ["require", "similarity"]


class _NoSynonyms:
    """Stands in for WordNet, which cannot be installed here: no word has a synonym."""

    def synsets(self, word: str) -> list[object]:
        return []


def _words(text: str) -> list[str]:
    from nltk.tokenize import wordpunct_tokenize

    return list(wordpunct_tokenize(text))


def _fuzzy_match(text: str, reference: str) -> float:
    from rapidfuzz import fuzz

    return fuzz.ratio(text, reference) / 100


def _bleu(text: str, reference: str) -> float:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    words = _words(text)
    if not words:
        return 0.0
    order = min(4, len(words))
    smoothing = SmoothingFunction().method1
    weights = (1 / order,) * order
    return float(sentence_bleu([_words(reference)], words, weights, smoothing))


def _gleu(text: str, reference: str) -> float:
    from nltk.translate.gleu_score import sentence_gleu

    return float(sentence_gleu([_words(reference)], _words(text)))


def _meteor(text: str, reference: str) -> float:
    from nltk.translate.meteor_score import meteor_score

    wordnet = cast(Any, _NoSynonyms())
    return float(meteor_score([_words(reference)], _words(text), wordnet=wordnet))


@cache
def _rouge_scorer(kind: str) -> Any:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer([kind], use_stemmer=False)


def _rouge(kind: str, text: str, reference: str) -> float:
    return float(_rouge_scorer(kind).score(reference, text)[kind].fmeasure)


_METRICS: dict[str, tuple[str, Callable[[str, str], float]]] = {
    "fuzzy_match": ("rapidfuzz", _fuzzy_match),
    "bleu": ("nltk", _bleu),
    "gleu": ("nltk", _gleu),
    "meteor": ("nltk", _meteor),
    **{f"rouge_{n}": ("rouge_score", partial(_rouge, f"rouge{n}")) for n in range(1, 6)},
    "rouge_l": ("rouge_score", partial(_rouge, "rougeL")),
}


def similarity(metric: str, text: str, reference: str) -> float:
    """How similar `text` is to `reference`, in [0, 1], by a text_similarity metric.

    fuzzy_match   rapidfuzz `fuzz.ratio` / 100 (as OpenAI's graders guide says it uses
                  rapidfuzz): 1 - (insertions + deletions) / (len(text) + len(reference))
    bleu          nltk `sentence_bleu`, n-grams up to min(4, words in text) weighted alike (the
                  "effective order" sacrebleu uses for sentences, so that a short answer equal
                  to its reference scores 1.0), smoothing `method1` (an order with no match
                  counts 0.1 matches instead of making the score 0)
    gleu          nltk `sentence_gleu`, n-grams of 1 to 4 words
    meteor        nltk `meteor_score` with its defaults (lower case, Porter stems, alpha 0.9,
                  beta 3, gamma 0.5) but no WordNet synonyms: WordNet is a download no
                  package ships, so "fast" does not match "quick" as it would with them
    rouge_1..rouge_5, rouge_l   rouge-score `RougeScorer` F-measure, its tokenizer (lower case,
                  runs of letters and digits), no stemming
    The nltk metrics read the words of nltk's `wordpunct_tokenize` (runs of letters and digits,
    runs of punctuation), case kept. Text without words scores 0.0 (rouge-score's own rule).
    """
    return _METRICS[metric][1](text, reference)


def require(metric: str) -> None:
    """Raise ImportError, naming the extra to install, unless `metric`'s library imports."""
    library = _METRICS[metric][0]
    try:
        importlib.import_module(library)
    except ImportError as exc:
        raise ImportError(
            f"evaluation_metric {metric!r} needs {library}: pip install 'ftsweep[local]'"
        ) from exc
