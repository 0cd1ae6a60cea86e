"""Settings every test shares."""

from __future__ import annotations

import os
import signal

import pytest

# A shell ignores Ctrl-C in what it starts in the background (`cmd &` without job control), and
# the commands the tests start inherit that: the tests that press Ctrl-C on one would see it
# ignored. Their Ctrl-C is the default one, whoever started the suite.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Token counts are cached in a folder of the session's own, never the user's (the
    commands the tests start inherit it)."""
    os.environ["FTSWEEP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
