"""Page 5: the Pay link for Halo's invoice email template, with a live preview and copy buttons.

Validation and the snippet come from `core.links` (pure). The preview is filled from the first
open invoice Halo returns (read with the Halo client, async on the GUI loop), or from a sample
number when none can be read.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from halo_paylink.core.wizard import TOOL_LABELS, PageId
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.halo import facts
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import (
    CopyField,
    FieldMessage,
    heading,
    put_on_clipboard,
    stacked,
    std_icon,
    wrap_label,
)

SAMPLE_NUMBER = "1001"

PASTE_STEPS = (
    "<ol>"
    "<li>In Halo, open <b>Configuration &gt; Email &gt; Email Templates</b>.</li>"
    "<li>Open the template <b>'Invoice Email Subject'</b> (the one Halo uses to send "
    "invoices).</li>"
    "<li>Put the cursor where the Pay link should appear in the message body and paste: the "
    "<b>HTML</b> copy gives a ready <i>Pay now</i> link in the rich-text editor, the "
    "<b>plain text</b> copy suits plain-text bodies.</li>"
    "<li>Save the template, then send yourself a test invoice and click the link.</li>"
    "</ol>"
)

PDF_WARNING = (
    "Put the link in the email body, not inside the invoice PDF: links embedded in PDFs can get "
    "emails flagged or blocked by spam filters."
)
WRONG_NUMBER_WARNING = (
    "A wrong or missing invoice number does not fail loudly: Benji Pays shows a generic payment "
    "form instead, unless 'Do not allow payment to be made if the invoice is not found' is "
    "enabled in Benji Pays. Enable it, and click one real link before sending invoices."
)
QUICKBOOKS_REMINDER = (
    "QuickBooks Online: in Benji Pays, check 'Require transaction amount to match the invoice "
    "total', so a payment made through the link always settles the whole invoice in QuickBooks."
)


def _boxed_note(text: str, icon: QStyle.StandardPixmap, parent: QWidget) -> QWidget:
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    picture = QLabel()
    picture.setPixmap(std_icon(parent, icon).pixmap(20, 20))
    picture.setFixedWidth(24)
    layout.addWidget(picture)
    label = wrap_label(text)
    layout.addWidget(label, 1)
    row.setAccessibleName(text)
    return row


class EmailLinkPage(BasePage):
    """Accounting tool, numbering, the Benji link, the generated email link and its preview."""

    page_id = PageId.EMAIL_LINK

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._handle: TaskHandle[object] | None = None
        self._sample_invoice: object | None = None  # halo.models.Invoice, once read
        self._sample_note = ""
        self._loaded_for: tuple[object, ...] | None = None

        source = QGroupBox("Where Benji Pays finds the invoice")
        form = QFormLayout(source)
        self.tool_combo = QComboBox()
        for tool in AccountingTool:
            self.tool_combo.addItem(TOOL_LABELS[tool], tool)
        self.tool_combo.setAccessibleName("Accounting tool")
        tool_label = QLabel("Accounting &tool:")
        tool_label.setBuddy(self.tool_combo)
        form.addRow(tool_label, self.tool_combo)
        numbers = QVBoxLayout()
        self.accounting_radio = QRadioButton()
        self.halo_radio = QRadioButton()
        self._numbering = QButtonGroup(self)
        self._numbering.addButton(self.accounting_radio)
        self._numbering.addButton(self.halo_radio)
        numbers.addWidget(self.accounting_radio)
        numbers.addWidget(self.halo_radio)
        self.numbering_note = wrap_label()
        numbers.addWidget(self.numbering_note)
        form.addRow("Invoice number:", numbers)
        self.body.addWidget(source)

        link_box = QGroupBox("Your Benji Pays link")
        link_form = QFormLayout(link_box)
        self.template_edit = QLineEdit()
        self.template_edit.setPlaceholderText(
            "https://www.benjipays.com/portal/…/pay/?InvoiceNumber=[Invoice No.]"
        )
        self.template_edit.setAccessibleName("Benji Pays link")
        template_label = QLabel("&Benji Pays link:")
        template_label.setBuddy(self.template_edit)
        self.template_message = FieldMessage()
        link_form.addRow(template_label, stacked(self.template_edit, self.template_message))
        link_form.addRow(
            wrap_label(
                "Copy it from Benji Pays (the pay-now link for your accounting tool). It must "
                "start with https:// and contain [Invoice No.] where the number goes."
            )
        )
        self.body.addWidget(link_box)

        result = QGroupBox("The link for Halo's invoice email")
        result_layout = QFormLayout(result)
        self.generated_field = CopyField("Link for Halo's email template", mnemonic="Cop&y link")
        result_layout.addRow("Link:", self.generated_field)
        self.preview_label = wrap_label(selectable=True)
        self.preview_label.setAccessibleName("Preview of the link for one invoice")
        self.preview_source = wrap_label()
        result_layout.addRow("Preview:", stacked(self.preview_label, self.preview_source))
        buttons = QHBoxLayout()
        self.copy_text_button = QPushButton("Copy as plain te&xt")
        self.copy_html_button = QPushButton("Copy as HT&ML (Pay now link)")
        for button in (self.copy_text_button, self.copy_html_button):
            button.setAutoDefault(False)
            button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_FileIcon))
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.copy_message = FieldMessage()
        copy_row = QWidget()
        copy_row.setLayout(buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        result_layout.addRow("", stacked(copy_row, self.copy_message))
        self.body.addWidget(result)

        self.body.addWidget(heading("Paste it into Halo"))
        self.body.addWidget(wrap_label(PASTE_STEPS, rich=True))
        self.quickbooks_note = _boxed_note(
            QUICKBOOKS_REMINDER, QStyle.StandardPixmap.SP_MessageBoxInformation, self
        )
        self.body.addWidget(self.quickbooks_note)
        self.body.addWidget(
            _boxed_note(PDF_WARNING, QStyle.StandardPixmap.SP_MessageBoxWarning, self)
        )
        self.body.addWidget(
            _boxed_note(WRONG_NUMBER_WARNING, QStyle.StandardPixmap.SP_MessageBoxWarning, self)
        )
        self.body.addStretch(1)

        self.tool_combo.currentIndexChanged.connect(self._tool_changed)
        self.accounting_radio.toggled.connect(self._numbering_changed)
        self.template_edit.textEdited.connect(self.template_edited)
        self.copy_text_button.clicked.connect(self.copy_text)
        self.copy_html_button.clicked.connect(self.copy_html)
        self.setTabOrder(self.tool_combo, self.accounting_radio)
        self.setTabOrder(self.accounting_radio, self.halo_radio)
        self.setTabOrder(self.halo_radio, self.template_edit)

    # -- input ----------------------------------------------------------------------------------
    def _tool_changed(self, index: int) -> None:
        tool = self.tool_combo.itemData(index)
        if isinstance(tool, AccountingTool):
            self.state.link.tool = tool
            self._recompute()

    def _numbering_changed(self) -> None:
        self.state.link.numbering = (
            Numbering.ACCOUNTING if self.accounting_radio.isChecked() else Numbering.HALO
        )
        self._recompute()

    def template_edited(self, text: str) -> None:
        self.state.link.template = text
        self._recompute()

    # -- derived values -------------------------------------------------------------------------
    def _recompute(self) -> None:
        from halo_paylink.core.links import (
            Severity,
            email_snippet,
            fill_link,
            invoice_number_for,
            validate_link_template,
        )

        link = self.state.link
        problems = validate_link_template(link.template) if link.template.strip() else []
        errors = [p.message for p in problems if p.severity is Severity.ERROR]
        warnings = [p.message for p in problems if p.severity is Severity.WARNING]
        link.template_error = " ".join(errors) or None
        link.template_warning = " ".join(warnings) or None
        if link.template.strip() and not errors:
            link.generated = email_snippet(link.template, link.numbering).link
            number: str | None = None
            invoice = self._sample_invoice
            if invoice is not None:
                from halo_paylink.halo.models import Invoice

                assert isinstance(invoice, Invoice)
                number = invoice_number_for(invoice, link.numbering)
            if number is not None:
                assert invoice is not None
                link.preview = fill_link(link.template, number)
                link.preview_source = f"Filled in from {self._sample_note}."
            else:
                link.preview = fill_link(link.template, SAMPLE_NUMBER)
                link.preview_source = f"Filled in with the sample number {SAMPLE_NUMBER}" + (
                    f" ({self._sample_note})." if self._sample_note else "."
                )
        else:
            link.generated = link.preview = link.preview_source = ""
        self._render()

    def snippet(self) -> tuple[str, str]:
        """(plain text, HTML) to paste into the email template; ('', '') when not ready."""
        from halo_paylink.core.links import email_snippet

        link = self.state.link
        if not link.complete:
            return "", ""
        snippet = email_snippet(link.template, link.numbering)
        return snippet.text, snippet.html

    def copy_text(self) -> None:
        text, _ = self.snippet()
        if text:
            put_on_clipboard(text)
            self.copy_message.show_ok("Plain text copied: paste it into the template's text body.")

    def copy_html(self) -> None:
        text, markup = self.snippet()
        if markup:
            put_on_clipboard(text, markup)
            self.copy_message.show_ok(
                "HTML copied (with a plain-text fallback): paste it into the rich-text editor."
            )

    # -- real invoice for the preview -----------------------------------------------------------
    def _load_sample(self) -> None:
        connect = self.state.connect
        if not connect.complete or self._handle is not None:
            return
        key = (connect.key(), self.state.application.client_id)
        if self._loaded_for == key:
            return
        self._loaded_for = key
        self._handle = self.start(
            self._first_open_invoice(),
            name="preview invoice",
            on_result=self._sample_loaded,
            on_error=self._sample_failed,
            on_finally=self._sample_ended,
        )
        self._render()

    async def _first_open_invoice(self) -> object | None:
        from halo_paylink.core.backfill.selection import closed_reason
        from halo_paylink.halo import facts

        client = self.context.halo_client()
        async for page in client.invoice_pages(filters=facts.UNPAID_INVOICE_FILTER, page_size=20):
            for invoice in page.invoices:
                if closed_reason(invoice) is None:
                    return invoice
            break  # one page is enough for a preview
        return None

    def _sample_loaded(self, invoice: object | None) -> None:
        from halo_paylink.halo.models import Invoice

        if isinstance(invoice, Invoice):
            self._sample_invoice = invoice
            who = f" for {invoice.client_name}" if invoice.client_name else ""
            self._sample_note = f"your open invoice {invoice.invoice_number}{who}"
        else:
            self._sample_note = "no open invoice was found in Halo"

    def _sample_failed(self, error: BaseException) -> None:
        self._sample_note = "your invoices could not be read for the preview"

    def _sample_ended(self) -> None:
        self._handle = None
        self._recompute()

    # -- rendering ------------------------------------------------------------------------------
    def _render(self) -> None:
        link = self.state.link
        tool = TOOL_LABELS[link.tool]
        index = self.tool_combo.findData(link.tool)
        if index != self.tool_combo.currentIndex():
            self.tool_combo.blockSignals(True)
            self.tool_combo.setCurrentIndex(index)
            self.tool_combo.blockSignals(False)
        from halo_paylink.core.links import number_variable

        self.accounting_radio.setText(
            f"&{tool}'s number ({number_variable(Numbering.ACCOUNTING)}), recommended"
        )
        self.halo_radio.setText(f"&Halo's own number ({number_variable(Numbering.HALO)})")
        self.halo_radio.setToolTip(f"Only when Halo pushes its own invoice number to {tool}.")
        advice = (
            f"Benji Pays looks invoices up in {tool}, so use {tool}'s number unless Halo is set "
            f"to push its own invoice number to {tool}."
        )
        if link.numbering is Numbering.HALO:  # the preview rests on an unverified reading
            advice += f" Note: {facts.UNVERIFIED_NOTES['invoiceid']}"
        self.numbering_note.setText(advice)
        for radio, on in (
            (self.accounting_radio, link.numbering is Numbering.ACCOUNTING),
            (self.halo_radio, link.numbering is Numbering.HALO),
        ):
            radio.blockSignals(True)
            radio.setChecked(on)
            radio.blockSignals(False)
        if self.template_edit.text() != link.template:
            self.template_edit.setText(link.template)
        if link.template_error:
            self.template_message.show_error(link.template_error)
        elif link.template_warning:
            self.template_message.show_note(link.template_warning)
        elif link.template.strip():
            self.template_message.show_ok("This link can be used.")
        else:
            self.template_message.show_error(None)
        self.generated_field.set_value(link.generated)
        if link.preview:
            self.preview_label.setText(link.preview)
        else:
            self.preview_label.setText("Paste your Benji Pays link to see the result.")
        source = link.preview_source
        if self._handle is not None:
            source = "Reading one of your open invoices for the preview…"
        self.preview_source.setText(source)
        ready = link.complete
        self.copy_text_button.setEnabled(ready)
        self.copy_html_button.setEnabled(ready)
        self.quickbooks_note.setVisible(link.tool is AccountingTool.QUICKBOOKS)
        self.changed.emit()

    def first_focus(self) -> QWidget | None:
        return self.template_edit

    def enter(self) -> None:
        if self.context.demo is not None and not self.state.link.template:
            from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE

            self.state.link.template = DEMO_BENJI_TEMPLATE
        self._recompute()
        self._load_sample()
