"""Halo's data cannot steer the terminal: `safe` and `safe_json` neutralise controls and bidi."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from halo_paylink.cli.terminal import safe, safe_json

ANY_CHAR = st.characters(blacklist_categories=())
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x61C]]
NASTY = st.sampled_from(
    ["\x1b[2J", "\x1b]0;owned\x07", "\x9b31m", "\r", "\n", "\x00", "\x7f", "\udcff", *BIDI]
)
texts = st.lists(st.one_of(st.text(ANY_CHAR, max_size=8), NASTY), max_size=8).map("".join)


def _dangerous(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs"} or ch in BIDI


@settings(max_examples=800, deadline=None)
@given(texts)
def test_safe_leaves_no_control_bidi_or_surrogate(text: str) -> None:
    shown = safe(text)
    assert not any(_dangerous(ch) for ch in shown)
    shown.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogate left
    if not any(_dangerous(ch) for ch in text):
        assert shown == text  # ordinary text, accents and scripts included, is untouched


def test_escapes_are_visible() -> None:
    assert safe("Acme\x1b[2J Ltd") == "Acme\\x1b[2J Ltd"
    assert safe("INV\u202e1234") == "INV\\u202e1234"
    assert safe("Zoë Ünsal 株式会社") == "Zoë Ünsal 株式会社"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_safe_json_parses_to_the_same_values(value: object) -> None:
    line = safe_json(value)
    assert not any(_dangerous(ch) for ch in line)
    assert json.loads(line) == value
