"""Page 5: the Pay link for Halo's invoice email template, with a live preview and copy buttons.

What the page shows comes from `core.presenters.email_link.EmailLinkPresenter` (validity, the
generated link, the preview, what the copy buttons offer); the page renders its view and hands
input back. The preview is filled from the first open invoice Halo returns (read here with the
Halo client, async on the GUI loop), or from a sample number when none can be read.
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

from halo_paylink.core.presenters.benji_options import email_page_note
from halo_paylink.core.presenters.email_link import ClipboardOffer, EmailLinkPresenter
from halo_paylink.core.wizard import TOOL_LABELS, PageId
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage, show_note
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
        self.presenter = EmailLinkPresenter(self.state)
        self._handle: TaskHandle[Invoice | None] | None = None

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
        template_label = QLabel("Benji Pays &link:")
        template_label.setBuddy(self.template_edit)
        self.template_message = FieldMessage()
        link_form.addRow(template_label, stacked(self.template_edit, self.template_message))
        link_form.addRow(
            wrap_label(
                "Copy it from Benji Pays (the pay-now link for your accounting tool). It must "
                "start with https:// and contain [Invoice No.] where the number goes."
            )
        )
        self.benji_note = wrap_label()  # Benji's side, when checked on the Options page
        link_form.addRow(self.benji_note)
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
            self.presenter.set_tool(tool)
            self._render()

    def _numbering_changed(self) -> None:
        self.presenter.set_numbering(
            Numbering.ACCOUNTING if self.accounting_radio.isChecked() else Numbering.HALO
        )
        self._render()

    def template_edited(self, text: str) -> None:
        self.presenter.set_template(text)
        self._render()

    def copy_text(self) -> None:
        self._copy(self.presenter.copy_text())

    def copy_html(self) -> None:
        self._copy(self.presenter.copy_html())

    def _copy(self, offer: ClipboardOffer | None) -> None:
        if offer is not None:
            put_on_clipboard(offer.text, offer.html)
            self._render()

    # -- real invoice for the preview -----------------------------------------------------------
    def _load_sample(self) -> None:
        if not self.presenter.start_sample():
            return
        self._handle = self.start(
            self._first_open_invoice(),
            name="preview invoice",
            on_result=self.presenter.sample_loaded,
            on_error=lambda error: self.presenter.sample_failed(),
            on_finally=self._sample_ended,
        )
        self._render()

    async def _first_open_invoice(self) -> Invoice | None:
        from halo_paylink.core.backfill.selection import closed_reason

        client = self.context.halo_client()
        async for page in client.invoice_pages(filters=facts.SAFE_LISTING_FILTERS, page_size=20):
            for invoice in page.invoices:
                if closed_reason(invoice) is None:
                    return invoice
            break  # one page is enough for a preview
        return None

    def _sample_ended(self) -> None:
        self._handle = None
        self.presenter.sample_ended()
        self._render()

    # -- rendering ------------------------------------------------------------------------------
    def _render(self) -> None:
        view = self.presenter.view()
        index = self.tool_combo.findData(view.tool)
        if index != self.tool_combo.currentIndex():
            self.tool_combo.blockSignals(True)
            self.tool_combo.setCurrentIndex(index)
            self.tool_combo.blockSignals(False)
        self.accounting_radio.setText(view.accounting_choice)
        self.halo_radio.setText(view.halo_choice)
        self.halo_radio.setToolTip(view.halo_choice_tip)
        self.numbering_note.setText(view.numbering_advice)
        for radio, on in (
            (self.accounting_radio, view.numbering is Numbering.ACCOUNTING),
            (self.halo_radio, view.numbering is Numbering.HALO),
        ):
            radio.blockSignals(True)
            radio.setChecked(on)
            radio.blockSignals(False)
        if self.template_edit.text() != view.template:
            self.template_edit.setText(view.template)
        show_note(self.template_message, view.template_note)
        self.generated_field.set_value(view.generated)
        self.preview_label.setText(view.preview)
        self.preview_source.setText(view.preview_source)
        self.copy_text_button.setEnabled(view.can_copy)
        self.copy_html_button.setEnabled(view.can_copy)
        self.quickbooks_note.setVisible(view.show_quickbooks_reminder)
        self.benji_note.setText(email_page_note(self.state))
        self.benji_note.setVisible(bool(self.benji_note.text()))
        show_note(self.copy_message, view.copy_note)
        self.changed.emit()

    def first_focus(self) -> QWidget | None:
        return self.template_edit

    def enter(self) -> None:
        if self.context.demo is not None and not self.state.link.template:
            from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE

            self.presenter.set_template(DEMO_BENJI_TEMPLATE)
        self.presenter.refresh()  # a profile opened meanwhile may have changed the inputs
        self._render()
        self._load_sample()
