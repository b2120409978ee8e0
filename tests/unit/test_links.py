"""Link templates: validation, filling, email snippets."""

from __future__ import annotations

import pytest

from halo_paylink.core.links import (
    Severity,
    email_snippet,
    fill_link,
    invoice_number_for,
    link_for_invoice,
    validate_link_template,
)
from halo_paylink.domain import Numbering
from halo_paylink.halo.models import Invoice

GOOD = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=[Invoice No.]"


def codes(text: str) -> dict[str, Severity]:
    return {p.code: p.severity for p in validate_link_template(text)}


def test_good_template_has_no_problems() -> None:
    assert validate_link_template(GOOD) == []
    assert validate_link_template("https://acme.benjipays.com/pay?n=[Invoice No.]") == []


@pytest.mark.parametrize(
    ("text", "code", "severity"),
    [
        ("", "empty", Severity.ERROR),
        ("http://www.benjipays.com/pay?n=[Invoice No.]", "not_https", Severity.ERROR),
        ("https://www.benjipays.com/pay?n=123", "no_placeholder", Severity.ERROR),
        ("https://pay.example.com/?n=[Invoice No.]", "not_benji_host", Severity.WARNING),
        (
            "https://www.benjipays.com/p?n=[Invoice No.]&m=[Invoice No.]",
            "placeholder_repeated",
            Severity.WARNING,
        ),
        ("https://www.benjipays.com/p ay?n=[Invoice No.]", "whitespace", Severity.ERROR),
        ("https:///?n=[Invoice No.]", "no_host", Severity.ERROR),
        ("https://evilbenjipays.com/?n=[Invoice No.]", "not_benji_host", Severity.WARNING),
        ("https://www.benjipays.com:0[Invoice No.]", "placeholder_in_address", Severity.ERROR),
        ("https://[Invoice No.].benjipays.com/pay", "placeholder_in_address", Severity.ERROR),
    ],
)
def test_problems(text: str, code: str, severity: Severity) -> None:
    assert codes(text).get(code) is severity


def test_fill_url_encodes_the_number() -> None:
    assert fill_link(GOOD, "INV 1/2&x") == GOOD.replace("[Invoice No.]", "INV%201%2F2%26x")
    assert fill_link(" " + GOOD + "\n", "7") == GOOD.replace("[Invoice No.]", "7")


def test_number_choice_and_not_synced() -> None:
    synced = Invoice.from_json({"id": 1001, "thirdpartyinvoicenumber": " 20001 "})
    unsynced = Invoice.from_json({"id": 1002, "thirdpartyinvoicenumber": ""})
    assert invoice_number_for(synced, Numbering.ACCOUNTING) == "20001"
    assert invoice_number_for(synced, Numbering.HALO) == "1001"
    assert invoice_number_for(unsynced, Numbering.ACCOUNTING) is None
    assert link_for_invoice(GOOD, unsynced, Numbering.ACCOUNTING) is None
    assert link_for_invoice(GOOD, unsynced, Numbering.HALO) == GOOD.replace("[Invoice No.]", "1002")


def test_email_snippet_uses_the_halo_variable() -> None:
    accounting = email_snippet(GOOD, Numbering.ACCOUNTING)
    assert accounting.link == GOOD.replace("[Invoice No.]", "$THIRDPARTYINVOICENUMBER")
    assert accounting.text == f"Pay now: {accounting.link}"
    assert accounting.html == f'<a href="{accounting.link}">Pay now</a>'
    halo = email_snippet(GOOD + '&x="<>', Numbering.HALO)
    assert "$INVOICEID" in halo.link
    assert "&amp;x=&quot;&lt;&gt;" in halo.html  # attribute-escaped
