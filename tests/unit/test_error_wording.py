"""Each error in plain words, once: no repeated status, no repeated library text, Halo's words
attributed to Halo only when Halo answered."""

from __future__ import annotations

import socket

import httpx
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.errors import ErrorCategory, ErrorKind, HaloError, explain
from halo_paylink.halo.http import distinct_messages, error_from_exception

HALO_KINDS = [
    k
    for k in ErrorKind
    if k.category not in (ErrorCategory.LOCAL, ErrorCategory.USAGE)
    and not k.code.startswith("benji_")  # Benji's failures are BenjiErrors
]


@given(st.sampled_from(HALO_KINDS), st.sampled_from([400, 401, 403, 404, 429, 500, 503]))
def test_the_status_is_said_once(kind: ErrorKind, status: int) -> None:
    summary = HaloError(kind, "detail", status=status).summary
    assert summary.count(f"HTTP {status}") == 1


@given(st.sampled_from(HALO_KINDS), st.text(min_size=1, max_size=20).filter(str.strip))
def test_halo_said_only_when_halo_answered(kind: ErrorKind, detail: str) -> None:
    unanswered = explain(HaloError(kind, detail)).detail
    assert not unanswered.startswith("Halo said")
    answered = explain(HaloError(kind, detail, status=400)).detail
    if kind.category is not ErrorCategory.ADDRESS:
        assert answered.startswith("Halo said")


def test_a_repeated_message_down_the_chain_is_said_once() -> None:
    inner = socket.gaierror(-2, "Name or service not known")
    middle = OSError("[Errno -2] Name or service not known")
    middle.__cause__ = inner
    outer = httpx.ConnectError("[Errno -2] Name or service not known")
    outer.__cause__ = middle
    error = error_from_exception(outer)
    assert error.kind is ErrorKind.DNS
    assert error.detail == "[Errno -2] Name or service not known"
    assert " | " not in error.detail


def test_distinct_messages_keep_what_differs() -> None:
    chain = [ValueError("a"), ValueError("a b"), ValueError(""), ValueError("c")]
    assert distinct_messages(chain) == ["a b", "c"]
