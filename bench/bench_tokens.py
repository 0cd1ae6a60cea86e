"""Benchmark offline token counting of a supervised JSONL file against a plain tiktoken loop.

    python bench/bench_tokens.py                  # a 200 MB file, ~1 min on 2 cores
    python bench/bench_tokens.py --quick          # a 20 MB file
    python bench/bench_tokens.py --size-mb 500    # any size

The file is generated (deterministic seed, into a temporary directory removed afterwards):
chat rows of English prose, Python and JavaScript code and JSON, some multi-turn, some with tool
calls and tool definitions, names and weights. Every row is drawn afresh; the only repeated
strings are four stock system prompts (about 70% of rows), as real data has. ftsweep keeps no
cache of counted strings, so they buy nothing.

Each measurement runs in a process of its own, so its peak memory is its own:

  a) baseline: one process, `json.loads` each line, the cookbook count with tiktoken's
     `encode_ordinary` (an Encoding built from the verified local table, before the clock starts)
  b) `count_file` with its defaults (every core for a big file), start-up of the workers included
  c) `count_file` with workers=1 (in-process)
  d) the scan with tiktoken counting in place of toktok-rs, every core: what processes alone give

Target: b) >= 2x a)'s throughput with identical totals, peak memory < 300 MB. Peak memory is
the RSS high-water mark of the measuring process (RUSAGE_SELF), of its largest worker
(RUSAGE_CHILDREN), and of the whole process tree sampled every 20 ms from /proc (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261201

WORDS = """the of and to in is that for it as was with be by on not he this are or his from at
which but have an they you were her she there one all we their can has been if more when will
would who so no time people year way day man thing woman life child world school state family
student group country problem hand part place case week company system program question work
government number night point home water room mother area money story fact month lot right study
book eye job word business issue side kind head house service friend father power hour game line
end member law car city community name president team minute idea kid body information back
parent face others level office door health person art war history party result change morning
reason research girl guy moment air teacher force education foot boy age policy process music
market sense nation plan college interest death experience effect use class control care field
development role effort rate heart drug show leader light voice wife police mind price report
decision son view relationship town road arm difference value building action model season
society tax director position player record paper space ground form event official matter center
couple site project activity star table need court oil situation cost industry figure street
image phone data picture practice piece land product doctor wall patient worker news test movie
north love support technology step baby computer type attention film tree source organization hair
window evidence population site training account customer refund shipping order invoice ticket
quickly carefully usually often never always really simply clearly however therefore meanwhile
explain describe return compute parse validate configure install update delete create review
important different possible available likely recent specific simple complex large small early
""".split()

NAMES = "Alice Bob Carol Dmitri Eun-ji Fatima Giulia Hiro Ines Jamal Kofi Lena Mateo Nadia".split()
CITIES = "Paris Lagos Osaka Lima Oslo Denver Pune Cairo Hanoi Quito Perth Riga".split()
EXTRA = ["naïve café", "façade", "Zürich", "東京の天気", "你好，世界", "😀 🚀", "Ελληνικά", "über"]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 22))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(NAMES))
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 99999)))
    if rng.random() < 0.1:
        words.insert(rng.randrange(len(words)), rng.choice(CITIES))
    if rng.random() < 0.03:
        words.insert(rng.randrange(len(words)), rng.choice(EXTRA))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....?!;:")


def prose(rng: random.Random, sentences: int) -> str:
    paragraphs = []
    while sentences > 0:
        n = min(sentences, rng.randint(2, 6))
        paragraphs.append(" ".join(sentence(rng) for _ in range(n)))
        sentences -= n
    return "\n\n".join(paragraphs)


def ident(rng: random.Random) -> str:
    parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        return "_".join(parts)
    return parts[0] + "".join(p.title() for p in parts[1:])


def python_code(rng: random.Random) -> str:
    name, args = ident(rng), [ident(rng) for _ in range(rng.randint(1, 4))]
    lines = [f"def {name}({', '.join(args)}):", f'    """{sentence(rng)}"""']
    for _ in range(rng.randint(2, 9)):
        var, other = ident(rng), rng.choice(args)
        lines.append(
            rng.choice(
                [
                    f"    {var} = {other} * {rng.randint(2, 500)} + len({rng.choice(args)})",
                    f"    if {other} > {rng.randint(0, 99)}:\n        return {{'{var}': {other}}}",
                    f"    for i in range({rng.randint(2, 64)}):\n        {var} = {other}[i] ** 2",
                    f"    # {sentence(rng)}",
                    f"    {var} = [x for x in {other} if x % {rng.randint(2, 9)} == 0]",
                    f'    print(f"{{{other}!r}}: {ident(rng)}")',
                ]
            )
        )
    lines.append(f"    return {rng.choice(args)}")
    return "\n".join(lines)


def js_code(rng: random.Random) -> str:
    name, arg = ident(rng), ident(rng)
    body = "\n".join(
        f"  const {ident(rng)} = {arg}.{ident(rng)}({rng.randint(0, 999)}, '{rng.choice(WORDS)}');"
        for _ in range(rng.randint(2, 8))
    )
    return f"function {name}({arg}) {{\n{body}\n  return {arg} !== null && {arg}.length > 0;\n}}"


def json_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.random()
    if depth < 3 and kind < 0.25:
        return {ident(rng): json_value(rng, depth + 1) for _ in range(rng.randint(1, 5))}
    if depth < 3 and kind < 0.4:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(1, 4))]
    if kind < 0.6:
        return rng.randint(-10_000, 1_000_000)
    if kind < 0.7:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    if kind < 0.75:
        return rng.choice([True, False, None])
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))


def json_text(rng: random.Random) -> str:
    doc = {ident(rng): json_value(rng) for _ in range(rng.randint(2, 7))}
    return json.dumps(doc, indent=rng.choice([None, 2, 4]), ensure_ascii=rng.random() < 0.5)


SYSTEMS = [
    "You are a helpful assistant.",
    "You are a support agent for an online shop. Answer briefly and politely.",
    "You are a senior Python engineer. Reply with working code and a short explanation.",
    "You convert user requests into JSON that matches the given schema.",
]


def reply(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return prose(rng, rng.randint(2, 14))
    fence = "python" if kind < 0.6 else ("javascript" if kind < 0.7 else "json")
    body = {"python": python_code, "javascript": js_code, "json": json_text}[fence](rng)
    return f"{prose(rng, rng.randint(1, 3))}\n\n```{fence}\n{body}\n```\n\n{sentence(rng)}"


def tool_turns(rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    fn = ident(rng)
    tools = [
        {
            "type": "function",
            "function": {
                "name": fn,
                "description": sentence(rng),
                "parameters": {
                    "type": "object",
                    "properties": {
                        ident(rng): {"type": "string", "description": sentence(rng)}
                        for _ in range(2)
                    },
                },
            },
        }
    ]
    call_id = f"call_{rng.getrandbits(48):012x}"
    turns: list[dict[str, object]] = [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": fn, "arguments": json.dumps({ident(rng): sentence(rng)})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": json_text(rng)},
    ]
    return tools, turns


def row(rng: random.Random) -> dict[str, object]:
    system = rng.choice(SYSTEMS) if rng.random() < 0.7 else prose(rng, rng.randint(1, 4))
    messages: list[dict[str, object]] = [{"role": "system", "content": system}]
    out: dict[str, object] = {"messages": messages}
    for turn in range(rng.choices([1, 2, 3, 4], [6, 3, 2, 1])[0]):
        user: dict[str, object] = {"role": "user", "content": prose(rng, rng.randint(1, 6))}
        if rng.random() < 0.1:
            user["name"] = rng.choice(NAMES).lower().replace("-", "_")
        messages.append(user)
        if turn == 0 and rng.random() < 0.15:
            out["tools"], turns = tool_turns(rng)
            messages.extend(turns)
        answer: dict[str, object] = {"role": "assistant", "content": reply(rng)}
        if rng.random() < 0.2:
            answer["weight"] = rng.choice([0, 1])
        messages.append(answer)
    return out


def generate(path: Path, size_mb: float, seed: int = SEED) -> int:
    """Write about `size_mb` MB of rows to `path`; returns the number of rows."""
    rng, limit, written, rows = random.Random(seed), int(size_mb * 1_000_000), 0, 0
    with path.open("w", encoding="utf-8") as f:
        while written < limit:
            line = json.dumps(row(rng), ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode())
            rows += 1
    return rows


# --------------------------------------------------------------------------------------
# Measurements, each in its own process (python bench_tokens.py --measure KIND FILE)


def _tree_rss(pid: int) -> int:
    """The summed RSS in bytes of `pid` and every process below it, from /proc."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_tree_rss(int(child)) for child in children)


