"""OpenAI's fine-tuning service and Azure OpenAI's, through the official `openai` client.

One implementation of `Backend` serves three dialects:

- `openai`: OpenAI or any compatible endpoint; jobs carry `metadata`, and the job list filters
  on it (`metadata[ftsweep_sweep]=...`), so a sweep's jobs and a trial's job are found by
  asking for them.
- `azure`: Azure OpenAI's v1 API (`{endpoint}/openai/v1/`), which takes and returns `metadata`
  but documents no filter on the list: a sweep's jobs are found by a scan, newest first, back to
  the earliest submission, matched on their metadata here.
- `azure-dated`: a dated Azure API version (`?api-version=2025-04-01-preview`), which keeps no
  metadata at all: jobs are matched on the suffix they were created with, so the sweep's
  `job.suffix` must name the trial (`{trial}`).

The client's retries are off; errors become `ServiceError`s with every secret scrubbed out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError

from ftsweep.api.job_object import JobObject
from ftsweep.errors import CredentialsError, RefusedError, ServiceError
from ftsweep.provider.backend import Transient, TrialJob, UploadedFile
from ftsweep.provider.retry import Retry
from ftsweep.study.cells import metric_cell
from ftsweep.study.steps import unwrap_base64

if TYPE_CHECKING:
    import openai

__all__ = ["Dialect", "ServiceBackend", "scrub"]

Dialect = Literal["openai", "azure", "azure-dated"]
T = TypeVar("T")

#: Statuses on which the request may pass when sent again (the client's own list).
_TRANSIENT = {408, 409, 429}
_PAGE = 100  # the largest page the job list serves
#: Metrics computed on the whole validation file at each epoch end (`full_valid_loss`, ...):
#: reported in metric events and checkpoints, never in the per-step result file (API_FACTS 7).
EPOCH_END_PREFIX = "full_valid_"
_KEYLIKE = re.compile(r"\b(sk|key|ft)-[A-Za-z0-9_\-*]{6,}")


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret, and anything shaped like an API key, replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub(lambda m: f"{m.group(1)}-***", text)


class ServiceBackend:
    """A fine-tuning service reached through an `openai` client; see the module docstring."""

    def __init__(
        self,
        client: openai.OpenAI,
        dialect: Dialect,
        *,
        where: str,
        secrets: Sequence[str] = (),
        retry: Retry | None = None,
        variable: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.dialect: Dialect = dialect
        self.keeps_metadata = dialect != "azure-dated"
        self.where = where
        self.retry = retry or Retry()
        self._secrets = tuple(secrets)
        self._variable = variable  # the variable that holds the key, for a refused key
        self._timeout = timeout

    def describe(self) -> str:
        return f"{self.dialect} at {self.where}"

    def close(self) -> None:
        """Close the client's connections (left to the garbage collector, each open socket
        would be a ResourceWarning)."""
        self.client.close()

    # -- files ------------------------------------------------------------------------------

    def upload(self, path: Path) -> UploadedFile:
        content = path.read_bytes()
        answer = self._once(
            lambda: self.client.files.create(file=(path.name, content), purpose="fine-tune")
        )
        return _file(answer)

    def file(self, file_id: str) -> UploadedFile:
        return _file(self._read(lambda: self.client.files.retrieve(file_id)))

    # -- jobs -------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> JobObject:
        fields = dict(body)
        if not self.keeps_metadata:
            fields.pop("metadata", None)  # the dated API has no such field
        model, training_file = fields.pop("model"), fields.pop("training_file")
        answer = self._once(
            lambda: self.client.fine_tuning.jobs.create(
                model=model, training_file=training_file, extra_body=fields
            )
        )
        return _job(answer)

    def find(self, sweep: str, trial: TrialJob) -> JobObject | None:
        query = {"metadata[ftsweep_trial]": trial.key} if self.dialect == "openai" else None
        for job in self._pages(query, trial.since):
            if self._is_of(job, sweep, trial):
                return job
        return None

    def jobs(self, sweep: str, since: int | None) -> Iterator[JobObject]:
        query = {"metadata[ftsweep_sweep]": sweep} if self.dialect == "openai" else None
        for job in self._pages(query, since):
            if not self.keeps_metadata or (job.metadata or {}).get("ftsweep_sweep") == sweep:
                yield job

    def job(self, job_id: str) -> JobObject:
        return _job(self._read(lambda: self.client.fine_tuning.jobs.retrieve(job_id)))

    def holds(self, job_id: str) -> bool:
        return True

    def cancel(self, job_id: str) -> JobObject:
        return _job(self._read(lambda: self.client.fine_tuning.jobs.cancel(job_id)))

    def steps(self, job: JobObject, metrics: Sequence[str]) -> list[dict[str, object]]:
        rows: dict[int, dict[str, object]] = {}
        if not all(m.startswith(EPOCH_END_PREFIX) for m in metrics):
            for result_file in job.result_files or []:
                _merge(rows, self._result_rows(result_file))
        if _missing(rows, metrics):
            _merge(rows, self._event_rows(job.id))
        if _missing(rows, metrics):
            _merge(rows, self._checkpoint_rows(job.id))
        return [rows[step] for step in sorted(rows)]

    def _result_rows(self, file_id: str) -> list[dict[str, object]]:
        text = self._read(lambda: self.client.files.content(file_id).text)
        reader = csv.DictReader(io.StringIO(unwrap_base64(text).lstrip("\ufeff")))
        return [dict(row) for row in reader]

    def _event_rows(self, job_id: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        after: str | None = None
        while True:
            raw = self.client.fine_tuning.jobs.with_raw_response.list_events
            page = self._page(partial(raw, job_id, limit=_PAGE, extra_query=_after(after)))
            events = [e for e in page.get("data") or [] if isinstance(e, Mapping)]
            for event in events:
                data = event.get("data")
                if event.get("type") == "metrics" and isinstance(data, Mapping) and "step" in data:
                    rows.append(dict(data))
            if not page.get("has_more") or not events:
                return rows
            after = str(events[-1].get("id"))

    def _checkpoint_rows(self, job_id: str) -> list[dict[str, object]]:
        checkpoints = self.client.fine_tuning.jobs.checkpoints
        page = self._read(lambda: checkpoints.list(job_id, limit=_PAGE))
        rows = []
        for checkpoint in page.data:
            metrics = checkpoint.metrics.model_dump(exclude_none=True)
            rows.append({"step": checkpoint.step_number, **metrics})
        return rows

    # -- paging and requests --------------------------------------------------------------

    def _pages(self, query: dict[str, str] | None, since: int | None) -> Iterator[JobObject]:
        """The job list, page after page, newest first, until a job older than `since`."""
        after: str | None = None
        while True:
            cursor = {**(query or {}), **_after(after)}
            raw = self.client.fine_tuning.jobs.with_raw_response.list
            page = self._page(partial(raw, limit=_PAGE, extra_query=cursor))
            jobs = [self._job_of(item) for item in page.get("data") or []]
            for job in jobs:
                if since is not None and job.created_at is not None and job.created_at < since:
                    return
                yield job
            if not page.get("has_more") or not jobs:
                return
            after = jobs[-1].id

    def _job_of(self, item: object) -> JobObject:
        try:
            return JobObject.model_validate(item)
        except ValidationError as exc:
            ident = item.get("id") if isinstance(item, Mapping) else None
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ServiceError(
                f"{self.describe()}: job {ident or '(no id)'} in a list page: {where}: "
                f"{first['msg']}"
            ) from None

    def _page(self, request: Callable[[], Any]) -> dict[str, Any]:
        """A list page as plain JSON: thousands of events are read faster without building the
        client's models of them (the answer's status is checked by the client all the same)."""
        answer = self._read(request)
        try:
            page = json.loads(answer.http_response.text)
        except ValueError:
            raise ServiceError(f"{self.describe()}: a list page that is not JSON") from None
        if not isinstance(page, dict):
            raise ServiceError(f"{self.describe()}: a list page that is not an object")
        return page

    def _is_of(self, job: JobObject, sweep: str, trial: TrialJob) -> bool:
        if self.keeps_metadata:
            metadata = job.metadata or {}
            return metadata.get("ftsweep_trial") == trial.key and (
                metadata.get("ftsweep_sweep") in (None, sweep)
            )
        return trial.suffix is not None and job.user_provided_suffix == trial.suffix

    def _read(self, request: Callable[[], T]) -> T:
        """A request that is safe to send again, retried on transient errors."""
        return self.retry.call(lambda: self._once(request))

    def _once(self, request: Callable[[], T]) -> T:
        """One try, the client's errors made ftsweep's (secrets scrubbed)."""
        import openai

        try:
            return request()
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APIConnectionError as exc:  # APITimeoutError is one
            late = isinstance(exc, openai.APITimeoutError)
            what = f"no answer in {self._timeout:g} s" if late else "no answer"
            settle = self._timeout if late else 0.0  # a late request may still make its job
            message = self._clean(f"{self.describe()}: {what} ({exc})")
            raise Transient(message, settle=settle) from None
        except openai.OpenAIError as exc:
            raise ServiceError(self._clean(f"{self.describe()}: {exc}")) from None

    def _status_error(self, exc: openai.APIStatusError) -> ServiceError:
        status = exc.status_code
        message = self._clean(_message(exc))
        text = f"{self.describe()} answered {status}: {message}"
        if status in (401, 403):
            return CredentialsError(f"{text} (check {self._variable})")
        if status in _TRANSIENT or status >= 500:
            return Transient(text, _retry_after(exc))
        return RefusedError(message, status)

    def _clean(self, text: str) -> str:
        return scrub(text, self._secrets)


def _after(cursor: str | None) -> dict[str, str]:
    """The query that asks for the page after `cursor` (passed as a query, the same way in
    every client version)."""
    return {"after": cursor} if cursor else {}


def _message(exc: Any) -> str:
    body = exc.body
    error = body.get("error", body) if isinstance(body, Mapping) else None
    message = error.get("message") if isinstance(error, Mapping) else None
    return str(message) if message else str(exc.message)


def _retry_after(exc: Any) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:  # an HTTP date: wait as the backoff says
            return None
    return None


def _job(answer: Any) -> JobObject:
    data = answer.model_dump(mode="json") if hasattr(answer, "model_dump") else dict(answer)
    return JobObject.model_validate(data)


def _file(answer: Any) -> UploadedFile:
    details = getattr(answer, "status_details", None)
    return UploadedFile(str(answer.id), str(getattr(answer, "status", "") or ""), details)


def _merge(rows: dict[int, dict[str, object]], more: list[dict[str, object]]) -> None:
    """Add per-step rows by step; a cell a row already has a value for is kept."""
    for row in more:
        try:
            step = int(float(str(row.get("step"))))
        except ValueError:
            continue
        held = rows.setdefault(step, {"step": step})
        for name, value in row.items():
            if value not in (None, "") and held.get(name) in (None, ""):
                held[name] = value


def _missing(rows: Mapping[int, Mapping[str, object]], metrics: Sequence[str]) -> bool:
    """Whether some metric has no value on any step (`scores.<metric>` counts)."""
    return any(all(metric_cell(row, metric) is None for row in rows.values()) for metric in metrics)
