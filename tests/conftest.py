"""Fixtures for every test: app folders in a temp dir, asyncio for anyio-marked tests, and no
unexpected log warnings.

Log warnings: any `logging` record at WARNING or above from the app (`halo_paylink.*`), asyncio
or qasync fails the test, unless the test declares it:

- `@pytest.mark.allow_log_warnings(r"regex", ...)`: records whose message matches one of the
  patterns (`re.search`) are allowed; with no pattern, every record is.
- the `expect_log_warning` fixture: `expect_log_warning(r"regex")` allows matching records and
  also fails the test when none came (so a declaration cannot outlive the warning it names).

Qt's own warnings are failed by pytest-qt (`qt_log_level_fail`), see tests/ui/conftest.py.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property-based tests: no example database in the work tree, no per-example deadline (CI
# machines vary); failures still print the example and the seed to reproduce them.
settings.register_profile("halo-paylink", database=None, deadline=None)
settings.load_profile("halo-paylink")

#: Loggers whose warnings fail a test (their children propagate here).
WATCHED_LOGGERS = ("halo_paylink", "asyncio", "qasync")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_log_warnings(*patterns): the test expects log records at WARNING or above whose "
        "message matches one of the regex patterns (any record when none is given)",
    )


class _WarningCollector(logging.Handler):
    """Keeps every record at WARNING or above; records may come from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self._records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._records_lock:
            self.records.append(record)

    def snapshot(self) -> list[logging.LogRecord]:
        with self._records_lock:
            return list(self.records)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must still be reported, not hide the record
        return f"{record.msg!r} % {record.args!r}"


class LogWarningRules:
    """What a test declared about log warnings: allowed patterns and expected ones."""

    def __init__(self) -> None:
        self.allow_all = False
        self.allowed: list[re.Pattern[str]] = []
        self.expected: list[re.Pattern[str]] = []

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def problems(self, records: list[logging.LogRecord]) -> list[str]:
        messages = [(record, _message(record)) for record in records]
        patterns = (*self.allowed, *self.expected)
        unexpected = [
            f"{record.levelname} {record.name}: {message}"
            for record, message in messages
            if not self.allow_all and not any(p.search(message) for p in patterns)
        ]
        missing = [p.pattern for p in self.expected if not any(p.search(m) for _, m in messages)]
        problems = []
        if unexpected:
            problems.append(
                "unexpected log warnings (declare them with @pytest.mark.allow_log_warnings or "
                "the expect_log_warning fixture):\n  " + "\n  ".join(unexpected)
            )
        if missing:
            problems.append("expected log warnings that never came: " + ", ".join(missing))
        return problems


@pytest.fixture
def log_warning_rules(request: pytest.FixtureRequest) -> LogWarningRules:
    rules = LogWarningRules()
    for marker in request.node.iter_markers("allow_log_warnings"):
        if not marker.args:
            rules.allow_all = True
        rules.allowed.extend(re.compile(pattern) for pattern in marker.args)
    return rules


@pytest.fixture
def expect_log_warning(log_warning_rules: LogWarningRules) -> Callable[[str], None]:
    """`expect_log_warning(r"regex")`: this test must log a warning matching the pattern."""
    return log_warning_rules.expect


@pytest.fixture(autouse=True)
def fail_on_log_warnings(log_warning_rules: LogWarningRules) -> Iterator[None]:
    """Fail the test when a watched logger emits an undeclared record at WARNING or above."""
    collector = _WarningCollector()
    loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
    for logger in loggers:
        logger.addHandler(collector)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    problems = log_warning_rules.problems(collector.snapshot())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


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
    from halo_paylink.redact import forget_secrets

    forget_secrets()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
