"""The judge of score_model and label_model graders: a chat model at an OpenAI-compatible URL.

`JudgeSettings` is what `service.judge` holds. For each sample the grader's `input` messages are
rendered with the sample and row (`ftsweep.local.graders.render`) and sent with the official
`openai` client's chat.completions to `settings.model` (the grader's own `model` names one of
OpenAI's; a local endpoint serves its own). One instruction is added, to the first system
message or as a new first one, asking for the answer in a form that can be read:

    score_model   `{"score": <number>}`; the reply's `score` (or `result`, the key of OpenAI's
                  own score schema), else the first number in it, clamped to the grader's
                  `range` (default [0, 1])
    label_model   `{"label": "<label>"}`; the reply's `label`, else the reply itself, else the
                  one label it names as a word (case folded); 1.0 when that label is one of
                  `passing_labels`, else 0.0

A `developer` message goes as `system`, which every chat server knows; `sampling_params` go
along (`max_completions_tokens` as `max_tokens`). A sample's request is tried 1 + `max_retries`
times, with a short backoff, while the judge cannot be reached, answers 408, 409, 429 or 5xx, or
gives a reply that cannot be read; another status is not tried again. Then the sample scores
0.0, counted as kind `judge`. At most `max_concurrency` requests of a batch are in flight.

The API key comes from the environment variable that `api_key_env` names, never from a file;
without `api_key_env` the client sends a placeholder, as local servers need none.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ftsweep.api.graders import (
    Content,
    InputImage,
    InputText,
    LabelModelGrader,
    OutputText,
    ScoreModelGrader,
)
from ftsweep.local.graders import Item, MissingField, Report, Sample, Scorer, render

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["JudgeSettings", "judge_scorer", "read_label", "read_score"]

Message = dict[str, Any]
_BACKOFF = 0.25  # seconds before the first retry, doubling
_NO_KEY = "unused"
_RETRIED_STATUSES = frozenset({408, 409, 429})


class JudgeSettings(BaseModel):
    """`service.judge`: where the judge of model graders answers, and how to ask it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    model: Annotated[str, Field(min_length=1)]
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    timeout: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 60.0
    max_concurrency: Annotated[StrictInt, Field(ge=1, le=256)] = 4
    max_retries: Annotated[StrictInt, Field(ge=0, le=10)] = 2

    def api_key(self) -> str:
        """The key from `api_key_env`'s variable; ValueError naming it when it is not set."""
        if self.api_key_env is None:
            return _NO_KEY
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ValueError(
                f"service.judge.api_key_env is {self.api_key_env}, but that environment"
                " variable is not set"
            )
        return key


class Unreadable(ValueError):
    """The judge's reply has no answer in the form asked for."""


# --- reading the reply -----------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"^```\w*\s*|\s*```$")


def _field(reply: str, keys: Sequence[str]) -> object:
    """The first of `keys` in the reply read as a JSON object (code fences allowed), or None."""
    try:
        data = json.loads(_FENCE.sub("", reply.strip()))
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        return next((data[key] for key in keys if key in data), None)
    return None


