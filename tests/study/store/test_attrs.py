"""The flat user attributes of a sweep's trials (`ftsweep.study.store.attrs`)."""

from __future__ import annotations

import pytest

from ftsweep.study.records import JobRecord, Pruned
from ftsweep.study.store.attrs import (
    config_attrs,
    has_config,
    job_attrs,
    job_record,
    pruned_attr,
    pruned_record,
)

JOB = JobRecord(
    id="ftjob-1",
    status="succeeded",
    trained_tokens=4096,
    fine_tuned_model="ft:gpt-4.1-mini:org::abc",
    finished_at=1_760_000_000,
    resolved={"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 1.8},
)
FLAT = {
    "job.id": "ftjob-1",
    "job.status": "succeeded",
    "job.trained_tokens": 4096,
    "job.fine_tuned_model": "ft:gpt-4.1-mini:org::abc",
    "job.finished_at": 1_760_000_000,
    "resolved.n_epochs": 3,
    "resolved.batch_size": 8,
    "resolved.learning_rate_multiplier": 1.8,
}


def test_config_attrs_name_every_dimension_and_keep_auto_as_text() -> None:
    params = {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.5}
    attrs = config_attrs(params)
    assert attrs == {
        "config.n_epochs": 3,
        "config.batch_size": "auto",
        "config.learning_rate_multiplier": 0.5,
    }
    assert has_config(attrs) and not has_config(FLAT)


def test_job_attrs_are_flat_scalars_without_unknowns() -> None:
    attrs = job_attrs(JOB)
    assert attrs == FLAT
    assert all(isinstance(v, str | int | float) for v in attrs.values())
    assert job_attrs(JobRecord(status="running")) == {"job.status": "running"}


def test_job_record_reads_the_flat_attributes_back() -> None:
    assert job_record({**FLAT, "config.n_epochs": 3, "other": 1}) == JOB


def test_job_record_reads_a_study_written_before_the_flat_attributes() -> None:
    legacy = {
        "ftsweep": {"job_id": "ftjob-1", "job_status": "running", "resolved": {"n_epochs": 2}}
    }
    assert job_record(legacy) == JobRecord(id="ftjob-1", status="running", resolved={"n_epochs": 2})
    later = {**legacy, "job.status": "succeeded", "resolved.batch_size": 8}
    assert job_record(later) == JobRecord(
        id="ftjob-1", status="succeeded", resolved={"n_epochs": 2, "batch_size": 8}
    )
    assert job_record({}) == JobRecord()
    assert not job_record({})


def test_a_merged_job_takes_every_newer_fact_and_keeps_the_rest() -> None:
    older = JobRecord(id="ftjob-1", status="running", resolved={"n_epochs": 3})
    newer = JobRecord(status="succeeded", trained_tokens=10, resolved={"batch_size": 8})
    assert older.merged(newer) == JobRecord(
        id="ftjob-1",
        status="succeeded",
        trained_tokens=10,
        resolved={"n_epochs": 3, "batch_size": 8},
    )
    assert older.merged(JobRecord()) == older


def test_a_pruning_is_one_attribute_that_reads_back_as_it_was() -> None:
    full = Pruned(step=40, progress=320, value=1.25, saved_tokens=9000, saved_cost=0.045)
    assert pruned_attr(full) == {
        "step": 40,
        "progress": 320,
        "value": 1.25,
        "saved_tokens": 9000,
        "saved_cost": 0.045,
    }
    unknown = Pruned(step=4, progress=4, value=2.0)  # no local data: nothing estimated
    assert pruned_attr(unknown) == {"step": 4, "progress": 4, "value": 2.0}
    for pruned in (full, unknown):
        assert pruned_record(pruned_attr(pruned)) == pruned


@pytest.mark.parametrize(
    "attr",
    [
        None,
        "pruned",
        {"step": 4, "value": 1.0},
        {"step": -1, "progress": 4, "value": 1.0},
        {"step": 4, "progress": 4, "value": "bad"},
        {"step": True, "progress": 4, "value": 1.0},
    ],
)
def test_an_attribute_that_is_no_pruning_reads_as_none(attr: object) -> None:
    assert pruned_record(attr) is None
