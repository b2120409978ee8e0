"""halo.ratelimit.parse_rate_limit: the one rate-limit grammar of the client, profiles and sandbox.

The client (`RateLimiter.parse`) and the sandbox (`halo_paylink.sandbox.parse_rate_limit`) each
had a grammar of their own. `client_grammar` and `sandbox_grammar` below are those two, kept as
oracles: wherever they agreed, the one grammar must answer the same. Where they disagreed, the
examples further down pin the choice.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from halo_paylink.halo import facts
from halo_paylink.halo.ratelimit import (
    HOSTED_BUDGET,
    RateBudget,
    RateLimiter,
    parse_rate_limit,
)
from halo_paylink.sandbox import parse_rate_limit as sandbox_parse_rate_limit

Answer = tuple[int, float] | None | str  # a budget, no budget, or "rejected"
REJECTED = "rejected"

_OLD_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_OLD_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def client_grammar(spec: str) -> Answer:
    """The client's grammar before there was one (RateLimiter.parse)."""
    text = (spec or "").strip().lower()
    if text in ("none", "unlimited", "off", "0"):
        return None
    match = _OLD_SPEC.match(text)
    if not match:
        return REJECTED
    requests, amount, unit = int(match.group(1)), float(match.group(2)), match.group(3)
    seconds = amount * _OLD_UNITS[unit.lower() if unit else None]
    if requests < 1 or seconds <= 0:
        return REJECTED
    return (requests, seconds)


def sandbox_grammar(spec: str) -> Answer:
    """The sandbox's grammar before there was one (sandbox.state.parse_rate_limit)."""
    text = spec.strip()
    if text.lower() == "hosted":
        return (300, 300.0)
    parts = text.split("/")
    if len(parts) != 2:
        return REJECTED
    try:
        requests = int(parts[0])
        seconds = float(parts[1])
    except ValueError:
        return REJECTED
    if requests < 1 or not math.isfinite(seconds) or seconds <= 0:
        return REJECTED
    return (requests, seconds)


def one_grammar(spec: str) -> Answer:
    try:
        budget = parse_rate_limit(spec)
    except ValueError:
        return REJECTED
    return None if budget is None else (budget.requests, budget.window_seconds)


_PIECES = st.sampled_from(
    [
        *("", " ", "\t", "/", ".", "+", "-", "_", "e3", "x", "inf", "nan", "٣", "Ⅷ"),
        *("0", "1", "5", "30", "300", "2.5", "s", "sec", "m", "min", "h"),
        *("hosted", "unlimited", "none", "off"),
    ]
)
SPECS = st.one_of(
    st.lists(_PIECES, max_size=6).map("".join),
    st.text(alphabet=" /0123456789.+-_esmhinxo\t٣", max_size=10),
)


@given(SPECS)
@example("300/300")
@example(" 10 / 2.5 ")
@example("٣٠٠/٣٠٠")  # other scripts' digits: both old grammars read them as numbers
@example("1/" + "9" * 400)
def test_where_the_old_grammars_agreed_the_one_grammar_answers_the_same(spec: str) -> None:
    client, sandbox = client_grammar(spec), sandbox_grammar(spec)
    if client == sandbox:
        assert one_grammar(spec) == client


@given(SPECS)
def test_client_and_sandbox_read_every_value_alike(spec: str) -> None:
    try:
        budget = parse_rate_limit(spec)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            sandbox_parse_rate_limit(spec)
        with pytest.raises(ValueError, match=re.escape(str(error))):
            RateLimiter.parse(spec)
        return
    limiter = RateLimiter.parse(spec)
    if budget is None:
        assert sandbox_parse_rate_limit(spec) is None
        assert limiter.max_requests is None
    else:
        assert sandbox_parse_rate_limit(spec) == (budget.requests, budget.window_seconds)
        assert (limiter.max_requests, limiter.window_seconds) == (
            budget.requests,
            budget.window_seconds,
        )


@given(st.integers(1, 10**6), st.integers(1, 10**6), st.sampled_from(["", "s", "m", "h"]))
def test_every_budget_written_out_reads_back(requests: int, window: int, unit: str) -> None:
    factor = {"": 1, "s": 1, "m": 60, "h": 3600}[unit]
    assert parse_rate_limit(f"{requests}/{window}{unit}") == RateBudget(
        requests, float(window * factor)
    )


# --- where the two grammars disagreed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # the client's words for no budget: the sandbox has no budget either then
        ("unlimited", None),
        ("None", None),
        ("off", None),
        ("0", None),
        # the client's units: now the sandbox's too
        ("300/5m", (300, 300.0)),
        ("100/1h", (100, 3600.0)),
        ("10/5 s", (10, 5.0)),
        ("10/2MIN", (10, 120.0)),
        # the sandbox's "hosted": now the client's too
        ("hosted", (300, 300.0)),
        (" Hosted ", (300, 300.0)),
    ],
)
def test_a_form_one_side_knew_is_now_known_to_both(spec: str, expected: Answer) -> None:
    assert REJECTED in (client_grammar(spec), sandbox_grammar(spec))
    assert one_grammar(spec) == expected
    assert sandbox_parse_rate_limit(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "+5/10",  # signs, exponents, digit separators and bare points: Python's int()/float()
        "5/1e3",  # let the sandbox read them; the client's plain digits are the grammar now
        "1_0/5",
        "5/.5",
        "5/5.",
        "5/+5",
        "1/" + "9" * 400,  # a window too large to be a number is refused, as the sandbox did
        "1/" + "9" * 400 + "h",
    ],
)
def test_a_number_only_one_side_accepted_is_refused(spec: str) -> None:
    assert REJECTED in (client_grammar(spec), sandbox_grammar(spec))
    assert client_grammar(spec) != sandbox_grammar(spec)
    with pytest.raises(ValueError, match="Rate limit"):
        parse_rate_limit(spec)


def test_hosted_is_the_published_budget() -> None:
    published = RateBudget(facts.HOSTED_RATE_LIMIT_REQUESTS, facts.HOSTED_RATE_LIMIT_WINDOW_SECONDS)
    assert published == HOSTED_BUDGET
    hosted = RateLimiter.parse("hosted")
    assert (hosted.max_requests, hosted.window_seconds) == (300, 300.0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("300", r"is not understood: write REQUESTS/SECONDS, e\.g\. 300/300"),
        ("1/2/3", "write REQUESTS/SECONDS"),
        ("", "'hosted' for hosted Halo's budget, or 'unlimited'"),
        ("x/5", r"'x' is not a whole number of requests; write REQUESTS/SECONDS, e\.g\. 300/300"),
        ("-1/5", "'-1' is not a whole number of requests"),
        ("10/soon", "'soon' is not a number of seconds .*as in 5m or 1h"),
        ("0/5", "must allow at least 1 request per window; write e.g. 300/300, or 'unlimited'"),
        ("5/0", "needs a positive window, longer than 0 seconds"),
        ("5/0m", "needs a positive window"),
    ],
)
def test_errors_say_what_to_type(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_rate_limit(spec)
