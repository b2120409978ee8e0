"""The Email template link page's logic, without widgets.

`EmailLinkPresenter` takes what the admin chooses (accounting tool, which invoice number, the
Benji Pays link) and the sample invoice read from Halo, keeps the derived values of `LinkState`
up to date (validity, the generated link, the preview and where its number came from) and answers
with an `EmailLinkView`: everything the page shows, as plain values. It also says what each copy
button puts on the clipboard. Validation and the snippet come from `core.links`.

Reading the sample invoice is I/O and stays with the page; the presenter only hears when it
starts, what it returned and when it ended. One thread (the GUI thread, or a test's).
"""

from __future__ import annotations

from dataclasses import dataclass

from halo_paylink.core.links import (
    Severity,
    email_snippet,
    fill_link,
    invoice_number_for,
    number_variable,
    validate_link_template,
)
from halo_paylink.core.presenters.field_note import FieldNote
from halo_paylink.core.presenters.freshness import Confirmation
from halo_paylink.core.wizard import TOOL_LABELS, LinkState, WizardState
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice

#: The number the preview is filled with while no real open invoice is known.
SAMPLE_NUMBER = "1001"
PREVIEW_PLACEHOLDER = "Paste your Benji Pays link to see the result."
READING_SAMPLE = "Reading one of your open invoices for the preview…"
LINK_USABLE = "This link can be used."
NO_OPEN_INVOICE = "no open invoice was found in Halo"
SAMPLE_UNREADABLE = "your invoices could not be read for the preview"
TEXT_COPIED = "Plain text copied: paste it into the template's text body."
HTML_COPIED = "HTML copied (with a plain-text fallback): paste it into the rich-text editor."

#: Which Halo, and which API application, a sample invoice was read with.
SampleKey = tuple[tuple[str, str, str | None], str]


@dataclass(frozen=True)
class ClipboardOffer:
    """What one copy button puts on the clipboard, and the line that confirms it.

    Attributes:
        text: the plain text (always set).
        html: the text/html part, or None for plain text only.
        confirmation: what the page says once it is copied.
    """

    text: str
    html: str | None
    confirmation: str


@dataclass(frozen=True)
class EmailLinkView:
    """Everything the Email template link page shows, as values.

    Attributes:
        tool: the accounting tool to select.
        numbering: the invoice number to select.
        template: the Benji Pays link as typed.
        accounting_choice: the label of the accounting tool's number (with its mnemonic).
        halo_choice: the label of Halo's own number (with its mnemonic).
        halo_choice_tip: the tool tip of Halo's own number.
        numbering_advice: the note under the two numbers.
        template_note: the line under the Benji Pays link.
        generated: the link for Halo's email template ('' while the link cannot be used).
        preview: the link filled in for one invoice, or what to do to see one.
        preview_source: where the preview's number came from (or that it is being read).
        can_copy: whether the copy buttons offer anything.
        copy_note: the confirmation of the last copy, only while the link is still the one
            copied (see `core.presenters.freshness`).
        show_quickbooks_reminder: whether the QuickBooks note applies.
    """

    tool: AccountingTool
    numbering: Numbering
    template: str
    accounting_choice: str
    halo_choice: str
    halo_choice_tip: str
    numbering_advice: str
    template_note: FieldNote
    generated: str
    preview: str
    preview_source: str
    can_copy: bool
    show_quickbooks_reminder: bool
    copy_note: FieldNote


