"""The assistant's flow without Qt: page order, what completes each page, navigation rules."""

from __future__ import annotations

import json

import pytest

from halo_paylink.core.wizard import (
    PAGE_ORDER,
    ApplicationState,
    BackfillPhase,
    CheckRow,
    CheckRowState,
    DiscoveryStatus,
    PageId,
    WizardFlow,
    WizardState,
    apply_to_profile,
    benji_checklist,
    format_duration,
    load_profile,
    settings_export,
    validate_new_profile_name,
)
from halo_paylink.domain import AccountingTool, Numbering, SecretMode
from halo_paylink.halo.models import HaloEndpoints
from halo_paylink.storage.profiles import (
    LinkSettings,
    PdfOptions,
    Profile,
)

ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
    tenant="acme",
    hosted=True,
    from_authinfo=True,
)
SECRET = "very-secret-value-123"


def passed_rows() -> list[CheckRow]:
    return [CheckRow(k, k, CheckRowState.PASS) for k in ("a", "b", "c", "d", "e")]


def found(state: WizardState, address: str = "acme.halopsa.com") -> None:
    state.connect.address_edited(address, None)
    key = state.connect.discovery_started()
    assert state.connect.discovery_finished(key, ENDPOINTS)


def test_page_order_and_navigation() -> None:
    flow = WizardFlow(WizardState())
    assert PAGE_ORDER[0] is PageId.WELCOME and PAGE_ORDER[-1] is PageId.DONE
    assert flow.next_page(PageId.WELCOME) is PageId.CONNECT
    assert flow.previous_page(PageId.CONNECT) is PageId.WELCOME
    assert flow.previous_page(PageId.WELCOME) is None
    assert flow.next_page(PageId.DONE) is None and flow.is_last(PageId.DONE)
    assert not flow.can_go_back(PageId.WELCOME)
    assert flow.can_go_back(PageId.CONNECT)
    assert not flow.can_go_back(PageId.CONNECT, busy=True)


@pytest.mark.parametrize(
    ("name", "existing", "problem"),
    [
        ("", [], "Type a name"),
        ("   ", [], "Type a name"),
        ("a/b", [], "/"),
        ("acme", ["Acme"], "already exists"),
        ("x" * 65, [], "too long"),
        ("Acme IT", ["Other"], None),
    ],
)
def test_profile_names(name: str, existing: list[str], problem: str | None) -> None:
    result = validate_new_profile_name(name, existing)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


def test_welcome_completes_with_a_valid_new_name_or_a_saved_profile() -> None:
    state = WizardState()
    flow = WizardFlow(state)
    assert not flow.is_complete(PageId.WELCOME)
    assert "name" in flow.incomplete_reason(PageId.WELCOME).lower()
    state.welcome.new_name = "Acme"
    assert flow.is_complete(PageId.WELCOME) and state.welcome.profile_name == "Acme"
    state.welcome.existing = ["Zeta"]
    state.welcome.create_new = False
    state.welcome.chosen = "Nope"
    assert not flow.is_complete(PageId.WELCOME)
    state.welcome.chosen = "Zeta"
    assert state.welcome.profile_name == "Zeta"


def test_welcome_is_blocked_while_the_saved_profiles_cannot_be_read() -> None:
    state = WizardState()
    flow = WizardFlow(state)
    state.welcome.new_name = "Acme"
    state.welcome.store_problem = "Choose Start fresh first."
    assert state.welcome.profile_name is None and not flow.can_go_next(PageId.WELCOME)
    assert flow.incomplete_reason(PageId.WELCOME) == "Choose Start fresh first."
    state.welcome.create_new, state.welcome.existing = False, ["Zeta"]
    state.welcome.chosen = "Zeta"
    assert state.welcome.profile_name is None
    state.welcome.store_problem = None
    assert state.welcome.profile_name == "Zeta" and flow.can_go_next(PageId.WELCOME)


def test_connect_is_complete_only_for_the_current_input() -> None:
    state = WizardState()
    flow = WizardFlow(state)
    c = state.connect
    c.address_edited("acme.halo", None)
    assert c.status is DiscoveryStatus.WAITING and not flow.is_complete(PageId.CONNECT)
    old_key = c.discovery_started()
    c.address_edited("acme.halopsa.com", None)  # typing goes on: the old result is stale
    assert not c.discovery_finished(old_key, ENDPOINTS)
    assert c.endpoints is None
    key = c.discovery_started()
    assert c.discovery_finished(key, ENDPOINTS)
    assert flow.is_complete(PageId.CONNECT)
    c.address_edited("acme.halopsa.com", None)  # same text again keeps the result
    assert flow.is_complete(PageId.CONNECT)
    c.address_edited("me@x.com", "That looks like an email address.")
    assert not flow.is_complete(PageId.CONNECT)
    assert flow.incomplete_reason(PageId.CONNECT) == "That looks like an email address."
    assert c.status is DiscoveryStatus.IDLE
    c.address_edited("acme.halopsa.com", None)
    key = c.discovery_started()
    c.discovery_finished(key, None, "refused")
    assert c.status is DiscoveryStatus.FAILED and not flow.is_complete(PageId.CONNECT)


def test_application_needs_every_check_passed_for_the_current_credentials() -> None:
    state = WizardState()
    flow = WizardFlow(state)
    found(state)
    a = state.application
    assert not a.can_test
    a.client_id, a.secret = "client", SECRET
    assert a.can_test
    a.rows = passed_rows()
    a.tested_for = a.fingerprint(state.connect.key())
    assert flow.is_complete(PageId.APPLICATION)
    a.rows[2] = CheckRow("c", "c", CheckRowState.FAIL, fix="tick edit:invoices")
    assert not flow.is_complete(PageId.APPLICATION)
    a.rows = passed_rows()
    a.secret = SECRET + "x"  # the rows belong to another secret now
    assert not flow.is_complete(PageId.APPLICATION)
    a.credentials_edited()
    assert a.rows == [] and a.tested_for is None
    a.client_id = "has space"
    assert a.client_id_error is not None and not a.can_test


