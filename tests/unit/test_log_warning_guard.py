"""The suite's guard against unexpected log warnings (the root conftest) really fails a test.

The guard checks at teardown, so a test that warned shows as an error of its teardown (and the
run fails), which also covers warnings logged while fixtures are torn down."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text(encoding="utf-8")


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(ROOT_CONFTEST)
    return pytester


def test_an_undeclared_app_warning_fails_the_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import logging

        def test_warns():
            logging.getLogger("halo_paylink.core.backfill.runner").warning("report not written")

        def test_asyncio_error():
            logging.getLogger("asyncio").error("Task exception was never retrieved")

        def test_info_is_fine():
            logging.getLogger("halo_paylink").info("just saying")

        def test_other_loggers_are_not_watched():
            logging.getLogger("httpx").warning("not ours")
        """
    )
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    # each test body passes; the guard then errors the two that warned, at teardown
    result.assert_outcomes(passed=4, errors=2)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unexpected log warnings*", "*WARNING*report not written*"])


def test_declared_warnings_pass_and_expected_ones_must_come(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import logging
        import pytest

        log = logging.getLogger("halo_paylink.x")

        @pytest.mark.allow_log_warnings
        def test_any_allowed():
            log.warning("whatever")

        @pytest.mark.allow_log_warnings(r"^report not written")
        def test_pattern_allowed():
            log.warning("report not written: disk full")

        @pytest.mark.allow_log_warnings(r"^report not written")
        def test_other_message_still_fails():
            log.warning("something else")

        def test_expected_and_came(expect_log_warning):
            expect_log_warning(r"disk full")
            log.error("disk full")

        def test_expected_but_never_came(expect_log_warning):
            expect_log_warning(r"disk full")
        """
    )
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, errors=2)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*expected log warnings that never came: disk full*"])
