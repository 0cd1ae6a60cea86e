"""Load a sweep file into a `Sweep`, or raise one SweepFileError listing every problem in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ftsweep.api.hyperparameters import RULES
from ftsweep.api.names import METHODS
from ftsweep.errors import PlanError, Problem, SweepFileError
from ftsweep.sweep.document import Positions, parse_document, read_document
from ftsweep.sweep.parse import RANGE_KEYS, parse_space
from ftsweep.sweep.space import Space
from ftsweep.sweep.spec import COST_METRIC, KNOWN_METRICS, SECRET_FIELDS, Objective, SweepSpec
from ftsweep.sweep.templates import check_suffix_and_metadata

if TYPE_CHECKING:
    from ftsweep.api.graders import Grader
    from ftsweep.api.methods import ResponseFormat

__all__ = ["Sweep", "load_sweep", "loads_sweep", "problems_of"]


_PATHLIKE = ("/", "\\", ".jsonl", ".json", "~")


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its file's fields, its parsed space, grader and resolved strategy."""

    spec: SweepSpec
    space: Space
    file: str = "<string>"
    grader: Grader | None = None
    response_format: ResponseFormat | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def strategy(self) -> str:
        """The file's strategy; by default grid on a finite space that `max_trials` lets it
        cover, bayes otherwise."""
        if self.spec.strategy is not None:
            return self.spec.strategy
        size, limit = self.space.size, self.spec.max_trials
        if size is not None and (limit is None or limit >= size):
            return "grid"
        return "bayes"

    @cached_property
    def objectives(self) -> tuple[Objective, ...]:
        return self.spec.objectives

    def data_file(self, field: str) -> Path | None:
        """The local file a data field (`training_file`, `validation_file`) names, relative to
        the sweep file; None when the field is unset or names a file id. A value that looks
        like a path (a `/`, `~` or `.jsonl` in it) and names no file is an error."""
        value = getattr(self.spec, field)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path(self.file).parent / path
        if path.is_file():
            return path
        if any(mark in value for mark in _PATHLIKE):
            raise PlanError(f"{self.file}: {field}: no such file: {path}")
        return None

    @property
    def costs(self) -> bool:
        """Whether an objective is the trial's `cost` (its job's cost at the user's prices)."""
        return any(o.metric == COST_METRIC for o in self.objectives)

    @property
    def plan_size(self) -> int | None:
        """How many trials the whole plan holds: the sweep file's `max_trials` or the size of
        a finite space, whichever is smaller (None: the plan never ends)."""
        bounds = [b for b in (self.spec.max_trials, self.space.size) if b is not None]
        return min(bounds) if bounds else None


def load_sweep(path: str | Path) -> Sweep:
    """Read, parse and check a sweep file (YAML, TOML or JSON)."""
    data, positions = read_document(path)
    return _build(data, positions, str(path))


def loads_sweep(text: str, format: str = "yaml", file: str = "<string>") -> Sweep:
    """Like `load_sweep`, from text in the given format (`yaml`, `toml` or `json`)."""
    data, positions = parse_document(text, file, "." + format.lower().lstrip("."))
    return _build(data, positions, file)


def _build(data: Any, positions: Positions, file: str) -> Sweep:
    if not isinstance(data, Mapping):
        raise SweepFileError(file, [Problem((), "a sweep file must be a mapping of fields", data)])
    problems: list[Problem] = []
    spec: SweepSpec | None = None
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems += problems_of(exc)
    grader, response_format = _grader(data, problems), _response_format(data, problems)
    method = data.get("method") if data.get("method") in METHODS else None
    space, space_problems = parse_space(
        data.get("space"), method, data.get("zip"), model_fixed=bool(data.get("model"))
    )
    problems += [p for p in space_problems if p.loc != ("space",) or "space" in data]
    problems += _cross_checks(data, method, spec, space)
    if problems:
        located = sorted(
            map(positions.locate, problems), key=lambda p: (p.line or 0, p.column or 0)
        )
        raise SweepFileError(file, located)
    assert spec is not None and space is not None
    return Sweep(spec, space, file, grader, response_format)


def _grader(data: Mapping[str, Any], problems: list[Problem]) -> Grader | None:
    if data.get("grader") is None:
        return None
    from ftsweep.api.graders import parse_grader

    try:
        return parse_grader(data["grader"])
    except ValidationError as exc:
        problems += problems_of(exc, prefix=("grader",))
        return None


def _response_format(data: Mapping[str, Any], problems: list[Problem]) -> ResponseFormat | None:
    if data.get("response_format") is None:
        return None
    from ftsweep.api.methods import ResponseFormat

    try:
        return ResponseFormat.model_validate(data["response_format"])
    except ValidationError as exc:
        problems += problems_of(exc, prefix=("response_format",))
        return None


def _cross_checks(
    data: Mapping[str, Any], method: str | None, spec: SweepSpec | None, space: Space | None
) -> list[Problem]:
    """Rules across fields, each checked once the fields it reads are valid, whatever else is
    wrong in the file, so that one error lists every problem."""
    problems = list(_method_checks(method, data)) if method is not None else []
    problems += _placeholders(data, ())
    validation = data.get("validation_file")
    if validation == data.get("training_file") and validation and not _placeholders(validation, ()):
        rule = "is the training file: a validation loss on the training data means nothing"
        problems.append(Problem(("validation_file",), rule, data["validation_file"]))
    if spec is not None:
        problems += [*_repeated_metrics(spec), *_prune_checks(spec)]
    return problems + _space_checks(data, spec, space)


