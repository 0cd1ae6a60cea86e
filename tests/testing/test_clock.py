from __future__ import annotations

import pytest

from ftsweep.testing import ManualClock, StandIn, SystemClock
from ftsweep.testing.clock import MANUAL_EPOCH


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock()
    assert clock.now() == MANUAL_EPOCH
    assert clock.advance(1.5) == MANUAL_EPOCH + 1.5
    assert clock.now() == MANUAL_EPOCH + 1.5


def test_manual_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match=r"only moves forward, but got seconds=-1"):
        ManualClock().advance(-1)


def test_advance_needs_a_manual_clock() -> None:
    with StandIn(clock=SystemClock()) as service, pytest.raises(TypeError, match="ManualClock"):
        service.advance(1)


def test_phase_seconds_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"phase_seconds > 0 must hold, but got 0"):
        StandIn(phase_seconds=0)
