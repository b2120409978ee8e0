"""One way to write a count for people: grouped the way the user's locale groups digits.

Every line that shows a count of invoices goes through `format_count`, so no page shows "1,278"
on one line and "1278" on the next. Where the locale defines no grouping (the bare "C" locale of
scripts and test runs) a comma every three digits is used.
"""

from __future__ import annotations

import locale

FALLBACK_SEPARATOR = ","


def format_count(count: int, separator: str | None = None) -> str:
    """`count` with its digits grouped: the locale's separator, or `separator` when given."""
    chosen = separator if separator is not None else str(locale.localeconv()["thousands_sep"])
    if separator is None and chosen:
        return locale.format_string("%d", count, grouping=True)
    text = f"{count:,d}"
    return text.replace(",", chosen or FALLBACK_SEPARATOR)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`"1 invoice"`, `"1,278 invoices"`: the count, formatted, with the right noun."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{format_count(count)} {noun}"
