"""The customer portal's invoice page, as far as a pilot needs it: `GET /portal/invoice/{id}`
shows a customer the invoice number, the amount due and, when the invoice's payment link field
holds a web address, a "Pay now" button that opens it ("No payment link" otherwise).

Which field Halo's portal renders as the Pay button is not known (U); the sandbox's model is
`PORTAL_LINK_FIELD`. No sign-in is needed (the portal's own is not modelled). Only posted
invoices that are not voided are shown. Every value shown comes from the invoice and is escaped,
and only an http(s) address becomes a link, so no invoice field can inject markup or script.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Mapping
from typing import Any

from halo_paylink.sandbox.http import Response
from halo_paylink.sandbox.records import finite_number
from halo_paylink.sandbox.store import InvoiceStore

#: The invoice field the portal renders as the Pay button (U: the sandbox's model).
PORTAL_LINK_FIELD = "generic_online_invoice_payment_url"

#: Sent with every portal page: nothing but the page itself may load or run.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}

NO_LINK = "No payment link"


def portal_answer(store: InvoiceStore, tail: str) -> Response:
    """The page for the invoice `tail` names (under the state lock); 404 for an id that is not a
    posted, unvoided invoice."""
    try:
        invoice_id = int(tail)
    except ValueError:
        return _page(404, "Invoice not found", "<p>There is no such invoice.</p>")
    invoice = store.stored(invoice_id)
    if (
        invoice is None
        or invoice_id <= 0
        or invoice.get("posted") is not True
        or invoice.get("voided") is True
    ):
        return _page(404, "Invoice not found", "<p>There is no such invoice.</p>")
    number = invoice.get("invoicenumber")
    shown = number if isinstance(number, str) and number else str(invoice_id)
    body = (
        f'<h1>Invoice <span id="invoice-number">{_text(shown)}</span></h1>\n'
        f'<p id="client">{_text(invoice.get("client_name") or "")}</p>\n'
        f'<p>Amount due: <strong id="amount-due">{_text(amount_due(invoice))}</strong></p>\n'
        f"{pay_button(invoice.get(PORTAL_LINK_FIELD))}"
    )
    return _page(200, f"Invoice {shown}", body)


def amount_due(invoice: Mapping[str, Any]) -> str:
    """The amount due in words, e.g. "USD 1,234.50" ("unknown" when the amounts are not
    numbers)."""
    due: object = None
    for name in ("amountdue", "amount_remaining"):
        if invoice.get(name) is not None:
            due = invoice[name]
            break
    else:
        total, paid = invoice.get("total"), invoice.get("amountpaid") or 0
        if finite_number(total) and finite_number(paid):
            due = float(total) - float(paid)
    if not finite_number(due):
        return "unknown"
    currency = invoice.get("currency")
    prefix = f"{currency} " if isinstance(currency, str) and currency else ""
    return f"{prefix}{float(due):,.2f}"


def pay_button(link: object) -> str:
    """The Pay button for the link field's value, or the words saying there is none."""
    if not isinstance(link, str) or not link.strip():
        return f'<p id="no-link">{NO_LINK}</p>\n'
    try:
        parts = urllib.parse.urlsplit(link.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urllib.parse.SplitResult("", "", "", "", "")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f'<p id="no-link">{NO_LINK} (the link field holds no web address)</p>\n'
    href = html.escape(link.strip(), quote=True)
    return f'<p><a id="pay-now" href="{href}" rel="noopener noreferrer">Pay now</a></p>\n'


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(status: int, title: str, body: str) -> Response:
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{_text(title)}</title></head>\n'
        f"<body>\n{body}</body>\n"
        "</html>\n"
    )
    return Response(status, page.encode("utf-8"), "text/html; charset=utf-8", dict(_HEADERS))
