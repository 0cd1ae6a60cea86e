"""Records as the service's JSON objects, in each dialect's shape.

OpenAI and Azure v1 share one shape. Azure's dated API differs: no `metadata`, `created` and
`pending` instead of `validating_files` and `queued`, `-1` for `n_epochs` and `batch_size`
while "auto" is unresolved, and `null` instead of empty lists.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from ftsweep.testing.errors import Dialect
from ftsweep.testing.lifecycle import JobRecord, digest, epoch_end_rows
from ftsweep.testing.outcomes import Row
from ftsweep.testing.store import FileRecord

JsonObject = dict[str, object]
_AZURE_STATUS = {"validating_files": "created", "queued": "pending"}
_AZURE_UNRESOLVED = ("n_epochs", "batch_size")
_CHECKPOINTS_KEPT = 3


def file_object(record: FileRecord, now: float) -> JsonObject:
    status = record.status(now)
    return {
        "id": record.id,
        "object": "file",
        "bytes": len(file_content(record)),
        "created_at": int(record.created_at),
        "filename": record.filename,
        "purpose": record.purpose,
        "status": status,
        "status_details": record.problem if status == "error" else None,
    }


def file_content(record: FileRecord) -> bytes:
    """A result file is base64 text on OpenAI, plain CSV on Azure (API_FACTS section 9)."""
    if record.result_of is not None and record.dialect == "openai":
        return base64.b64encode(record.content)
    return record.content


def job_object(job: JobRecord, now: float, dialect: Dialect) -> JsonObject:
    status = job.status(now)
    succeeded = status == "succeeded"
    finished = job.finished_at(now)
    hyperparameters = _hyperparameters(job, now, dialect)
    body: JsonObject = {
        "id": job.id,
        "object": "fine_tuning.job",
        "created_at": int(job.created_at),
        "model": job.spec.model,
        "organization_id": job.organization,
        "status": _AZURE_STATUS.get(status, status) if dialect == "azure" else status,
        "training_file": job.spec.training_file,
        "validation_file": job.spec.validation_file,
        "fine_tuned_model": job.fine_tuned_model if succeeded else None,
        "finished_at": None if finished is None else int(finished),
        "trained_tokens": job.trained_tokens if succeeded else None,
        "result_files": _list([job.result_file_id] if succeeded else [], dialect),
        "error": _error(job) if status == "failed" else None,
        "hyperparameters": hyperparameters if job.spec.method == "supervised" else None,
        "method": _method(job, hyperparameters),
        "seed": job.spec.seed if job.spec.seed is not None else int(digest(job.id, length=7), 16),
        "user_provided_suffix": job.spec.suffix,
        "integrations": _list(list(job.spec.integrations or []), dialect),
        "estimated_finish": None if finished is not None else int(job.ends_at()),
    }
    if dialect != "azure":
        body["metadata"] = job.spec.metadata
    return body


def _list(items: list[object], dialect: Dialect) -> list[object] | None:
    return None if dialect == "azure" and not items else items


def _error(job: JobRecord) -> JsonObject | None:
    if job.error is None:
        return None
    return {"code": job.error.code, "message": job.error.message, "param": job.error.param}


def _hyperparameters(job: JobRecord, now: float, dialect: Dialect) -> JsonObject:
    if job.resolved_now(now):
        return dict(job.resolved)
    values = dict(job.spec.hyperparameters)
    if dialect == "azure":
        values.update({name: -1 for name in _AZURE_UNRESOLVED if values.get(name) == "auto"})
    return values


def _method(job: JobRecord, hyperparameters: JsonObject) -> JsonObject:
    section: JsonObject = {**job.spec.method_extra, "hyperparameters": hyperparameters}
    return {"type": job.spec.method, job.spec.method: section}


def event_objects(job: JobRecord, now: float) -> list[JsonObject]:
    """The job's events up to `now`, newest first."""
    events = [event for event in _events(job, now) if event.at <= now]
    return [event.json(job) for event in reversed(events)]


@dataclass(frozen=True)
class _Event:
    index: int
    at: float
    message: str
    level: str = "info"
    kind: str = "message"
    data: JsonObject = field(default_factory=dict)

    def json(self, job: JobRecord) -> JsonObject:
        return {
            "id": f"ftevent-{digest(job.id, self.index)}",
            "object": "fine_tuning.job.event",
            "created_at": int(self.at),
            "level": self.level,
            "message": self.message,
            "type": self.kind,
            "data": self.data,
        }


def _events(job: JobRecord, now: float) -> list[_Event]:
    created, queued = job.created_at, job.created_at + job.phase_seconds
    events = [
        _Event(0, created, f"Created fine-tuning job: {job.id}"),
        _Event(1, created, f"Validating training file: {job.spec.training_file}"),
    ]
    if not job.fails_in_validation:
        events.append(_Event(2, queued, "Files validated, moving job to queued state"))
        events.append(_Event(3, job.started_at(), "Fine-tuning job started"))
        events.extend(_metrics_event(job, i, row) for i, row in enumerate(job.visible_rows(now)))
    return events + _ending(job, now)


def _ending(job: JobRecord, now: float) -> list[_Event]:
    status, finished = job.status(now), job.finished_at(now)
    base = 10 + len(job.rows)
    if finished is None:
        return []
    if status == "cancelled":
        return [_Event(base, finished, "Fine-tuning job cancelled")]
    if status == "failed":
        message = job.error.message if job.error else "The job failed"
        return [_Event(base, finished, message, level="error")]
    return [
        _Event(base, finished, f"New fine-tuned model created: {job.fine_tuned_model}"),
        _Event(base + 1, finished, "The job has successfully completed"),
    ]


def _metrics_event(job: JobRecord, index: int, row: Row) -> _Event:
    steps = len(job.rows)
    data: JsonObject = {key: value for key, value in row.items() if value is not None}
    data["total_steps"] = steps
    if job.spec.method == "reinforcement":
        data["scores"] = {"valid_reward_mean": row.get("valid_reward_mean")}
        message = f"Step {row['step']}/{steps}: train reward={row['train_mean_reward']}"
    else:
        message = f"Step {row['step']}/{steps}: training loss={row['train_loss']}"
    return _Event(4 + index, job.step_time(index), message, kind="metrics", data=data)


def checkpoint_objects(job: JobRecord, now: float) -> list[JsonObject]:
    """The last three epoch-end checkpoints of a succeeded job, newest first."""
    if job.status(now) != "succeeded":
        return []
    kept = epoch_end_rows(job.rows)[-_CHECKPOINTS_KEPT:]
    return [_checkpoint(job, row) for row in reversed(kept)]


def _checkpoint(job: JobRecord, row: Row) -> JsonObject:
    step = row["step"]
    return {
        "id": f"ftckpt_{digest(job.id, 'checkpoint', step)}",
        "object": "fine_tuning.job.checkpoint",
        "created_at": int(job.ends_at()),
        "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}",
        "fine_tuning_job_id": job.id,
        "step_number": step,
        "metrics": {key: value for key, value in row.items() if value is not None},
    }


def page(items: list[JsonObject], limit: int, after: str | None) -> JsonObject:
    """A cursor page: the `limit` items after the one whose id is `after`, and `has_more`."""
    start = 0
    if after is not None:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    chunk = items[start : start + limit]
    return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}
