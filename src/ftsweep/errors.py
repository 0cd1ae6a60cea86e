"""The exceptions ftsweep raises, in one tree.

The library raises these; only the CLI turns them into a message and an exit code.

    FtsweepError
    ├── SweepFileError     a sweep file that cannot be read or breaks a rule (lists every problem)
    ├── PlanError          a valid sweep that cannot be planned as asked (infinite space, no limit)
    ├── StudyError         the sweep's Optuna study cannot do what was asked
    │   ├── NoStudyError   a command that only reads found no study of the sweep in the storage
    │   ├── DamagedStudyError  the study's journal file is damaged (`ftsweep doctor` repairs it)
    │   └── ResultsError   a results file that cannot be told (lists every problem)
    ├── OutputError        an output file that cannot be written
    └── ServiceError       the fine-tuning service cannot be reached or refused a request
        ├── CredentialsError  no key, or a key the service refuses (names the variable to set)
        └── RefusedError   the service refused one request (400, 404): its own message
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "CredentialsError",
    "DamagedStudyError",
    "FtsweepError",
    "NoStudyError",
    "OutputError",
    "PlanError",
    "Problem",
    "RefusedError",
    "ResultsError",
    "ServiceError",
    "StudyError",
    "SweepFileError",
    "format_location",
]


class _Missing(enum.Enum):
    """No value was given; an enum member, so a Problem keeps it when pickled (the row checks
    send Problems between processes)."""

    MISSING = "missing"


_MISSING = _Missing.MISSING


def format_location(loc: Sequence[str | int]) -> str:
    """Render a field path the way a person writes it: `space.beta.low`, `graders[0].name`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One broken rule: where it is, what was found there, and the rule."""

    loc: tuple[str | int, ...]
    message: str
    value: object = field(default=_MISSING, compare=False)
    line: int | None = None
    column: int | None = None

    @property
    def path(self) -> str:
        return format_location(self.loc)

    def render(self, file: str | None = None) -> str:
        where = file or ""
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        prefix = f"{where}: " if where else ""
        got = "" if self.value is _MISSING else f" (got {_short(self.value)})"
        return f"{prefix}{self.path}: {self.message}{got}"


class FtsweepError(Exception):
    """Base class of every error ftsweep raises on purpose."""

    exit_code = 1


class SweepFileError(FtsweepError):
    """A sweep file is unreadable or breaks rules; `problems` lists every one found."""

    exit_code = 2

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{file}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(p.render(file) for p in self.problems)]))


class PlanError(FtsweepError):
    """The sweep is valid but cannot be planned as asked."""

    exit_code = 2


class StudyError(FtsweepError):
    """The sweep's study cannot do what was asked."""

    exit_code = 1


class NoStudyError(StudyError):
    """The storage holds no study of the sweep, and the command only reads (nothing is made)."""

    exit_code = 2


class DamagedStudyError(StudyError):
    """The storage's journal file is damaged or unreadable; the message names the line and the way
    out (`ftsweep doctor SWEEP --repair`)."""

    exit_code = 1

    def naming(self, sweep: str) -> DamagedStudyError:
        """The same error with the sweep file in place of `SWEEP` in its way out."""
        return DamagedStudyError(str(self).replace("doctor SWEEP", f"doctor {sweep}"))


class ResultsError(StudyError):
    """A results file cannot be told; `problems` lists every one found."""

    exit_code = 2

    def __init__(
        self, file: str, problems: Sequence[Problem], text: str | None = None, done: str = "told"
    ) -> None:
        self.file = file
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{file}: {count} problem{'s' if count != 1 else ''}, nothing was {done}"
        super().__init__(text or "\n".join([head, *(p.render(file) for p in self.problems)]))

    @classmethod
    def merge(cls, errors: Sequence[ResultsError]) -> ResultsError:
        """One error for several files' errors, each file's problems under its own name."""
        if len(errors) == 1:
            return errors[0]
        problems = [p for e in errors for p in e.problems]
        text = "\n".join(str(e) for e in errors)
        return cls(", ".join(e.file for e in errors), problems, text)


class OutputError(FtsweepError):
    """An output file cannot be written."""

    exit_code = 1


class ServiceError(FtsweepError):
    """The fine-tuning service cannot be reached, or answered in a way ftsweep cannot go on
    from. Messages never hold a key: `scrubbed` takes out every secret the client was given."""

    exit_code = 1


class CredentialsError(ServiceError):
    """No credentials in the environment, or the service refused them."""

    exit_code = 2


class MissingExtraError(ServiceError):
    """A backend needs packages of an optional extra that are not installed."""

    exit_code = 2


class RefusedError(ServiceError):
    """The service refused one request (a job body, a file, a model); `status` is the HTTP
    status, the message is the service's own."""

    exit_code = 1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
