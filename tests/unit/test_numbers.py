"""One formatter for counts: grouped digits everywhere, the right plural."""

from __future__ import annotations

import locale

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.presenters import numbers
from halo_paylink.core.presenters.numbers import format_count, plural

_REAL = dict(locale.localeconv())


def _conventions(sep: str, grouping: list[int]) -> dict[str, object]:
    base = dict(_REAL)
    base.update(thousands_sep=sep, grouping=grouping)
    return base


def test_bare_locale_still_groups_by_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numbers.locale, "localeconv", lambda: _conventions("", []))
    assert format_count(1278) == "1,278"
    assert format_count(40000) == "40,000"
    assert format_count(999) == "999"
    assert format_count(0) == "0"
    assert format_count(-1234567) == "-1,234,567"


def test_the_locales_separator_and_grouping_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numbers.locale, "localeconv", lambda: _conventions(".", [3, 0]))
    assert format_count(1234567) == "1.234.567"
    # Indian grouping: three, then twos.
    monkeypatch.setattr(numbers.locale, "localeconv", lambda: _conventions(",", [3, 2, 0]))
    assert format_count(12345678) == "1,23,45,678"
    # CHAR_MAX ends grouping.
    monkeypatch.setattr(
        numbers.locale, "localeconv", lambda: _conventions(",", [3, locale.CHAR_MAX])
    )
    assert format_count(12345678) == "12345,678"


def test_an_explicit_separator_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numbers.locale, "localeconv", lambda: _conventions(".", [3, 0]))
    assert format_count(26563035, separator="\u202f") == "26\u202f563\u202f035"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grouping_never_changes_the_number(count: int) -> None:
    text = format_count(count)
    separator = str(locale.localeconv()["thousands_sep"]) or ","
    assert int(text.replace(separator, "")) == count
    assert all(len(group) <= 3 for group in text.lstrip("-").split(separator))


def test_plural_reads_as_words() -> None:
    assert plural(1, "check") == "1 check"
    assert plural(2, "check") == "2 checks"
    assert plural(0, "invoice") == "0 invoices"
    assert plural(1278, "invoice").endswith(" invoices")
    assert plural(3, "entry", "entries") == "3 entries"
