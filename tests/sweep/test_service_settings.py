"""The `service:` section's defaults that depend on where jobs run, and the command line's
`--provider` and `--parallel` over them."""

from __future__ import annotations

from ftsweep.sweep.spec import Service


def test_a_service_polls_every_30_s_and_keeps_4_jobs_going() -> None:
    service = Service()
    assert service.polling() == 30.0
    assert service.jobs_at_once() == 4


def test_local_trials_poll_every_2_s_and_train_parallel_at_once() -> None:
    local = Service(provider="local", parallel=3)
    assert local.polling() == 2.0
    assert local.jobs_at_once() == 3
    assert Service(provider="local", poll_interval=9.0).polling() == 9.0  # as set


def test_the_command_line_goes_over_the_file() -> None:
    """`--provider local` makes the file's section local, `--parallel` how many jobs go at once
    (and so how many trials train here at once); nothing given, nothing changes."""
    file = Service(parallel=2)
    assert file.jobs_at_once() == 2  # set in the file, for a service too
    assert file.overridden(None, None) is file
    local = file.overridden("local", 5)
    assert (local.provider, local.parallel, local.jobs_at_once(), local.polling()) == (
        "local",
        5,
        5,
        2.0,
    )
    assert file.overridden("local", None).jobs_at_once() == 2
    assert Service().overridden(None, 7).jobs_at_once() == 7
    assert Service().overridden("local", None).jobs_at_once() == 1
    assert file.provider == "openai" and file.parallel == 2  # the file's own is unchanged
