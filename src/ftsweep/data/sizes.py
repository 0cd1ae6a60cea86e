"""The size of a sweep's training file as billing sees it, counted once per content.

Counting a big file takes seconds, and `ask`, `submit`, `plan` and `trials` all need the figure,
so it is kept in a small cache file by the sha256 of the file's content, the method and the
tokenizer (`$XDG_CACHE_HOME/ftsweep/sizes/`, or `~/.cache/ftsweep/sizes/`; FTSWEEP_CACHE_DIR
moves it). A changed file is counted again; a damaged or unwritable cache is only a cache: the
file is counted and the command goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ftsweep.data.cost import DataSize, sweep_models
from ftsweep.errors import PlanError

if TYPE_CHECKING:
    from ftsweep.sweep.load import Sweep

__all__ = [
    "CACHE_VARIABLE",
    "cache_dir",
    "file_sha256",
    "local_data",
    "remember_size",
    "sweep_tokenizer",
    "training_size",
]

CACHE_VARIABLE = "FTSWEEP_CACHE_DIR"
_VERSION = 1  # bump when the way examples are counted changes


def cache_dir() -> Path:
    """Where counted sizes are kept."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ftsweep" / "sizes"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_data(sweep: Sweep, field: str = "training_file") -> Path | None:
    """The local file a data field of the sweep names, or None when it names a file id or a
    file that is not there (estimates are then not made; `check` and `submit` say why)."""
    try:
        return sweep.data_file(field)
    except PlanError:
        return None


def sweep_tokenizer(sweep: Sweep) -> str:
    """The encoding that counts the sweep's examples: its `tokenizer:`, else its model's
    family's (a model dimension's first model, when the models share a family)."""
    from ftsweep.data.tokens import tokenizer_for

    models: list[str | None] = [*sweep_models(sweep)] or [None]
    names = {tokenizer_for(m, sweep.spec.tokenizer).name for m in models}
    if len(names) > 1:
        from ftsweep.errors import PlanError

        raise PlanError(
            f"{sweep.file}: the sweep's models count tokens with different tokenizers "
            f"({', '.join(sorted(names))}): set `tokenizer:` to the one to estimate with"
        )
    return names.pop()


def training_size(
    sweep: Sweep, *, progress: Callable[[int], None] | None = None
) -> DataSize | None:
    """The sweep's training file in examples and capped tokens per epoch; None when it is not
    a local file."""
    path = local_data(sweep)
    if path is None:
        return None
    tokenizer = sweep_tokenizer(sweep)
    key = _key(path, sweep.method, tokenizer)
    found = _cached(key)
    if found is not None:
        return found
    from ftsweep.data.counts import count_file

    counts = count_file(path, sweep.method, tokenizer, progress=progress)
    size = DataSize(counts.examples, counts.total_capped)
    _keep(key, size)
    return size


def remember_size(path: Path, method: str, tokenizer: str, size: DataSize) -> None:
    """Keep a size counted elsewhere (`ftsweep check` counts every row anyway)."""
    _keep(_key(path, method, tokenizer), size)


def _key(path: Path, method: str, tokenizer: str) -> str:
    return f"{file_sha256(path)}.{method}.{tokenizer}.v{_VERSION}.json"


def _cached(key: str) -> DataSize | None:
    try:
        data = orjson.loads((cache_dir() / key).read_bytes())
        return DataSize(int(data["examples"]), int(data["tokens"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(key: str, size: DataSize) -> None:
    """Write the cache entry atomically (a temporary file renamed over it); any failure is
    ignored, since the cache only saves time."""
    folder = cache_dir()
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(orjson.dumps({"examples": size.examples, "tokens": size.tokens}))
        os.replace(temporary, folder / key)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
