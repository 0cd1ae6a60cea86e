"""Graders of reinforcement fine-tuning, in the form the real service takes (API_FACTS 3 and 4).

Where the published types and the service differ, the service wins: a `multi` grader's `graders`
is an object keyed by name, and `calculate_output` reads those names. `Grader` is the union a
reinforcement method accepts; it refuses `label_model` at the top level and the evals-only
`cosine` metric anywhere. A python grader's source is data: it is never executed here.
The templates in a grader's strings are checked by `ftsweep.api.templates`, a multi grader's
`calculate_output` by `ftsweep.api.formulas`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Annotated, Any, Literal, TypeAlias, get_args

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ftsweep.api.common import MAX_SEED
from ftsweep.api.formulas import check_calculate_output
from ftsweep.api.templates import check_templates, references

__all__ = [
    "EVALUATION_METRICS",
    "MAX_PYTHON_SOURCE_BYTES",
    "AnyGrader",
    "AudioData",
    "ContentPart",
    "EvaluationMetric",
    "Grader",
    "GraderMessage",
    "InputAudio",
    "InputImage",
    "InputText",
    "LabelModelGrader",
    "MultiGrader",
    "OutputText",
    "PythonGrader",
    "SamplingParams",
    "ScoreModelGrader",
    "StringCheckGrader",
    "SubGrader",
    "TextSimilarityGrader",
    "grader_adapter",
    "parse_grader",
    "template_references",
]

MAX_PYTHON_SOURCE_BYTES = 256 * 1024
EvaluationMetric: TypeAlias = Literal[
    "cosine",
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
]
EVALUATION_METRICS: tuple[str, ...] = get_args(EvaluationMetric)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- templates -------------------------------------------------------------------------------


Text = Annotated[str, AfterValidator(check_templates)]
"""A string that may hold `{{ item.x }}` / `{{ sample.x }}` templates, checked when read."""


# --- message content -------------------------------------------------------------------------


class InputText(_Model):
    """`{type: input_text, text}`."""

    type: Literal["input_text"]
    text: Text


class OutputText(_Model):
    """`{type: output_text, text}`."""

    type: Literal["output_text"]
    text: Text


class InputImage(_Model):
    """`{type: input_image, image_url, detail?}`."""

    type: Literal["input_image"]
    image_url: Text
    detail: Literal["high", "low", "auto"] | None = None


class AudioData(_Model):
    """The `input_audio` object of an audio part: base64 data and its format."""

    data: Text
    format: Literal["mp3", "wav"]


class InputAudio(_Model):
    """`{type: input_audio, input_audio: {data, format}}`."""

    type: Literal["input_audio"]
    input_audio: AudioData


ContentPart = Annotated[
    InputText | OutputText | InputImage | InputAudio, Field(discriminator="type")
]
Content: TypeAlias = Text | ContentPart | tuple[Text | ContentPart, ...]


class GraderMessage(_Model):
    """One input message of a model grader."""

    role: Literal["user", "assistant", "system", "developer"]
    content: Content
    type: Literal["message"] | None = None


# --- the graders -----------------------------------------------------------------------------

_Number: TypeAlias = StrictInt | Annotated[float, Strict(), AllowInfNan(False)]


class StringCheckGrader(_Model):
    """Compares `input` with `reference`: eq, ne, like (contains) or ilike (case-insensitive)."""

    type: Literal["string_check"]
    name: str
    input: Text
    reference: Text
    operation: Literal["eq", "ne", "like", "ilike"]


class TextSimilarityGrader(_Model):
    """Scores `input` against `reference` with a similarity metric."""

    type: Literal["text_similarity"]
    name: str
    input: Text
    reference: Text
    evaluation_metric: EvaluationMetric


def _defines_grade(source: str) -> str:
    """Compile (never run) a python grader's source and find its `grade` function."""
    import ast

    try:
        compile(source, "<grader>", "exec", dont_inherit=True)  # compiled, never run
        tree = ast.parse(source, "<grader>")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise ValueError(f"python grader source does not compile: {exc.msg} ({where})") from None
    except ValueError as exc:  # a NUL byte in the source
        raise ValueError(f"python grader source does not compile: {exc}") from None
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if "grade" not in defined:
        raise ValueError("python grader source must define grade(sample, item) at its top level")
    return source


class PythonGrader(_Model):
    """Runs `grade(sample, item)` on the vendor's side; the source is never executed here."""

    type: Literal["python"]
    name: str
    source: str
    image_tag: str | None = None

    @field_validator("source")
    @classmethod
    def _small_enough(cls, source: str) -> str:
        size = len(source.encode("utf-8"))
        if size >= MAX_PYTHON_SOURCE_BYTES:
            raise ValueError(f"python grader source is {size} bytes; it must be under 256 KiB")
        return _defines_grade(source)


class SamplingParams(_Model):
    """Sampling parameters of a score model grader, in the ranges the API's sampling takes."""

    max_completions_tokens: Annotated[StrictInt, Field(ge=1, le=MAX_SEED)] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = None
    temperature: Annotated[_Number, Field(ge=0, le=2)] | None = None
    top_p: Annotated[_Number, Field(ge=0, le=1)] | None = None


class ScoreModelGrader(_Model):
    """Asks a model for a score within `range` (default [0, 1])."""

    type: Literal["score_model"]
    name: str
    model: str
    input: tuple[GraderMessage, ...]
    range: tuple[_Number, _Number] | None = None
    sampling_params: SamplingParams | None = None

    @field_validator("range")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"range must be [min, max] with min < max, got {list(bounds)}")
        return bounds


