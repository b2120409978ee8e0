"""`--link` validation: what `template_errors` accepts is a link Halo can store and a browser open.

Property-based over generated links (schemes, user info, hosts, ports, paths with the
placeholder, control and bidi characters, long tails) and arbitrary text.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill import BackfillError, BackfillSettings
from halo_paylink.core.links import (
    LINK_MAX_LENGTH,
    SAMPLE_INVOICE_NUMBER,
    fill_link,
    template_errors,
    validate_link_template,
)
from halo_paylink.halo import facts

PLACEHOLDER = facts.BENJI_PLACEHOLDER
BENJI = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber="

numbers = st.from_regex(r"[A-Za-z0-9/_.-]{1,21}", fullmatch=True)


@st.composite
def links(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", "https:/"]))
    user = draw(st.sampled_from(["", "user@", "user:password@", ":@", "a@b@"]))
    host = draw(
        st.sampled_from(["www.benjipays.com", "acme.benjipays.com", "pay.example.com", "", "[::1"])
    )
    port = draw(
        st.one_of(st.just(""), st.integers(-3, 70000).map(lambda p: f":{p}"), st.just(":x"))
    )
    path = draw(st.sampled_from(["/portal/acme/pay/?InvoiceNumber=", "/p/", "/?n=", ""]))
    tail = draw(st.sampled_from(["", PLACEHOLDER, PLACEHOLDER * 2, f"{PLACEHOLDER}&amount=1"]))
    text = scheme + user + host + port + path + tail
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        bad = draw(
            st.sampled_from(["\x00", "\x1b[31m", "\u202e", "\u2066", "\u200e", "\x85", "\t"])
        )
        text = text[:at] + bad + text[at:]
    if draw(st.booleans()):
        text += "a" * draw(st.integers(0, LINK_MAX_LENGTH + 50))
    return text


def _assert_usable(template: str, number: str) -> None:
    link = fill_link(template, number)
    parts = urlsplit(link)
    assert parts.scheme.lower() == "https"
    assert parts.hostname
    assert "@" not in parts.netloc
    assert parts.port is None or 1 <= parts.port <= 65535
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in link)
    assert len(link) <= LINK_MAX_LENGTH


@settings(max_examples=1500, deadline=None)
@given(links(), numbers)
def test_accepted_links_fill_to_storable_links(template: str, number: str) -> None:
    if not template_errors(template):
        _assert_usable(template, number)


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=()), max_size=60))
def test_any_text_gets_findings_never_an_exception(text: str) -> None:
    problems = validate_link_template(text)
    assert all(p.message for p in problems)
    if not template_errors(text):
        _assert_usable(text, SAMPLE_INVOICE_NUMBER)


@pytest.mark.parametrize(
    ("template", "code"),
    [
        ("https://www.benjipays.com:99999/p/?n=" + PLACEHOLDER, "bad_port"),
        ("https://www.benjipays.com:0/p/?n=" + PLACEHOLDER, "bad_port"),
        ("https://www.benjipays.com:x1/p/?n=" + PLACEHOLDER, "bad_port"),
        ("https://user:password@www.benjipays.com/p/?n=" + PLACEHOLDER, "credentials"),
        ("https://user@www.benjipays.com/p/?n=" + PLACEHOLDER, "credentials"),
        (BENJI + "\x1b[2J" + PLACEHOLDER, "control_characters"),
        (BENJI + "\u202e" + PLACEHOLDER, "control_characters"),
        (BENJI + "\x00" + PLACEHOLDER, "control_characters"),
        ("https://[::1/p/?n=" + PLACEHOLDER, "malformed"),
    ],
)
def test_specific_refusals(template: str, code: str) -> None:
    assert code in {p.code for p in template_errors(template)}
    with pytest.raises(BackfillError):
        BackfillSettings(template=template).check()


def test_length_is_judged_with_a_realistic_number_filled_in() -> None:
    # Exactly at the limit once a 21-character number is in: accepted.
    room = LINK_MAX_LENGTH - len(BENJI) - len(SAMPLE_INVOICE_NUMBER)
    fits = BENJI.replace("pay/", "pay/" + "x" * room) + PLACEHOLDER
    assert len(fill_link(fits, SAMPLE_INVOICE_NUMBER)) == LINK_MAX_LENGTH
    assert not template_errors(fits)
    # One more character: the template itself is short enough, the filled link is not.
    longer = fits.replace("pay/", "pay/x")
    assert len(longer) < LINK_MAX_LENGTH
    [problem] = template_errors(longer)
    assert problem.code == "too_long" and "1001 characters" in problem.message
