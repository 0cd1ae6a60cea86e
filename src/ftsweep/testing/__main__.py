"""`python -m ftsweep.testing`: serve the stand-in until Ctrl-C, printing how to reach it; or,
given a command after `--`, run that command against it and stop (the offline loop in one line:
`python -m ftsweep.testing -- ftsweep run sweeps/support-sft.yaml`)."""

from __future__ import annotations

import argparse
import os
import subprocess
import threading
from collections.abc import Sequence

from ftsweep.testing.server import StandIn


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ftsweep.testing",
        description="Serve a stand-in fine-tuning service (OpenAI and Azure routes) on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: a free one)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds each job phase lasts: validating, queued, running (default: 2)",
    )
    parser.add_argument("--api-key", default=None, help="the key to accept (default: a random one)")
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: a command to run with the environment pointed at the stand-in",
    )
    arguments = parser.parse_args(argv)
    if arguments.command[:1] == ["--"]:
        arguments.command = arguments.command[1:]
    return arguments


def exports(service: StandIn) -> list[str]:
    """The shell lines that point the `openai` clients at `service`."""
    return [
        f"export OPENAI_BASE_URL={service.base_url}",
        f"export OPENAI_API_KEY={service.api_key}",
        f"export AZURE_OPENAI_ENDPOINT={service.azure_endpoint}",
        f"export AZURE_OPENAI_API_KEY={service.api_key}",
        "export OPENAI_API_VERSION=2025-04-01-preview",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    service = StandIn(phase_seconds=arguments.speed, api_key=arguments.api_key, port=arguments.port)
    with service:
        if arguments.command:
            return _run(service, arguments.command)
        print("\n".join(exports(service)), flush=True)
        print("# serving; Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("# stopped", flush=True)
    return 0


def _run(service: StandIn, command: list[str]) -> int:
    """Run `command` with the OpenAI variables pointed at `service`; its exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env.update(OPENAI_BASE_URL=service.base_url, OPENAI_API_KEY=service.api_key)
    try:
        return subprocess.run(command, env=env, check=False).returncode
    except FileNotFoundError:
        print(f"python -m ftsweep.testing: no such command: {command[0]}", flush=True)
        return 127
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