class TreeSampler(threading.Thread):
    """The high-water mark of the process tree's summed RSS, sampled every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _tree_rss(os.getpid()))


def baseline(path: Path) -> tuple[int, int, float]:
    from ftsweep.data.tokens import example_texts, tokenizer_for

    encode = tokenizer_for("gpt-4.1-mini").encoding.encode_ordinary  # built before the clock
    start, rows, total = time.perf_counter(), 0, 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            texts, fixed = example_texts(json.loads(line), "supervised")
            total += fixed + sum(len(encode(text)) for text in texts)
            rows += 1
    return rows, total, start


def ftsweep_count(path: Path, workers: int | None) -> tuple[int, int, float]:
    from ftsweep.data.counts import count_file

    start = time.perf_counter()
    result = count_file(path, "supervised", "o200k_base", workers=workers)
    assert not result.invalid_lines and not result.blank_lines
    return result.examples, result.total, start


def tiktoken_pooled(path: Path) -> tuple[int, int, float]:
    from functools import partial

    from ftsweep.data.counts import _summarise, count_chunk
    from ftsweep.data.scan import default_workers, scan

    start = time.perf_counter()
    fn = partial(count_chunk, "supervised", "o200k_base", False)
    result = _summarise(scan(path, fn, workers=default_workers()), "o200k_base")
    return result.examples, result.total, start


def measure(kind: str, path: Path) -> None:
    sampler = TreeSampler()
    sampler.start()
    if kind == "baseline":
        rows, total, start = baseline(path)
    elif kind == "tiktoken-pooled":
        rows, total, start = tiktoken_pooled(path)
    else:
        rows, total, start = ftsweep_count(path, None if kind == "count_file" else 1)
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    tree = max(sampler.peak, mine)
    print(json.dumps({"rows": rows, "total": total, "seconds": seconds, "self": mine,
                      "child": child, "tree": tree}))  # fmt: skip


# --------------------------------------------------------------------------------------
# The report

RUNS = (
    ("baseline", "a) tiktoken loop, 1 process"),
    ("count_file", "b) count_file, defaults"),
    ("count_file-1", "c) count_file, workers=1"),
    ("tiktoken-pooled", "d) scan + tiktoken, all cores"),
)


def run(kind: str, path: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    cmd = [sys.executable, __file__, "--measure", kind, str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def report(path: Path, repeat: int) -> bool:
    size = path.stat().st_size
    results = {}
    for kind, _ in RUNS:
        runs = [run(kind, path) for _ in range(repeat)]
        results[kind] = min(runs, key=lambda r: r["seconds"])
    base = results["baseline"]
    mb = 1e6
    print(f"{'':32} {'MB/s':>7} {'rows/s':>8} {'s':>6} {'vs a)':>6}  peak MB: self child tree")
    for kind, label in RUNS:
        r = results[kind]
        print(
            f"{label:32} {size / mb / r['seconds']:7.1f} {r['rows'] / r['seconds']:8.0f} "
            f"{r['seconds']:6.2f} {base['seconds'] / r['seconds']:5.2f}x  "
            f"{r['self'] / mb:8.0f} {r['child'] / mb:5.0f} {r['tree'] / mb:4.0f}"
        )
    totals = {kind: (r["rows"], r["total"]) for kind, r in results.items()}
    assert len(set(totals.values())) == 1, f"totals differ: {totals}"
    print(f"identical totals: {base['rows']:,.0f} rows, {base['total']:,.0f} tokens")
    best = results["count_file"]
    ratio = base["seconds"] / best["seconds"]
    ok = ratio >= 2.0 and best["tree"] < 300e6
    print(f"target b) >= 2.0x a), tree peak < 300 MB: {'ok' if ok else 'MISSED'} "
          f"({ratio:.2f}x, {best['tree'] / mb:.0f} MB)")  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 20 MB file")
    parser.add_argument("--size-mb", type=float, default=200.0, help="file size (default 200)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]))
        return 0
    size = 20.0 if args.quick else args.size_mb
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as tmp:
        path = Path(tmp) / "train.jsonl"
        start = time.perf_counter()
        rows = generate(path, size)
        print(f"generated {path.stat().st_size / 1e6:.0f} MB, {rows:,} rows "
              f"in {time.perf_counter() - start:.0f} s; {os.cpu_count()} cores")  # fmt: skip
        return 0 if report(path, args.repeat) else 1


if __name__ == "__main__":
    raise SystemExit(main())
