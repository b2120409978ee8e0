"""`halo-paylink sandbox` as a child process: starting it and reading its output in time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

TIMEOUT = 60


def start(*args: str) -> subprocess.Popen[str]:
    """Starts `halo-paylink sandbox ARGS` with its output piped as UTF-8 text."""
    return subprocess.Popen(
        [sys.executable, "-m", "halo_paylink", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )


def read_line(proc: subprocess.Popen[str]) -> str:
    """One stdout line, failing (not hanging) when none comes."""
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(TIMEOUT)
    assert result, "the sandbox printed nothing in time"
    return result[0]
