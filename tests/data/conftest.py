"""The data tests run with the network cut off: token counting must never need it.

Every test here gets a socket that refuses to connect, and an empty tiktoken cache, so a
download (or a read of a table someone cached earlier) fails the test instead of passing it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


class NetworkUsed(AssertionError):
    """Something tried to reach the network."""


def _refuse(*args: object, **kwargs: object) -> None:
    raise NetworkUsed(f"network access attempted: {args!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    return cache
