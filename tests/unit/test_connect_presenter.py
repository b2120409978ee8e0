"""The Connect to Halo page's presenter without Qt: the parse result and what the page shows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.presenters.connect import (
    CONFIRMED,
    DERIVED,
    HOSTED,
    LOOKING,
    NO_CA_FILE,
    NOTHING_FOUND,
    SELF_HOSTED,
    WAITING,
    ConnectPresenter,
)
from halo_paylink.core.presenters.field_note import FieldNote, NoteKind
from halo_paylink.core.wizard import ConnectState, DiscoveryStatus, PageId, WizardFlow, WizardState
from halo_paylink.errors import ErrorKind, HaloError, LocalError
from halo_paylink.halo.discovery import parse_address
from halo_paylink.halo.models import HaloEndpoints

HOSTED_HALO = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
    tenant="acme",
    hosted=True,
    from_authinfo=True,
)
OWN_HALO = HaloEndpoints(
    web_url="https://halo.example.com",
    auth_url="https://halo.example.com/auth",
    resource_url="https://halo.example.com/api",
    tenant=None,
    hosted=False,
    from_authinfo=False,
)


def presenter() -> ConnectPresenter:
    return ConnectPresenter(ConnectState())


def found(p: ConnectPresenter, address: str, endpoints: HaloEndpoints) -> None:
    p.address_edited(address)
    assert p.discovery_found(p.discovery_started(), endpoints)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("me@example.com", "email address"),
        ("ftp://files.example.com", "not supported"),
        ("http://acme.example.com", "https"),
        ("https://acme example", "spaces"),
    ],
)
def test_a_bad_address_gets_a_specific_problem_and_is_not_looked_up(
    typed: str, expected: str
) -> None:
    p = presenter()
    p.address_edited(typed)
    view = p.view()
    assert view.address_note.kind is NoteKind.ERROR and expected in view.address_note.text
    assert p.parsed is None and not p.can_discover and not view.discovery_due
    assert p.state.status is DiscoveryStatus.IDLE


def test_a_good_address_is_parsed_and_waits_for_typing_to_pause() -> None:
    p = presenter()
    p.address_edited("  ACME.halopsa.com/api/ ")
    assert p.parsed is not None
    assert (p.parsed.web_url, p.parsed.hosted, p.parsed.tenant_from_host) == (
        "https://acme.halopsa.com",
        True,
        "acme",
    )
    view = p.view()
    assert view.address_note == FieldNote(NoteKind.NOTE, WAITING)
    assert view.discovery_due and p.can_discover
    assert p.discovery_request() == ("  ACME.halopsa.com/api/ ", None)
    p.tenant_edited("  other ")
    assert p.discovery_request() == ("  ACME.halopsa.com/api/ ", "other")
    p.address_edited("")
    assert p.parsed is None and p.view().address_note == FieldNote()
    assert not p.view().discovery_due and not p.can_discover


def test_nothing_found_yet_shows_an_empty_disabled_box() -> None:
    view = presenter().view()
    assert view.found.enabled is False
    assert view.found.kind == NOTHING_FOUND == "—"
    assert (view.found.auth_url, view.found.resource_url, view.found.tenant) == ("", "", "")
    assert view.found.source == "" and view.found.tenant_placeholder == ""
    assert view.ca_file == NO_CA_FILE == "None" and not view.can_clear_ca


def test_discovery_found_a_hosted_halo_confirmed_by_authinfo() -> None:
    p = presenter()
    p.address_edited("acme.halopsa.com")
    key = p.discovery_started()
    assert p.view().address_note == FieldNote(NoteKind.NOTE, LOOKING)
    assert not p.view().discovery_due  # running, not waiting
    assert p.discovery_found(key, HOSTED_HALO)
    view = p.view()
    assert view.address_note == FieldNote(NoteKind.OK, "Found Halo at https://acme.halopsa.com")
    assert view.found.enabled and view.found.kind == HOSTED == "Halo-hosted"
    assert view.found.auth_url == HOSTED_HALO.auth_url
    assert view.found.resource_url == HOSTED_HALO.resource_url
    assert view.found.tenant == "acme"
    assert view.found.tenant_placeholder == "not shown by Halo"
    assert view.found.source == CONFIRMED
    state = WizardState(connect=p.state)
    assert WizardFlow(state).is_complete(PageId.CONNECT)


def test_a_self_hosted_halo_with_derived_addresses() -> None:
    p = presenter()
    found(p, "halo.example.com", OWN_HALO)
    view = p.view()
    assert view.found.kind == SELF_HOSTED == "Self-hosted (on your own server)"
    assert view.found.tenant == "" and view.found.tenant_placeholder == "none needed"
    assert view.found.source == DERIVED
    assert "the Test on the next page confirms them" in DERIVED


def test_changing_tenant_or_ca_file_makes_the_result_stale_and_keeps_the_placeholder() -> None:
    p = presenter()
    found(p, "halo.example.com", OWN_HALO)
    p.tenant_edited("x")
    view = p.view()
    assert not view.found.enabled and view.found.auth_url == ""
    assert view.found.tenant_placeholder == "none needed"  # as it was last set
    assert view.discovery_due and view.address_note == FieldNote(NoteKind.NOTE, WAITING)
    p.tenant_edited("")  # back to the old tenant: the dropped result does not come back
    assert p.state.status is DiscoveryStatus.WAITING  # the result was dropped when it went stale
    found(p, "halo.example.com", OWN_HALO)
    p.set_ca_file("/certs/own-ca.pem")
    view = p.view()
    assert view.ca_file == "/certs/own-ca.pem" and view.can_clear_ca
    assert not view.found.enabled and view.discovery_due
    p.set_ca_file("")
    assert p.view().ca_file == "None" and p.state.ca_file is None


def test_a_result_for_older_input_is_dropped() -> None:
    p = presenter()
    p.address_edited("acme.halopsa.com")
    old = p.discovery_started()
    p.address_edited("other.halopsa.com")
    assert not p.discovery_found(old, HOSTED_HALO)
    assert not p.discovery_failed(old, HaloError(ErrorKind.REFUSED))
    assert p.state.endpoints is None and p.state.error is None
    assert p.state.status is DiscoveryStatus.WAITING
    assert p.view().found.tenant_placeholder == ""  # nothing was shown for the old input


def test_a_failed_discovery_says_what_happened_and_what_to_do() -> None:
    p = presenter()
    p.address_edited("acme.halopsa.com")
    error = HaloError(ErrorKind.REFUSED, "connection refused")
    assert p.discovery_failed(p.discovery_started(), error)
    note = p.view().address_note
    assert note == FieldNote(NoteKind.ERROR, error.headline + " " + error.next_step)
    assert not p.view().found.enabled
    p.address_edited("acme.halopsa.com")
    local = LocalError(ErrorKind.CA_FILE_UNREADABLE, "no such file")  # not from Halo: same words
    assert p.discovery_failed(p.discovery_started(), local)
    assert p.view().address_note.text == local.headline + " " + local.next_step
    p.address_edited("acme.halopsa.com")
    assert p.discovery_failed(p.discovery_started(), RuntimeError("boom"))
    unexpected = p.view().address_note
    assert unexpected.kind is NoteKind.ERROR and unexpected.text.endswith("Details: boom")
    p.address_edited("acme.halopsa.com")
    dns = HaloError(ErrorKind.DNS, "[Errno -2] Name or service not known | [Errno -2] Name or")
    assert p.discovery_failed(p.discovery_started(), dns)
    assert "Errno" not in p.view().address_note.text  # the library's words stay in the log
    p.address_edited("acme.halopsa.com")
    said = HaloError(ErrorKind.INVALID_TENANT, "tenant 'acme2' does not exist", status=400)
    assert p.discovery_failed(p.discovery_started(), said)
    assert p.view().address_note.text.endswith("Halo said: tenant 'acme2' does not exist")
    p.address_edited("acme.halopsa.com")
    assert p.discovery_failed(p.discovery_started(), RuntimeError(""))
    assert p.view().address_note.text.startswith("Something went wrong. Try again")


def test_cancelling_goes_back_to_waiting_and_entering_rediscovers_what_was_not_found() -> None:
    p = presenter()
    assert not p.should_rediscover(discovering=False)  # nothing typed
    p.address_edited("acme.halopsa.com")
    p.discovery_started()
    assert not p.should_rediscover(discovering=True)
    p.discovery_cancelled()
    assert p.state.status is DiscoveryStatus.WAITING
    assert p.should_rediscover(discovering=False)
    found(p, "acme.halopsa.com", HOSTED_HALO)
    p.discovery_cancelled()  # nothing running: the result stands
    assert p.state.status is DiscoveryStatus.FOUND
    assert not p.should_rediscover(discovering=False)
    p.address_edited("me@example.com")
    assert not p.should_rediscover(discovering=False)


# -- whatever is pasted ------------------------------------------------------------------------
pasted = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=60),
    st.builds(
        lambda scheme, host, tail: scheme + host + tail,
        st.sampled_from(["https://", "http://", "", "ftp://", "mailto:", "https:/", "//"]),
        st.sampled_from(
            ["acme.halopsa.com", "halo.example.com", "localhost", "127.0.0.1", "a@b.com", "x", ""]
        ),
        st.sampled_from(["", "/", "/api", "/auth/", ":8443", ":0", "/portal/x?y=1", " ", "."]),
    ),
)


@given(text=pasted)
def test_any_pasted_text_gives_the_parse_result_and_a_matching_note(text: str) -> None:
    p = presenter()
    p.address_edited(text)
    view = p.view()
    expected_error: str | None = None
    parsed = None
    if text.strip():
        try:
            parsed = parse_address(text)
        except HaloError as exc:
            expected_error = exc.detail or exc.headline
    assert p.parsed == parsed
    assert p.state.address == view.address == text
    assert p.state.address_error == expected_error
    if expected_error is not None:
        assert view.address_note == FieldNote(NoteKind.ERROR, expected_error)
        assert not view.discovery_due and not p.can_discover
    elif parsed is not None:
        assert view.address_note == FieldNote(NoteKind.NOTE, WAITING)
        assert view.discovery_due and p.can_discover
    else:
        assert view.address_note == FieldNote() and not view.discovery_due
    assert not view.found.enabled


@given(first=pasted, second=pasted)
def test_a_result_only_ever_lands_on_the_input_it_was_for(first: str, second: str) -> None:
    p = presenter()
    p.address_edited(first)
    if not p.can_discover:
        return
    key = p.discovery_started()
    p.address_edited(second)
    landed = p.discovery_found(key, HOSTED_HALO)
    assert landed is (p.state.key() == key)
    assert p.view().found.enabled is landed


def test_the_found_box_shows_only_a_result_for_the_current_input() -> None:
    # endpoints left over for another key (state filled in elsewhere) are not shown as found
    state = ConnectState(
        address="other.halopsa.com",
        status=DiscoveryStatus.FOUND,
        endpoints=HOSTED_HALO,
        discovered_for=("acme.halopsa.com", "", None),
    )
    view = ConnectPresenter(state).view()
    assert not view.found.enabled and view.found.kind == NOTHING_FOUND


def test_a_typed_tenant_is_never_shown_as_confirmed_by_halo() -> None:
    p = presenter()
    p.address_edited("acme.halopsa.com")
    p.tenant_edited("wrong-tenant")
    assert p.discovery_found(p.discovery_started(), HOSTED_HALO)
    source = p.view().found.source
    assert source != CONFIRMED and not source.startswith("Confirmed")
    assert "you typed" in source and "Test" in source
    p.tenant_edited("")  # the tenant Halo named: confirmed once found again
    assert p.discovery_found(p.discovery_started(), HOSTED_HALO)
    assert p.view().found.source == CONFIRMED


def test_the_tenant_placeholder_goes_with_an_unusable_address_or_a_failed_look_up() -> None:
    p = presenter()
    found(p, "halo.example.com", OWN_HALO)
    p.address_edited("me@example.com")
    assert p.view().found.tenant_placeholder == ""
    found(p, "halo.example.com", OWN_HALO)
    p.address_edited("halo2.example.com")
    assert p.view().found.tenant_placeholder == "none needed"  # a look-up is due
    assert p.discovery_failed(p.discovery_started(), HaloError(ErrorKind.DNS))
    assert p.view().found.tenant_placeholder == ""


def test_enter_looks_halo_up_until_it_is_found() -> None:
    p = presenter()
    assert not p.enter_means_discover()  # nothing typed
    p.address_edited("acme.halopsa.com")
    assert p.enter_means_discover()
    assert p.discovery_found(p.discovery_started(), HOSTED_HALO)
    assert not p.enter_means_discover()  # found: Enter means Next
    p.address_edited("me@example.com")
    assert not p.enter_means_discover()  # nothing to look up
