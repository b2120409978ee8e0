"""Pages 4, 5 and 7: PDF options and the Benji checklist, the email link and its copy buttons,
and the settings export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication

from fakes import answer_question
from halo_paylink.core.wizard import PageId
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, DEMO_CLIENT_SECRET, Sandbox


def test_pdf_options_fallback_only_with_halo_pdf_and_checklist(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.OPTIONS)
    page = demo_window.current_page
    assert demo_window.next_button.isEnabled()
    assert not page.use_pdf.isChecked()
    assert not page.fallback.isEnabled()
    page.use_pdf.click()
    assert page.fallback.isEnabled()
    page.fallback.click()
    assert page.state.options.fallback_to_accounting_pdf
    text = page.checklist.text()
    assert "Settings &gt; Integrations &gt; HaloPSA &gt; Configure" in text
    assert "<b>Fallback to accounting invoice PDF</b>: turn it <b>ON</b>" in text
    # turning the Halo PDF off turns the fallback off (Benji greys it out too)
    page.use_pdf.click()
    assert not page.fallback.isEnabled() and not page.fallback.isChecked()
    assert "<b>Fallback to accounting invoice PDF</b>: turn it <b>OFF</b>" in page.checklist.text()
    page.use_pdf.click()
    demo_window.next_button.click()  # leaving saves the profile
    store = demo_window.context.profiles
    qtbot.waitUntil(lambda: store.get("Demo").pdf.use_halo_pdf)
    assert store.get("Demo").pdf.fallback_to_accounting_pdf is False


def test_email_link_validation_generated_link_preview_and_copy(
    qtbot: Any, demo_window: Any, goto: Any
) -> None:
    goto(demo_window, PageId.EMAIL_LINK)
    page = demo_window.current_page
    assert page.template_edit.text() == DEMO_BENJI_TEMPLATE  # demo prefill
    # the preview comes from a real open invoice of the sandbox
    qtbot.waitUntil(
        lambda: "Filled in from your open invoice" in page.preview_source.text(), timeout=10000
    )
    number = page.presenter.sample_invoice.get("thirdpartyinvoicenumber")
    assert page.preview_label.text() == DEMO_BENJI_TEMPLATE.replace("[Invoice No.]", str(number))

    page.template_edit.clear()
    qtbot.keyClicks(page.template_edit, "http://www.benjipays.com/pay?n=[Invoice No.]")
    assert "https://" in page.template_message.text()
    assert not demo_window.next_button.isEnabled()
    assert not page.copy_text_button.isEnabled()
    page.template_edit.clear()
    qtbot.keyClicks(page.template_edit, "https://www.benjipays.com/pay?n=1234")
    assert "[Invoice No.]" in page.template_message.text()
    assert not demo_window.next_button.isEnabled()

    page.template_edit.clear()
    qtbot.keyClicks(
        page.template_edit, "https://acme.benjipays.com/pay/?InvoiceNumber=[Invoice No.]"
    )
    assert demo_window.next_button.isEnabled()
    expected_link = "https://acme.benjipays.com/pay/?InvoiceNumber=$THIRDPARTYINVOICENUMBER"
    assert page.generated_field.value() == expected_link
    page.halo_radio.click()
    assert page.generated_field.value().endswith("InvoiceNumber=$INVOICEID")
    assert "$INVOICEID is taken to be" in page.numbering_note.text()  # rests on a U fact
    page.accounting_radio.click()
    assert "$INVOICEID is taken to be" not in page.numbering_note.text()

    clipboard = QGuiApplication.clipboard()
    page.generated_field.button.click()
    assert clipboard.text() == expected_link
    page.copy_text_button.click()
    assert clipboard.text() == f"Pay now: {expected_link}"
    page.copy_html_button.click()
    mime = clipboard.mimeData()
    assert mime.hasHtml() and mime.hasText()
    assert mime.text() == f"Pay now: {expected_link}"
    assert f'<a href="{expected_link}">Pay now</a>' in mime.html()

    # QuickBooks reminder only for QuickBooks
    assert page.quickbooks_note.isVisibleTo(page)
    page.tool_combo.setCurrentIndex(page.tool_combo.findData(AccountingTool.XERO))
    assert not page.quickbooks_note.isVisibleTo(page)
    assert "Xero" in page.accounting_radio.text()
    demo_window.next_button.click()
    store = demo_window.context.profiles
    qtbot.waitUntil(lambda: store.get("Demo").link.accounting_tool is AccountingTool.XERO)
    saved = store.get("Demo").link
    assert saved.numbering is Numbering.ACCOUNTING
    assert saved.template == "https://acme.benjipays.com/pay/?InvoiceNumber=[Invoice No.]"


def test_done_page_exports_settings_without_the_secret(
    qtbot: Any,
    make_window: Any,
    make_context: Any,
    demo: Any,
    goto: Any,
    tmp_path: Path,
    sandbox: Sandbox,
    confirm_pilot: Any,
) -> None:
    confirm_pilot(sandbox)
    window = make_window(make_context(demo=demo))
    goto(window, PageId.BACKFILL)
    backfill = window.current_page
    backfill.start_plan()
    qtbot.waitUntil(backfill.commit_button.isEnabled, timeout=15000)
    backfill.start_run()
    answer_question(backfill, "confirmJob", accept=True)
    qtbot.waitUntil(window.next_button.isEnabled, timeout=30000)
    window.next_button.click()
    page = window.current_page
    assert window.current_id is PageId.DONE
    assert window.next_button.text() == "&Finish"
    assert "Every open invoice has a Pay link" in page.summary.text()
    target = tmp_path / "export.json"
    page.ask_export_path = lambda: str(target)
    page.export_button.click()
    qtbot.waitUntil(target.exists, timeout=5000)
    text = target.read_text()
    assert DEMO_CLIENT_SECRET not in text
    data = json.loads(text)
    assert data["profile"] == "Demo"
    assert data["api_application"]["client_id"] == "demo-client"
    assert data["halo"]["resource_server"] == sandbox_resource(demo)
    assert data["email_link"]["halo_variable"] == "$THIRDPARTYINVOICENUMBER"
    assert data["backfill"]["phase"] == "finished"
    qtbot.waitUntil(lambda: "exported" in page.export_message.text())
    with qtbot.waitSignal(window.closed, timeout=5000):
        window.next_button.click()  # Finish closes the window


def sandbox_resource(demo: Any) -> str:
    return f"{demo.url}/api"
