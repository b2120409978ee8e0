"""Fixtures for every test: app folders in a temp dir, asyncio for anyio-marked tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_app_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Send every app folder (config, state, logs, cache) to a fresh temp dir for each test."""
    home = tmp_path_factory.mktemp("halo-paylink-home")
    monkeypatch.setenv("HALO_PAYLINK_HOME", str(home))
    monkeypatch.delenv("HALO_CLIENT_SECRET", raising=False)
    yield home


@pytest.fixture(autouse=True)
def forget_registered_secrets() -> Iterator[None]:
    """Every token a test's client is issued is registered for redaction process-wide; forget
    them after each test so one test's short fake tokens cannot mask another test's text."""
    yield
    from halo_paylink.storage.redact import forget_secrets

    forget_secrets()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