class LabelModelGrader(_Model):
    """Asks a model for a label; passes when it is one of `passing_labels`. Only inside multi."""

    type: Literal["label_model"]
    name: str
    model: str
    input: tuple[GraderMessage, ...]
    labels: tuple[str, ...]
    passing_labels: tuple[str, ...]

    @field_validator("labels", "passing_labels")
    @classmethod
    def _not_empty(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        if not labels:
            raise ValueError("must hold at least one label")
        return labels

    @model_validator(mode="after")
    def _passing_among_labels(self) -> LabelModelGrader:
        strays = [label for label in self.passing_labels if label not in self.labels]
        if strays:
            raise ValueError(
                f"passing_labels must be a subset of labels; {strays[0]!r} is not one of "
                + ", ".join(repr(label) for label in self.labels)
            )
        return self


_Leaf: TypeAlias = (
    StringCheckGrader | TextSimilarityGrader | PythonGrader | ScoreModelGrader | LabelModelGrader
)
SubGrader = Annotated[_Leaf, Field(discriminator="type")]
"""A grader inside a multi grader: any grader but another multi."""


def _field(grader: object, key: str) -> object:
    """A field of a grader given as a dict or as a model."""
    if isinstance(grader, Mapping):
        return grader.get(key)
    return getattr(grader, key, None)


def _as_mapping(graders: object) -> Mapping[object, object]:
    """The keyed form: a single grader (it has a `type`) becomes `{its name: it}`."""
    if isinstance(_field(graders, "type"), str):
        name = _field(graders, "name")
        if not isinstance(name, str):
            raise ValueError("a single grader given as graders needs a name to key it by")
        return {name: graders}
    if not isinstance(graders, Mapping):
        raise ValueError("graders must be an object keyed by grader name, like {'accuracy': {...}}")
    return graders


def _keyed(graders: object) -> Mapping[object, object]:
    """Normalise `graders` to the keyed form; refuse no graders, blank keys and nested multi."""
    graders = _as_mapping(graders)
    if not graders:
        raise ValueError("a multi grader needs at least one grader")
    for key, grader in graders.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"grader keys must be non-empty strings, got {key!r}")
        if _field(grader, "type") == "multi":
            raise ValueError(f"a multi grader cannot contain another multi grader ({key!r})")
    return graders


class MultiGrader(_Model):
    """Combines graders keyed by name; `calculate_output` is a formula over those names."""

    type: Literal["multi"]
    name: str
    graders: Annotated[dict[str, SubGrader], BeforeValidator(_keyed)]
    calculate_output: str

    @field_validator("calculate_output")
    @classmethod
    def _formula(cls, formula: str, info: ValidationInfo) -> str:
        graders = info.data.get("graders")
        if graders is not None:  # an invalid `graders` is reported on its own
            check_calculate_output(formula, graders)
        return formula


# --- the reinforcement grader ----------------------------------------------------------------

AnyGrader: TypeAlias = _Leaf | MultiGrader


def _leaves(grader: AnyGrader) -> Iterator[AnyGrader]:
    if isinstance(grader, MultiGrader):
        yield from grader.graders.values()
    else:
        yield grader


def _not_label_model(grader: Any) -> Any:
    if _field(grader, "type") == "label_model":
        raise ValueError(
            "a label_model grader can only be used inside a multi grader,"
            " not as the reinforcement grader"
        )
    return grader


def _no_cosine(grader: AnyGrader) -> AnyGrader:
    for leaf in _leaves(grader):
        if isinstance(leaf, TextSimilarityGrader) and leaf.evaluation_metric == "cosine":
            raise ValueError(
                f"text_similarity grader {leaf.name!r} uses evaluation_metric 'cosine', which"
                " is for evals only, not for reinforcement fine-tuning"
            )
    return grader


Grader = Annotated[
    StringCheckGrader | TextSimilarityGrader | PythonGrader | ScoreModelGrader | MultiGrader,
    Field(discriminator="type"),
    BeforeValidator(_not_label_model),
    AfterValidator(_no_cosine),
]
"""The grader of a reinforcement method, with the real service's rules applied."""


@cache
def grader_adapter() -> TypeAdapter[Grader]:
    """A TypeAdapter that validates (and dumps) a reinforcement grader."""
    return TypeAdapter(Grader, config=ConfigDict(title="Grader"))


def parse_grader(data: object) -> Grader:
    """Validate a raw dict (or JSON-like data) into a reinforcement grader."""
    return grader_adapter().validate_python(data)


#: The model fields whose strings may hold templates (a python grader's source never does).
_TEMPLATED_FIELDS = frozenset({"input", "reference", "content", "text", "image_url", "data"})


def _texts(node: object, templated: bool = False) -> Iterator[str]:
    if isinstance(node, str):
        if templated:
            yield node
    elif isinstance(node, BaseModel) and not isinstance(node, PythonGrader):
        for field in type(node).model_fields:
            yield from _texts(getattr(node, field), field in _TEMPLATED_FIELDS)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _texts(item, templated)
    elif isinstance(node, Mapping):
        for item in node.values():
            yield from _texts(item, templated)


def template_references(grader: AnyGrader) -> set[str]:
    """Every template a grader reads, as written inside the braces: {'item.answer', ...}."""
    return {ref for text in _texts(grader) for ref in references(text)}
