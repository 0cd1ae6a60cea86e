"""Running a command on a pseudo-terminal, for the tests of what ftsweep draws on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Mapping
from pathlib import Path


def on_terminal(
    command: list[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> tuple[int, str]:
    """Run `command` with its stderr on a new terminal; its exit code and what it drew there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=timeout), shown.decode(errors="replace")
