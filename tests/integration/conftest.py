"""Fixtures shared by the integration tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from .sandbox_process import TIMEOUT


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Sandbox processes a test started; any still running are killed at its end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
