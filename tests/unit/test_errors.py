"""errors: one hierarchy (Halo, local, usage), one explanation per kind, one `explain()`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.errors import (
    EXPLANATIONS,
    UNEXPECTED,
    ErrorCategory,
    ErrorKind,
    HaloError,
    LocalError,
    PaylinkError,
    UsageError,
    explain,
)
from halo_paylink.redact import register_secret

LOCAL_KINDS = [k for k in ErrorKind if k.category is ErrorCategory.LOCAL]
HALO_KINDS = [
    k
    for k in ErrorKind
    if k.category not in (ErrorCategory.LOCAL, ErrorCategory.USAGE)
    and not k.code.startswith("benji_")
]


def test_every_kind_is_explained_with_a_next_step() -> None:
    for kind in ErrorKind:
        explanation = EXPLANATIONS[kind]
        assert explanation.headline.endswith(".") and explanation.next_step


@pytest.mark.parametrize("kind", LOCAL_KINDS, ids=lambda k: k.name)
def test_a_local_kind_is_never_a_halo_error(kind: ErrorKind) -> None:
    with pytest.raises(ValueError, match="LocalError"):
        HaloError(kind, "x")
    error = LocalError(kind, "x")
    assert isinstance(error, PaylinkError) and not isinstance(error, HaloError)


@pytest.mark.parametrize("kind", HALO_KINDS, ids=lambda k: k.name)
def test_a_halo_kind_is_never_a_local_error(kind: ErrorKind) -> None:
    with pytest.raises(ValueError, match="not a local failure"):
        LocalError(kind, "x")


def test_halo_said_only_when_halo_answered() -> None:
    answered = HaloError(ErrorKind.FORBIDDEN, "no access", status=403)
    assert explain(answered).detail == "Halo said: no access"
    assert "(HTTP 403) Halo said: no access" in str(answered)
    never_reached = HaloError(ErrorKind.DNS, "[Errno -2] Name or service not known")
    assert explain(never_reached).detail == "Details: [Errno -2] Name or service not known"
    address = HaloError(ErrorKind.BAD_ADDRESS, "'x' has no host name.", status=None)
    assert explain(address).detail.startswith("Details: ")


def test_a_local_error_is_explained_as_local() -> None:
    error = LocalError(ErrorKind.CA_FILE_UNREADABLE, "'ca.pem' holds no PEM certificate.")
    explained = explain(error)
    assert explained.kind is ErrorKind.CA_FILE_UNREADABLE
    assert explained.headline == EXPLANATIONS[ErrorKind.CA_FILE_UNREADABLE].headline
    assert explained.detail == "Details: 'ca.pem' holds no PEM certificate."
    assert "Halo said" not in str(error)


def test_a_usage_error_carries_its_own_words() -> None:
    error = UsageError("--url needs --client-id.", "Add --client-id ID.")
    explained = explain(error)
    assert (explained.headline, explained.next_step, explained.detail) == (
        "--url needs --client-id.",
        "Add --client-id ID.",
        "",
    )
    assert error.kind.code == "usage" and error.kind.category is ErrorCategory.USAGE


def test_an_unexpected_error_is_explained_without_its_secret() -> None:
    register_secret("s3cr3t-value-for-explain")
    explained = explain(RuntimeError("boom with s3cr3t-value-for-explain inside"))
    assert explained.kind is None
    assert (explained.headline, explained.next_step) == (UNEXPECTED.headline, UNEXPECTED.next_step)
    assert "s3cr3t-value-for-explain" not in explained.detail
    assert explained.detail.startswith("Details: boom with ")
    assert explain(RuntimeError()).detail == "Details: RuntimeError"


@given(
    kind=st.sampled_from(HALO_KINDS),
    detail=st.text(max_size=40),
    status=st.none() | st.integers(100, 599),
)
def test_explain_agrees_with_the_error_text(
    kind: ErrorKind, detail: str, status: int | None
) -> None:
    error = HaloError(kind, detail, status=status)
    explained = explain(error)
    assert explained.headline == error.headline and explained.next_step == error.next_step
    assert bool(explained.detail) == bool(detail)
    if detail:
        label = explained.detail.split(":", 1)[0]
        assert label in str(error)
        assert label == (
            "Halo said"
            if status is not None and kind.category is not ErrorCategory.ADDRESS
            else "Details"
        )