def _prune_checks(spec: SweepSpec) -> list[Problem]:
    """Pruning judges one metric that improves one known way, in a single-objective sweep."""
    if spec.prune is None:
        return []
    if len(spec.objectives) > 1:
        rule = "pruning needs a single objective (Optuna's pruners judge one value per step)"
        return [Problem(("prune",), rule)]
    metric = spec.prune.metric
    if metric is not None and metric not in KNOWN_METRICS and metric != spec.objectives[0].metric:
        known = ", ".join(m for m in KNOWN_METRICS if m not in ("trained_tokens", "cost"))
        rule = f"must be the objective's metric or one whose direction is known: {known}"
        return [Problem(("prune", "metric"), rule, metric)]
    if metric in ("trained_tokens", COST_METRIC):
        return [Problem(("prune", "metric"), "is no per-step metric", metric)]
    return []


def _space_checks(
    data: Mapping[str, Any], spec: SweepSpec | None, space: Space | None
) -> list[Problem]:
    problems: list[Problem] = []
    if space is not None and data.get("strategy") == "grid" and not space.finite:
        problems += _infinite_dimensions(space)
    if spec is not None and space is not None:
        problems += check_suffix_and_metadata(spec, space)
    return problems


PLACEHOLDER = "REPLACE-ME"


def _placeholders(node: Any, loc: tuple[str | int, ...]) -> list[Problem]:
    """Every value still holding the starter's placeholder, wherever it is."""
    if isinstance(node, str):
        if PLACEHOLDER not in node:
            return []
        field = str(loc[-1]) if loc else ""
        what = {"model": "model name"}.get(field, "file id" if field.endswith("_file") else "value")
        return [Problem(loc, f"is a placeholder: put the real {what} here", node)]
    if isinstance(node, Mapping):
        return [p for k, v in node.items() for p in _placeholders(v, (*loc, str(k)))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _placeholders(v, (*loc, i))]
    return []


def _repeated_metrics(spec: SweepSpec) -> Iterable[Problem]:
    if not isinstance(spec.objective, list):
        return
    first: dict[str, int] = {}
    for i, objective in enumerate(spec.objective):
        if objective.metric in first:
            rule = f"is the metric of objective[{first[objective.metric]}] already"
            yield Problem(("objective", i, "metric"), rule, objective.metric)
        first.setdefault(objective.metric, i)


def _method_checks(method: str, data: Mapping[str, Any]) -> Iterable[Problem]:
    if method == "reinforcement":
        if data.get("grader") is None:
            yield Problem(("grader",), "the reinforcement method needs a grader")
        if data.get("validation_file") is None:
            yield Problem(("validation_file",), "the reinforcement method needs a validation file")
        return
    if data.get("grader") is not None:
        yield Problem(("grader",), f"only the reinforcement method takes a grader, not {method}")
    if data.get("response_format") is not None:
        rule = f"only the reinforcement method takes a response_format, not {method}"
        yield Problem(("response_format",), rule)


def _infinite_dimensions(space: Space) -> Iterable[Problem]:
    several = len(space.subspaces) > 1
    for i, sub in enumerate(space.subspaces):
        for name, dim in sub.dimensions.items():
            if dim.size is None:
                loc: tuple[str | int, ...] = ("space", i, name) if several else ("space", name)
                rule = "a grid needs finite dimensions: give this range num or step"
                yield Problem(loc, rule)


_VOCABULARY = sorted(
    {*SweepSpec.model_fields, *RANGE_KEYS, "metric", "direction", "reduce", "suffix", "metadata"}
    | {"integrations", "seed", "type", "graders", "calculate_output", "input", "reference"}
)


def problems_of(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[Problem]:
    """Pydantic's errors as Problems, in the words of the sweep file's other errors."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = _clean_loc(prefix + tuple(error["loc"]))
        if error["type"] == "extra_forbidden" and loc and loc[-1] in SECRET_FIELDS:
            problems.append(Problem(loc, NO_SECRETS))  # the value is a key: never shown
        elif error["type"] == "extra_forbidden":
            problems.append(Problem(loc, _unknown_key(str(loc[-1]) if loc else "")))
        elif error["type"] == "missing":
            problems.append(Problem(loc, "is required"))
        else:
            message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            problems.append(Problem(loc, message, error.get("input")))
    return list(dict.fromkeys(problems))


NO_SECRETS = (
    "a sweep file never holds a key: set OPENAI_API_KEY (OpenAI) or AZURE_OPENAI_API_KEY / "
    "AZURE_OPENAI_AD_TOKEN (Azure) in the environment"
)


def _unknown_key(key: str) -> str:
    if key in RULES:
        return "unknown key (hyperparameters are dimensions: put them under `space`)"
    import difflib

    close = difflib.get_close_matches(key, _VOCABULARY, n=1)
    return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")


_TAGS = {"string_check", "text_similarity", "python", "score_model", "label_model", "multi"}
_TAGS |= {"input_text", "output_text", "input_image", "input_audio", "message", "json_schema"}
_TAGS |= {"one", "many"}


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the union-branch names pydantic puts in paths (`grader.multi.name` -> `grader.name`)."""
    out: list[str | int] = []
    for part in loc:
        kept = out[-1:] in (["graders"], ["response_format"])  # a key there, not a union tag
        if isinstance(part, str) and ("[" in part or part in _TAGS) and not kept:
            continue
        if part in ("str", "int", "float", "list", "dict", "tuple"):
            continue
        out.append(part)
    return tuple(out)