def test_the_secret_never_shows_in_repr() -> None:
    a = ApplicationState(client_id="client", secret=SECRET)
    a.tested_for = a.fingerprint(("x", "", None))
    assert SECRET not in repr(a)
    assert SECRET not in repr(WizardState(application=a))


def test_fallback_pdf_only_with_halo_pdf_and_the_checklist() -> None:
    state = WizardState()
    o = state.options
    o.set_fallback(True)
    assert not o.fallback_to_accounting_pdf and not o.fallback_enabled
    o.set_use_halo_pdf(True)
    o.set_fallback(True)
    assert o.fallback_to_accounting_pdf
    assert benji_checklist(o) == [
        ("Use Halo invoice PDF when sending invoices and receipts", True),
        ("Fallback to accounting invoice PDF", True),
        ("Add payment button", True),
    ]
    o.set_use_halo_pdf(False)
    assert not o.fallback_to_accounting_pdf
    assert WizardFlow(state).is_complete(PageId.OPTIONS)


def test_link_and_backfill_completion() -> None:
    state = WizardState()
    flow = WizardFlow(state)
    assert not flow.is_complete(PageId.EMAIL_LINK)
    state.link.template = "https://www.benjipays.com/p?n=[Invoice No.]"
    state.link.generated = "https://www.benjipays.com/p?n=$THIRDPARTYINVOICENUMBER"
    assert flow.is_complete(PageId.EMAIL_LINK)
    state.link.template_error = "must be https"
    assert not flow.is_complete(PageId.EMAIL_LINK)
    assert state.link.variable == "$THIRDPARTYINVOICENUMBER"
    state.link.numbering = Numbering.HALO
    assert state.link.variable == "$INVOICEID"

    b = state.backfill
    assert not flow.is_complete(PageId.BACKFILL)
    b.phase, b.to_change = BackfillPhase.PLANNED, 12
    assert b.can_commit and not flow.is_complete(PageId.BACKFILL)
    b.phase = BackfillPhase.RUNNING
    assert not flow.can_go_back(PageId.BACKFILL) and flow.close_needs_confirmation()
    b.phase, b.run_id, b.resumable_run_id = BackfillPhase.CANCELLED, "r1", "r1"
    assert b.can_resume and flow.can_go_back(PageId.BACKFILL)
    assert not flow.close_needs_confirmation()
    b.phase = BackfillPhase.FINISHED
    assert flow.is_complete(PageId.BACKFILL) and b.can_undo and not b.can_resume
    b.phase, b.to_change = BackfillPhase.PLANNED, 0
    assert flow.is_complete(PageId.BACKFILL)  # nothing to do is done


def test_profile_round_trip_and_export_without_secret() -> None:
    profile = Profile(
        name="Acme",
        web_url="https://acme.halopsa.com",
        tenant="acme",
        client_id="client",
        secret_mode=SecretMode.ASK,
        pdf=PdfOptions(use_halo_pdf=True, fallback_to_accounting_pdf=True),
        link=LinkSettings(
            template="https://www.benjipays.com/p?n=[Invoice No.]",
            numbering=Numbering.HALO,
            accounting_tool=AccountingTool.XERO,
        ),
    )
    state = WizardState()
    load_profile(state, profile)
    assert state.connect.address == "https://acme.halopsa.com"
    assert state.connect.status is DiscoveryStatus.WAITING
    assert state.application.client_id == "client" and not state.application.remember
    assert state.options.fallback_to_accounting_pdf
    assert state.link.tool is AccountingTool.XERO and state.link.numbering is Numbering.HALO
    state.application.secret = SECRET
    state.options.set_use_halo_pdf(False)
    saved = apply_to_profile(state, Profile(name="Acme"))
    assert saved.web_url == "https://acme.halopsa.com"
    assert saved.pdf == PdfOptions(use_halo_pdf=False, fallback_to_accounting_pdf=False)
    assert saved.link.accounting_tool is AccountingTool.XERO
    assert saved.secret_mode is SecretMode.ASK
    found(state, "https://acme.halopsa.com")
    text = settings_export(state, "Acme")
    assert SECRET not in text
    data = json.loads(text)
    assert data["halo"]["resource_server"] == "https://acme.halopsa.com/api"
    assert data["email_link"]["halo_variable"] == "$INVOICEID"
    assert data["benji_pays_options"]["Add payment button"] is True


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (-1, "—"), (0.4, "0 s"), (45, "45 s"), (200, "3 min 20 s"), (3900, "1 h 05 min")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_done_headline_names_what_was_left_alone_or_refused() -> None:
    from halo_paylink.core.backfill import Counts
    from halo_paylink.core.presenters.backfill import outcome_headline
    from halo_paylink.core.wizard import BackfillPhase, BackfillState

    state = BackfillState(phase=BackfillPhase.FINISHED, counts=Counts(seen=10, written=10))
    assert outcome_headline(state) == "Every open invoice has a Pay link."
    state.counts = Counts(seen=16, written=10, conflicts=5, failed=1)
    headline = outcome_headline(state)
    assert headline.startswith("Every open invoice has a Pay link, except ")
    assert "5 that already had a different link (left alone)" in headline
    assert "1 that Halo refused" in headline
    assert outcome_headline(BackfillState()).startswith("The assistant is set up")
