"""The Email template link page's presenter without Qt: link state, preview, copy offers."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.links import (
    Severity,
    email_snippet,
    fill_link,
    template_errors,
    validate_link_template,
)
from halo_paylink.core.presenters.email_link import (
    HTML_COPIED,
    LINK_USABLE,
    PREVIEW_PLACEHOLDER,
    READING_SAMPLE,
    SAMPLE_NUMBER,
    TEXT_COPIED,
    EmailLinkPresenter,
)
from halo_paylink.core.presenters.field_note import FieldNote, NoteKind
from halo_paylink.core.wizard import PageId, WizardFlow, WizardState
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import HaloEndpoints, Invoice

PLACEHOLDER = facts.BENJI_PLACEHOLDER
GOOD = "https://acme.benjipays.com/pay/?InvoiceNumber=[Invoice No.]"
GENERATED = "https://acme.benjipays.com/pay/?InvoiceNumber=$THIRDPARTYINVOICENUMBER"
ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url="https://acme.halopsa.com/api",
    tenant="acme",
    hosted=True,
)


def presenter(template: str = "") -> tuple[WizardState, EmailLinkPresenter]:
    state = WizardState()
    p = EmailLinkPresenter(state)
    p.set_template(template)
    return state, p


def halo_found(state: WizardState) -> None:
    state.connect.address_edited("acme.halopsa.com", None)
    key = state.connect.discovery_started()
    assert state.connect.discovery_finished(key, ENDPOINTS)
    state.application.client_id = "client-1"


def invoice(number: str | None = "INV-77", client: str = "Acme Ltd") -> Invoice:
    raw: dict[str, object] = {"id": 12, "invoicenumber": "H-12", "client_name": client}
    if number is not None:
        raw["thirdpartyinvoicenumber"] = number
    return Invoice.from_json(raw)


# -- fixed examples: the exact words the page shows -------------------------------------------
def test_a_usable_link_gives_the_generated_link_a_sample_preview_and_copy_offers() -> None:
    state, p = presenter(GOOD)
    view = p.view()
    assert view.template_note == FieldNote(NoteKind.OK, LINK_USABLE)
    assert view.generated == GENERATED == state.link.generated
    assert view.preview == GOOD.replace(PLACEHOLDER, SAMPLE_NUMBER)
    assert view.preview_source == f"Filled in with the sample number {SAMPLE_NUMBER}."
    assert view.can_copy and WizardFlow(state).is_complete(PageId.EMAIL_LINK)
    text = p.copy_text()
    assert text is not None
    assert (text.text, text.html, text.confirmation) == (f"Pay now: {GENERATED}", None, TEXT_COPIED)
    rich = p.copy_html()
    assert rich is not None
    assert rich.text == f"Pay now: {GENERATED}"
    assert rich.html == f'<a href="{GENERATED}">Pay now</a>'
    assert rich.confirmation == HTML_COPIED


def test_an_empty_link_says_nothing_and_offers_nothing() -> None:
    state, p = presenter("   ")
    view = p.view()
    assert view.template_note == FieldNote() and not view.template_note.shown
    assert view.generated == "" and view.preview == PREVIEW_PLACEHOLDER
    assert view.preview_source == ""
    assert not view.can_copy
    assert p.copy_text() is None and p.copy_html() is None
    assert state.link.template_error is None


def test_an_unusable_link_is_a_problem_and_a_doubtful_one_a_note() -> None:
    _, p = presenter("http://www.benjipays.com/pay?n=[Invoice No.]")
    view = p.view()
    assert view.template_note.kind is NoteKind.ERROR
    assert "https://" in view.template_note.text
    assert not view.can_copy and view.generated == ""
    p.set_template("https://www.benjipays.com/pay?n=1234")
    assert "[Invoice No.]" in p.view().template_note.text
    p.set_template("https://pay.example.com/?n=[Invoice No.]")
    view = p.view()
    assert view.template_note.kind is NoteKind.NOTE
    assert "pay.example.com is not a Benji Pays address" in view.template_note.text
    assert view.can_copy  # a warning does not block


def test_numbering_and_tool_change_the_variable_labels_and_advice() -> None:
    state, p = presenter(GOOD)
    view = p.view()
    assert (
        view.accounting_choice
        == "&QuickBooks Online's number ($THIRDPARTYINVOICENUMBER), recommended"
    )
    assert view.halo_choice == "&Halo's own number ($INVOICEID)"
    assert (
        view.halo_choice_tip == "Only when Halo pushes its own invoice number to QuickBooks Online."
    )
    advice = (
        "Benji Pays looks invoices up in QuickBooks Online, so use QuickBooks Online's number "
        "unless Halo is set to push its own invoice number to QuickBooks Online."
    )
    assert view.numbering_advice == advice
    assert view.show_quickbooks_reminder
    p.set_numbering(Numbering.HALO)
    view = p.view()
    assert view.generated.endswith("InvoiceNumber=$INVOICEID")
    assert view.numbering_advice == f"{advice} Note: {facts.UNVERIFIED_NOTES['invoiceid']}"
    assert state.link.numbering is Numbering.HALO
    p.set_tool(AccountingTool.XERO)
    view = p.view()
    assert view.tool is AccountingTool.XERO and "Xero" in view.accounting_choice
    assert not view.show_quickbooks_reminder
    copied = p.copy_text()
    assert copied is not None and copied.text.endswith("=$INVOICEID")


# -- the sample invoice ------------------------------------------------------------------------
def test_a_sample_is_read_once_per_halo_and_application() -> None:
    state, p = presenter(GOOD)
    assert p.sample_key() is None and not p.start_sample()  # Halo not found yet
    halo_found(state)
    assert p.start_sample()
    assert p.reading_sample and p.view().preview_source == READING_SAMPLE
    assert not p.start_sample()  # one at a time
    p.sample_loaded(invoice())
    p.sample_ended()
    assert not p.reading_sample
    assert not p.start_sample()  # already read for this Halo and application
    state.application.client_id = "client-2"
    assert p.start_sample()


def test_the_preview_is_filled_from_the_sample_invoice() -> None:
    state, p = presenter(GOOD)
    halo_found(state)
    assert p.start_sample()
    p.sample_loaded(invoice("INV 77/A"))
    p.sample_ended()
    view = p.view()
    assert view.preview == fill_link(GOOD, "INV 77/A")
    assert view.preview.endswith("InvoiceNumber=INV%2077%2FA")
    assert view.preview_source == "Filled in from your open invoice H-12 for Acme Ltd."
    assert p.sample_invoice is not None and p.sample_invoice.id == 12
    p.set_numbering(Numbering.HALO)  # Halo's own number: the invoice id
    assert p.view().preview == fill_link(GOOD, "12")


def test_without_a_usable_sample_the_preview_says_why_it_uses_the_sample_number() -> None:
    sample = f"Filled in with the sample number {SAMPLE_NUMBER}"
    cases = [
        (lambda p: p.sample_loaded(invoice(None, client="")), " (your open invoice H-12)."),
        (lambda p: p.sample_loaded(None), " (no open invoice was found in Halo)."),
        (lambda p: p.sample_failed(), " (your invoices could not be read for the preview)."),
    ]
    for outcome, reason in cases:
        state, p = presenter(GOOD)
        halo_found(state)
        assert p.start_sample()
        outcome(p)
        p.sample_ended()
        view = p.view()
        assert view.preview == fill_link(GOOD, SAMPLE_NUMBER)
        assert view.preview_source == sample + reason


# -- whatever is pasted ------------------------------------------------------------------------
templates = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, tail, extra: scheme + host + tail + extra,
        st.sampled_from(["https://", "http://", "", "HTTPS://", "ftp://"]),
        st.sampled_from(["acme.benjipays.com", "www.benjipays.com", "pay.example.com", "", "a@b"]),
        st.sampled_from(["/pay/?n=" + PLACEHOLDER, "/p?x=" + PLACEHOLDER * 2, "/pay/?n=1", ""]),
        st.text(max_size=12),
    ),
)


@given(
    template=templates,
    numbering=st.sampled_from(Numbering),
    tool=st.sampled_from(AccountingTool),
)
def test_any_pasted_link_gives_a_consistent_view(
    template: str, numbering: Numbering, tool: AccountingTool
) -> None:
    state, p = presenter()
    p.set_numbering(numbering)
    p.set_tool(tool)
    p.set_template(template)
    view = p.view()
    problems = validate_link_template(template) if template.strip() else []
    errors = [x.message for x in problems if x.severity is Severity.ERROR]
    warnings = [x.message for x in problems if x.severity is Severity.WARNING]
    usable = bool(template.strip()) and not template_errors(template)

    assert view.template == template
    assert view.can_copy is usable
    assert WizardFlow(state).is_complete(PageId.EMAIL_LINK) is usable
    if not template.strip():
        assert view.template_note == FieldNote()
    elif errors:
        assert view.template_note == FieldNote(NoteKind.ERROR, " ".join(errors))
    elif warnings:
        assert view.template_note == FieldNote(NoteKind.NOTE, " ".join(warnings))
    else:
        assert view.template_note == FieldNote(NoteKind.OK, LINK_USABLE)
    if usable:
        snippet = email_snippet(template, numbering)
        assert view.generated == snippet.link and PLACEHOLDER not in view.generated
        assert view.preview == fill_link(template, SAMPLE_NUMBER)
        text, rich = p.copy_text(), p.copy_html()
        assert text is not None and text.text == f"Pay now: {snippet.link}"
        assert rich is not None
        assert rich.html == f'<a href="{html.escape(snippet.link, quote=True)}">Pay now</a>'
    else:
        assert view.generated == "" and view.preview == PREVIEW_PLACEHOLDER
        assert p.copy_text() is None and p.copy_html() is None


def test_a_copy_confirmation_holds_only_for_the_link_that_was_copied() -> None:
    _, p = presenter(GOOD)
    assert not p.view().copy_note.shown
    p.copy_html()
    assert p.view().copy_note == FieldNote.ok(HTML_COPIED)
    p.copy_text()
    assert p.view().copy_note == FieldNote.ok(TEXT_COPIED)
    # another link: the confirmation was for the old one
    p.set_template(GOOD.replace("acme", "beta"))
    assert not p.view().copy_note.shown
    # back to the copied link: still not confirmed (what is on the clipboard may differ now)
    p.set_template(GOOD)
    assert not p.view().copy_note.shown


def test_a_copy_confirmation_goes_when_the_link_becomes_unusable_or_the_number_changes() -> None:
    _, p = presenter(GOOD)
    p.copy_html()
    p.set_template(GOOD.replace("https://", "http://"))
    assert not p.view().copy_note.shown
    p.set_template(GOOD)
    p.copy_text()
    p.set_numbering(Numbering.HALO)
    assert not p.view().copy_note.shown
