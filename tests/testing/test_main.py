"""`python -m ftsweep.testing` prints the lines a user needs and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import openai

from ftsweep.testing import StandIn
from ftsweep.testing.__main__ import exports


def test_exports_point_both_clients_at_the_service() -> None:
    service = StandIn(api_key="sk-local")
    try:
        assert exports(service) == [
            f"export OPENAI_BASE_URL=http://127.0.0.1:{service.port}/v1",
            "export OPENAI_API_KEY=sk-local",
            f"export AZURE_OPENAI_ENDPOINT=http://127.0.0.1:{service.port}",
            "export AZURE_OPENAI_API_KEY=sk-local",
            "export OPENAI_API_VERSION=2025-04-01-preview",
        ]
    finally:
        service.close()


def test_the_module_serves_until_ctrl_c_without_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-m", "ftsweep.testing", "--api-key", "sk-local", "--speed", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().removeprefix("export OPENAI_BASE_URL=")
        with openai.OpenAI(base_url=base_url, api_key="sk-local", max_retries=0) as client:
            assert list(client.fine_tuning.jobs.list()) == []
        # Ctrl-C once it says it serves (on a loaded machine it may still be printing).
        shown = [process.stdout.readline() for _ in range(5)]
        assert shown[-1] == "# serving; Ctrl-C stops\n", shown
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # fail, rather than hang in Popen's exit
            raise
    assert process.returncode == 0
    assert out.endswith("# stopped\n") and err == ""
