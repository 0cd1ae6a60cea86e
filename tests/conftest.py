"""Settings every test shares."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Token counts are cached in a folder of the session's own, never the user's (the
    commands the tests start inherit it)."""
    os.environ["FTSWEEP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
