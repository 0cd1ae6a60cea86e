"""Progress bars show on a terminal for long jobs and stay quiet when piped."""

from __future__ import annotations

import io

import pytest

from ftsweep.progress import track


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_output_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert list(track(range(2000), 2000, "telling")) == list(range(2000))
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_bar_for_a_long_job(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    assert list(track(range(2000), 2000, "telling")) == list(range(2000))
    assert "telling" in stream.getvalue()


def test_a_short_job_gets_no_bar_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    assert list(track(range(10), 10, "telling")) == list(range(10))
    assert stream.getvalue() == ""