class EmailLinkPresenter:
    """Owns the derived link state of the Email template link page (no Qt, no I/O).

    Every input method updates `state.link` at once, so `WizardFlow` and the settings export
    always see a consistent link; `view()` only reads.
    """

    def __init__(self, state: WizardState) -> None:
        self._state = state
        self._sample: Invoice | None = None
        self._sample_note = ""
        self._reading = False
        self._sample_for: SampleKey | None = None
        self._copied = Confirmation()

    @property
    def link(self) -> LinkState:
        return self._state.link

    @property
    def sample_invoice(self) -> Invoice | None:
        """The open invoice the preview is filled from, once one was read."""
        return self._sample

    @property
    def reading_sample(self) -> bool:
        return self._reading

    # -- input ----------------------------------------------------------------------------------
    def set_tool(self, tool: AccountingTool) -> None:
        self.link.tool = tool
        self.refresh()

    def set_numbering(self, numbering: Numbering) -> None:
        self.link.numbering = numbering
        self.refresh()

    def set_template(self, text: str) -> None:
        self.link.template = text
        self.refresh()

    # -- the sample invoice ---------------------------------------------------------------------
    def sample_key(self) -> SampleKey | None:
        """What a sample depends on; None while Halo has not been found."""
        connect = self._state.connect
        if not connect.complete:
            return None
        return (connect.key(), self._state.application.client_id)

    def start_sample(self) -> bool:
        """Whether to read a sample invoice now (then it counts as being read).

        No while one is being read, while Halo is not found, or when one was already read for
        the same Halo and API application.
        """
        key = self.sample_key()
        if key is None or self._reading or key == self._sample_for:
            return False
        self._sample_for = key
        self._reading = True
        return True

    def sample_loaded(self, invoice: Invoice | None) -> None:
        """The read returned: an open invoice, or None when Halo has none."""
        if invoice is not None:
            self._sample = invoice
            who = f" for {invoice.client_name}" if invoice.client_name else ""
            self._sample_note = f"your open invoice {invoice.invoice_number}{who}"
        else:
            self._sample_note = NO_OPEN_INVOICE

    def sample_failed(self) -> None:
        self._sample_note = SAMPLE_UNREADABLE

    def sample_ended(self) -> None:
        """The read is over (in any way): the preview is filled from what it found."""
        self._reading = False
        self.refresh()

    # -- derived values -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute validity, the generated link and the preview into `state.link`."""
        link = self.link
        problems = validate_link_template(link.template) if link.template.strip() else []
        errors = [p.message for p in problems if p.severity is Severity.ERROR]
        warnings = [p.message for p in problems if p.severity is Severity.WARNING]
        link.template_error = " ".join(errors) or None
        link.template_warning = " ".join(warnings) or None
        if not link.template.strip() or errors:
            link.generated = link.preview = link.preview_source = ""
            return
        link.generated = email_snippet(link.template, link.numbering).link
        invoice = self._sample
        number = invoice_number_for(invoice, link.numbering) if invoice is not None else None
        if number is not None:
            link.preview = fill_link(link.template, number)
            link.preview_source = f"Filled in from {self._sample_note}."
        else:
            link.preview = fill_link(link.template, SAMPLE_NUMBER)
            link.preview_source = f"Filled in with the sample number {SAMPLE_NUMBER}" + (
                f" ({self._sample_note})." if self._sample_note else "."
            )

    def template_note(self) -> FieldNote:
        link = self.link
        if link.template_error:
            return FieldNote.error(link.template_error)
        if link.template_warning:
            return FieldNote.note(link.template_warning)
        if link.template.strip():
            return FieldNote.ok(LINK_USABLE)
        return FieldNote()

    def view(self) -> EmailLinkView:
        link = self.link
        tool = TOOL_LABELS[link.tool]
        advice = (
            f"Benji Pays looks invoices up in {tool}, so use {tool}'s number unless Halo is set "
            f"to push its own invoice number to {tool}."
        )
        if link.numbering is Numbering.HALO:  # the preview rests on an unverified reading
            advice += f" Note: {facts.UNVERIFIED_NOTES['invoiceid']}"
        return EmailLinkView(
            tool=link.tool,
            numbering=link.numbering,
            template=link.template,
            accounting_choice=(
                f"&{tool}'s number ({number_variable(Numbering.ACCOUNTING)}), recommended"
            ),
            halo_choice=f"&Halo's own number ({number_variable(Numbering.HALO)})",
            halo_choice_tip=f"Only when Halo pushes its own invoice number to {tool}.",
            numbering_advice=advice,
            template_note=self.template_note(),
            generated=link.generated,
            preview=link.preview or PREVIEW_PLACEHOLDER,
            preview_source=READING_SAMPLE if self._reading else link.preview_source,
            can_copy=link.complete,
            show_quickbooks_reminder=link.tool is AccountingTool.QUICKBOOKS,
            copy_note=FieldNote.ok(self._copied.text_for(self._copy_inputs())),
        )

    def _copy_inputs(self) -> tuple[str, str, str] | None:
        """What a copy depends on: the link and the number in it (None while it is unusable)."""
        link = self.link
        if not link.complete:
            return None
        return (link.template, link.numbering.value, link.generated)

    # -- copy buttons ---------------------------------------------------------------------------
    def copy_text(self) -> ClipboardOffer | None:
        """The plain-text line for the template's text body; None while the link is not ready."""
        if not self.link.complete:
            return None
        snippet = email_snippet(self.link.template, self.link.numbering)
        self._copied.confirm(TEXT_COPIED, self._copy_inputs())
        return ClipboardOffer(snippet.text, None, TEXT_COPIED)

    def copy_html(self) -> ClipboardOffer | None:
        """The "Pay now" anchor (with the plain text as fallback); None while not ready."""
        if not self.link.complete:
            return None
        snippet = email_snippet(self.link.template, self.link.numbering)
        self._copied.confirm(HTML_COPIED, self._copy_inputs())
        return ClipboardOffer(snippet.text, snippet.html, HTML_COPIED)
