"""Each fault kind, observed through the real client, and what the client's retries make of it."""

from __future__ import annotations

import time
from collections.abc import Callable

import openai
import pytest

from ftsweep.testing import Fault, StandIn
from ftsweep.testing.faults import FaultPlan

from .conftest import MODEL, upload

_TRIAL = {"ftsweep_trial": "sweep-1/0"}


def _client(service: StandIn, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=service.base_url, api_key=service.api_key, **options)  # type: ignore[arg-type]


def _create(client: openai.OpenAI, training: str) -> str:
    return client.fine_tuning.jobs.create(model=MODEL, training_file=training, metadata=_TRIAL).id


def _eventually(check: Callable[[], bool], within: float = 5.0) -> bool:
    """For work a server thread finishes after the client gave up."""
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_a_plan_fires_on_the_nth_call_and_is_used_up() -> None:
    plan = FaultPlan()
    plan.add(Fault.status("jobs.retrieve", 500, nth=2, times=2))
    fired = [plan.take("jobs.retrieve") is not None for _ in range(5)]
    assert fired == [False, True, True, False, False]
    assert plan.pending() == []


def test_faults_of_one_route_queue_up() -> None:
    plan = FaultPlan()
    plan.add(
        Fault.rate_limit("jobs.create"), Fault.drop_after_create(), Fault.delay("jobs.list", 1)
    )
    assert [getattr(plan.take("jobs.create"), "kind", None) for _ in range(3)] == [
        "status",
        "drop_after_create",
        None,
    ]
    assert [fault.route for fault in plan.pending()] == ["jobs.list"]


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda: Fault.status("jobs.list", 200), "4xx or 5xx"),
        (lambda: Fault.status("jobs.list", 500, times=0), "times >= 1"),
        (lambda: Fault.delay("jobs.list", -1), "seconds >= 0"),
    ],
)
def test_a_fault_checks_its_inputs(make: Callable[[], Fault], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        make()


def test_a_dropped_create_made_the_job(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    service.inject(Fault.drop_after_create())
    with pytest.raises(openai.APIConnectionError) as raised:
        _create(client, training)
    assert type(raised.value) is openai.APIConnectionError
    assert len(service.jobs) == 1
    assert service.requests[-1].status == 0


def test_a_late_answer_times_out_after_the_job_was_made(service: StandIn) -> None:
    with _client(service, max_retries=0, timeout=0.2) as client:
        training = upload(service, client)
        service.inject(Fault.delay("jobs.create", 1.0))
        with pytest.raises(openai.APITimeoutError):
            _create(client, training)
    assert len(service.jobs) == 1


def test_default_retries_turn_a_late_create_into_two_jobs(service: StandIn) -> None:
    """The danger ftsweep's submit must avoid: the client retries a create that succeeded."""
    with _client(service, timeout=0.2) as client:
        training = upload(service, client)
        service.inject(Fault.delay("jobs.create", 1.0))
        answered = _create(client, training)
        both = [job.id for job in client.fine_tuning.jobs.list(metadata=_TRIAL)]
    assert len(service.jobs) == 2 and service.counts()["jobs.create"] == 2
    assert answered == both[0] and len(both) == 2


def test_default_retries_turn_a_dropped_create_into_two_jobs(service: StandIn) -> None:
    with _client(service) as client:
        training = upload(service, client)
        service.inject(Fault.drop_after_create())
        _create(client, training)
        assert len(list(client.fine_tuning.jobs.list(metadata=_TRIAL))) == 2


def test_a_slow_create_makes_its_job_after_the_client_gave_up(service: StandIn) -> None:
    with _client(service, max_retries=0, timeout=0.1) as client:
        training = upload(service, client)
        service.inject(Fault.slow_create(0.3))
        with pytest.raises(openai.APITimeoutError):
            _create(client, training)
    assert _eventually(lambda: len(service.jobs) == 1)


def test_a_short_retry_after_storm_is_ridden_out(service: StandIn, client: openai.OpenAI) -> None:
    training = upload(service, client)
    service.inject(Fault.rate_limit("jobs.create", retry_after=0.01, times=2))
    with client.with_options(max_retries=2) as retrying:
        _create(retrying, training)
    assert service.counts()["jobs.create"] == 3 and len(service.jobs) == 1
    assert [record.status for record in service.requests[-3:]] == [429, 429, 200]


def test_a_429_carries_retry_after_and_the_error_shape(
    service: StandIn, client: openai.OpenAI
) -> None:
    service.inject(Fault.rate_limit("jobs.list", retry_after=300))
    with pytest.raises(openai.RateLimitError) as raised:
        client.fine_tuning.jobs.list()
    assert raised.value.response.headers["retry-after"] == "300"
    assert raised.value.code == "rate_limit_exceeded"


def test_a_long_retry_after_is_not_waited_for(service: StandIn) -> None:
    """openai 2.x/3.x raise at once above 120 s; 1.x ignores it above 60 s and backs off."""
    service.inject(Fault.rate_limit("jobs.list", retry_after=300, times=2))
    with _client(service, max_retries=1) as client, pytest.raises(openai.RateLimitError):
        client.fine_tuning.jobs.list()
    expected = 2 if openai.__version__.startswith("1.") else 1
    assert service.counts()["jobs.list"] == expected


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (408, openai.APIStatusError),
        (409, openai.ConflictError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_a_status_fault_reaches_the_client(
    service: StandIn, client: openai.OpenAI, code: int, error: type[openai.APIStatusError]
) -> None:
    service.inject(Fault.status("jobs.list", code))
    with pytest.raises(error) as raised:
        client.fine_tuning.jobs.list()
    assert raised.value.status_code == code
    assert list(client.fine_tuning.jobs.list()) == []


@pytest.mark.parametrize("code", [408, 409, 500, 503])
def test_the_client_retries_a_retryable_status(service: StandIn, code: int) -> None:
    service.inject(Fault.status("jobs.list", code, retry_after=0.01, times=2))
    with _client(service, max_retries=2) as client:
        assert list(client.fine_tuning.jobs.list()) == []
    assert service.counts()["jobs.list"] == 3


def test_a_5xx_storm_outlasts_the_retries(service: StandIn) -> None:
    service.inject(Fault.status("jobs.retrieve", 503, retry_after=0.01, times=5))
    with _client(service, max_retries=2) as client, pytest.raises(openai.InternalServerError):
        client.fine_tuning.jobs.retrieve("ftjob-x")
    assert service.counts()["jobs.retrieve"] == 3
    assert [fault.times for fault in service.faults.pending()] == [5]