def read_score(low: float, high: float, reply: str) -> float:
    """The score in a reply, clamped to [low, high]; Unreadable if it holds no number."""
    value = _field(reply, ("score", "result"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        found = _NUMBER.search(reply)
        if found is None:
            raise Unreadable(f"no score in the judge's reply {reply[:80]!r}")
        value = float(found[0])
    if not math.isfinite(value):
        raise Unreadable(f"the judge's score is {value}")
    return min(max(float(value), low), high)


def read_label(labels: Sequence[str], reply: str) -> str:
    """The label a reply gives; Unreadable if it gives none of `labels`, or several."""
    folded = {label.casefold(): label for label in labels}
    named = _field(reply, ("label",))
    for candidate in (named, reply.strip().strip("\"'`.").strip()):
        if isinstance(candidate, str) and candidate.casefold() in folded:
            return folded[candidate.casefold()]
    found = {
        label
        for label in labels
        if re.search(rf"(?<!\w){re.escape(label)}(?!\w)", reply, re.IGNORECASE)
    }
    if len(found) != 1:
        raise Unreadable(f"the judge's reply names {len(found)} of the labels: {reply[:80]!r}")
    return found.pop()


# --- asking ------------------------------------------------------------------------------------


def _part(part: str | Any, sample: Sample, item: Item) -> Message:
    if isinstance(part, str):
        return {"type": "text", "text": render(part, sample, item)}
    if isinstance(part, InputText | OutputText):
        return {"type": "text", "text": render(part.text, sample, item)}
    if isinstance(part, InputImage):
        image: Message = {"url": render(part.image_url, sample, item)}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    audio = part.input_audio
    data = {"data": render(audio.data, sample, item), "format": audio.format}
    return {"type": "input_audio", "input_audio": data}


def _content(content: Content, sample: Sample, item: Item) -> str | list[Message]:
    if isinstance(content, str):
        return render(content, sample, item)
    parts = content if isinstance(content, tuple) else (content,)
    return [_part(part, sample, item) for part in parts]


def _instructed(messages: list[Message], instruction: str) -> list[Message]:
    """`messages` with `instruction` added to the first system message, or first of all."""
    if messages and messages[0]["role"] == "system":
        first, content = messages[0], messages[0]["content"]
        if isinstance(content, str):
            added: str | list[Message] = f"{content}\n\n{instruction}"
        else:
            added = [*content, {"type": "text", "text": instruction}]
        return [{**first, "content": added}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


@dataclass(frozen=True)
class _Form:
    """What the judge is asked to answer, and how its reply becomes a score."""

    instruction: str
    score: Callable[[str], float]


def _passes(grader: LabelModelGrader, reply: str) -> float:
    return 1.0 if read_label(grader.labels, reply) in grader.passing_labels else 0.0


def _form(grader: ScoreModelGrader | LabelModelGrader) -> _Form:
    if isinstance(grader, LabelModelGrader):
        labels = ", ".join(json.dumps(label) for label in grader.labels)
        instruction = f'Answer with only a JSON object {{"label": <one of {labels}>}}.'
        return _Form(instruction, partial(_passes, grader))
    low, high = grader.range or (0, 1)
    instruction = f'Answer with only a JSON object {{"score": <a number from {low} to {high}>}}.'
    return _Form(instruction, partial(read_score, low, high))


def _parameters(grader: ScoreModelGrader | LabelModelGrader) -> dict[str, Any]:
    sampling = grader.sampling_params if isinstance(grader, ScoreModelGrader) else None
    parameters = {} if sampling is None else sampling.model_dump(exclude_none=True)
    if "max_completions_tokens" in parameters:
        parameters["max_tokens"] = parameters.pop("max_completions_tokens")
    return parameters


def _text_of(completion: object) -> str:
    """The text of a chat completion, read warily: the client does not check what it parses."""
    choices = getattr(completion, "choices", None)
    first = choices[0] if isinstance(choices, list) and choices else None
    content = getattr(getattr(first, "message", None), "content", None)
    if not isinstance(content, str) or not content:
        raise Unreadable(f"the judge's reply is no chat completion with text: {completion!r:.80}")
    return content


def _retried(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRIED_STATUSES or exc.status_code >= 500
    return True


class _Judge:
    """Asks the judge about one grader's samples."""

    def __init__(
        self, grader: ScoreModelGrader | LabelModelGrader, settings: JudgeSettings, report: Report
    ) -> None:
        self.grader, self.settings, self.report = grader, settings, report
        self.form, self.parameters = _form(grader), _parameters(grader)
        self.client: OpenAI = _client(settings)

    def messages(self, sample: Sample, item: Item) -> list[Message] | None:
        """The request for one sample; None, counted, if a template reads what is not there."""
        try:
            messages = [
                {
                    "role": "system" if message.role == "developer" else message.role,
                    "content": _content(message.content, sample, item),
                }
                for message in self.grader.input
            ]
        except MissingField as exc:
            self.report("template", str(exc))
            return None
        return _instructed(messages, self.form.instruction)

    def reply(self, messages: list[Message]) -> str:
        completion: object = self.client.chat.completions.create(
            model=self.settings.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            **self.parameters,
        )
        return _text_of(completion)

    def score(self, messages: list[Message] | None) -> float:
        """The score of one request, tried as the module docstring says; 0.0 when it fails."""
        import openai

        if messages is None:
            return 0.0
        problem = ""
        for attempt in range(self.settings.max_retries + 1):
            if attempt:
                time.sleep(_BACKOFF * 2 ** (attempt - 1))
            try:
                return self.form.score(self.reply(messages))
            except (ValueError, openai.APIError) as exc:  # ValueError: a body that is no JSON
                problem = f"{type(exc).__name__}: {exc}"
                if not _retried(exc):
                    break
        self.report("judge", problem)
        return 0.0


def _client(settings: JudgeSettings) -> OpenAI:
    from openai import OpenAI

    key = settings.api_key()
    return OpenAI(base_url=settings.base_url, api_key=key, timeout=settings.timeout, max_retries=0)


def judge_scorer(
    grader: ScoreModelGrader | LabelModelGrader, settings: JudgeSettings, report: Report
) -> Scorer:
    """A scorer that asks the judge about each sample of a batch, a few at a time."""
    judge = _Judge(grader, settings, report)

    def scorer(samples: Sequence[Sample], items: Sequence[Item]) -> list[float]:
        requests = [
            judge.messages(sample, item) for sample, item in zip(samples, items, strict=True)
        ]
        workers = min(settings.max_concurrency, max(1, len(requests)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(judge.score, requests))

    return scorer
