"""One way to write a count for people: grouped the way the user's locale groups digits.

Every page and report line that shows a count of invoices, checks or records goes through
`format_count`, so the window never shows "1,278" on one page and "1278" on the next. The
grouping comes from the process's numeric locale (`locale.localeconv()`), which the window's
toolkit sets from the user's environment at start-up; where the locale defines no grouping at
all (the bare "C" locale of scripts and test runs) a comma every three digits is used, so large
counts stay readable. `plural` adds the noun, so no text reads "check(s)".
"""

from __future__ import annotations

import locale

FALLBACK_SEPARATOR = ","


def _group(digits: str, separator: str, sizes: list[int]) -> str:
    """Group `digits` from the right by `sizes` (the locale's `grouping`: the last size repeats)."""
    groups: list[str] = []
    rest = digits
    index = 0
    size = sizes[0] if sizes else 3
    while len(rest) > size > 0:
        groups.append(rest[-size:])
        rest = rest[:-size]
        index += 1
        if index < len(sizes) and sizes[index] not in (0, locale.CHAR_MAX):
            size = sizes[index]
        elif index < len(sizes) and sizes[index] == locale.CHAR_MAX:
            break
    groups.append(rest)
    return separator.join(reversed(groups))


def format_count(count: int, separator: str | None = None) -> str:
    """`count` with its digits grouped: the locale's separator, or `separator` when given."""
    conventions = locale.localeconv()
    sizes = [size for size in conventions["grouping"] if size != 0] or [3]
    chosen = separator if separator is not None else str(conventions["thousands_sep"])
    if not chosen:
        chosen, sizes = FALLBACK_SEPARATOR, [3]
    sign = "-" if count < 0 else ""
    return sign + _group(str(abs(count)), chosen, sizes)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`"1 check"`, `"2 checks"`, `"1,278 invoices"`: the count, formatted, with the right noun."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{format_count(count)} {noun}"
