"""Chunk functions for the scanner tests, in a module of their own so worker processes (started
with spawn) import them by name."""

from __future__ import annotations

from ftsweep.data.scan import iter_lines


def lines_of(first: int, data: bytes) -> list[tuple[int, bytes]]:
    return list(iter_lines(first, data))


def chunk_of(first: int, data: bytes) -> tuple[int, bytes]:
    return first, data


def fail_on_boom(first: int, data: bytes) -> int:
    if b"boom" in data:
        raise ValueError(f"boom in the chunk at line {first}")
    return first


def tagged(tag: str, first: int, data: bytes) -> tuple[str, int, int]:
    return tag, first, len(data)
