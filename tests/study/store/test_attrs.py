"""The flat user attributes of a sweep's trials (`ftsweep.study.store.attrs`)."""

from __future__ import annotations

from ftsweep.study.store.attrs import config_attrs, job_attrs, job_id, job_info

INFO = {
    "job_id": "ftjob-1",
    "job_status": "succeeded",
    "trained_tokens": 4096,
    "fine_tuned_model": "ft:gpt-4.1-mini:org::abc",
    "error": None,
    "resolved": {"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 1.8},
}
FLAT = {
    "job.id": "ftjob-1",
    "job.status": "succeeded",
    "job.trained_tokens": 4096,
    "job.fine_tuned_model": "ft:gpt-4.1-mini:org::abc",
    "resolved.n_epochs": 3,
    "resolved.batch_size": 8,
    "resolved.learning_rate_multiplier": 1.8,
}


def test_config_attrs_name_every_dimension_and_keep_auto_as_text() -> None:
    params = {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.5}
    assert config_attrs(params) == {
        "config.n_epochs": 3,
        "config.batch_size": "auto",
        "config.learning_rate_multiplier": 0.5,
    }


def test_job_attrs_are_flat_scalars_without_unknowns() -> None:
    attrs = job_attrs(INFO)
    assert attrs == FLAT
    assert all(isinstance(v, str | int | float) for v in attrs.values())
    assert job_attrs({"job_status": "running"}) == {"job.status": "running"}


def test_job_info_reads_the_flat_attributes_back() -> None:
    info = {k: v for k, v in INFO.items() if v is not None}
    assert job_info({**FLAT, "config.n_epochs": 3, "other": 1}) == info


def test_job_info_reads_a_study_written_before_the_flat_attributes() -> None:
    legacy = {
        "ftsweep": {"job_id": "ftjob-1", "job_status": "running", "resolved": {"n_epochs": 2}}
    }
    assert job_info(legacy) == {
        "job_id": "ftjob-1",
        "job_status": "running",
        "resolved": {"n_epochs": 2},
    }
    later = {**legacy, "job.status": "succeeded", "resolved.batch_size": 8}
    assert job_info(later) == {
        "job_id": "ftjob-1",
        "job_status": "succeeded",
        "resolved": {"n_epochs": 2, "batch_size": 8},
    }
    assert job_info({}) == {}


def test_job_id_reads_both_forms() -> None:
    assert job_id(FLAT) == "ftjob-1"
    assert job_id({"ftsweep": {"job_id": "ftjob-old"}}) == "ftjob-old"
    assert job_id({"ftsweep": {"job_status": "running"}}) is None
