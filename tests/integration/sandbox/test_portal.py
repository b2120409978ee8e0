"""The customer-portal invoice page over real HTTP: the number, the amount due and a "Pay now"
button once the link field is set; nothing an invoice field holds can add markup or script."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.sandbox import PORTAL_LINK_FIELD, Sandbox, SandboxConfig
from halo_paylink.sandbox.seed import DRAFT, UNPAID, VOIDED

from ..sandbox_http import authorised_client

LINK = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber=20007&amount=1"
TAGS = {"html", "head", "meta", "title", "body", "h1", "span", "p", "strong", "a"}


class Page(HTMLParser):
    """What a portal page shows: its tags and attributes, the text of each element with an id,
    and the Pay button's address."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag != "meta":
            self._open.append(dict(attrs).get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data

    @property
    def pay_link(self) -> str | None:
        links = [attrs.get("href") for tag, attrs in self.tags if tag == "a"]
        assert len(links) <= 1
        return links[0] if links else None


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=60, seed=12, templates=1)) as sb:
        yield sb


def portal(box: Sandbox, invoice_id: int | str) -> httpx.Response:
    return httpx.get(f"{box.url}/portal/invoice/{invoice_id}", timeout=10)


def one_of(box: Sandbox, category: str) -> int:
    return next(i for i, c in sorted(box.categories.items()) if c == category)


def test_an_unlinked_invoice_shows_no_pay_button(box: Sandbox) -> None:
    invoice_id = one_of(box, UNPAID)
    response = httpx.get(box.portal_url(invoice_id), timeout=10)  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == "default-src 'none'"
    page = Page(response.text)
    invoice = box.invoice(invoice_id)
    assert page.texts["invoice-number"] == invoice["invoicenumber"]
    assert page.texts["amount-due"] == f"{invoice['currency']} {invoice['amountdue']:,.2f}"
    assert page.texts["no-link"] == "No payment link"
    assert page.pay_link is None
    assert box.stats.count("GET", "portal", 200) == 1


def test_a_linked_invoice_shows_pay_now(box: Sandbox) -> None:
    invoice_id = one_of(box, UNPAID)
    with authorised_client(box) as http:
        saved = http.post("/api/Invoice", json=[{"id": invoice_id, PORTAL_LINK_FIELD: LINK}])
        assert saved.status_code == 200
    page = Page(portal(box, invoice_id).text)
    assert page.pay_link == LINK
    assert "no-link" not in page.texts
    assert "Pay now" in portal(box, invoice_id).text


def test_only_the_modelled_field_makes_the_button(box: Sandbox) -> None:
    invoice_id = one_of(box, UNPAID)
    box.edit_invoice(invoice_id, xero_online_invoice_payment_url=LINK)
    assert Page(portal(box, invoice_id).text).pay_link is None


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "www.example.com/pay",
        "https://",
        "https://[::1/pay",
    ],
)
def test_a_link_that_is_no_web_address_makes_no_button(box: Sandbox, link: str) -> None:
    invoice_id = one_of(box, UNPAID)
    box.edit_invoice(invoice_id, **{PORTAL_LINK_FIELD: link})
    page = Page(portal(box, invoice_id).text)
    assert page.pay_link is None
    assert page.texts["no-link"].startswith("No payment link")


def test_what_the_portal_does_not_show(box: Sandbox) -> None:
    for hidden in (-1, one_of(box, DRAFT), one_of(box, VOIDED), 999999, "abc", "0"):
        response = portal(box, hidden)
        assert response.status_code == 404, hidden
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert httpx.post(box.portal_url(one_of(box, UNPAID)), timeout=10).status_code == 404


def test_the_portal_lives_below_the_path_prefix() -> None:
    with Sandbox(SandboxConfig(invoices=10, seed=1, path_prefix="/halo")) as box:
        invoice_id = min(box.open_invoice_ids())
        assert box.portal_url(invoice_id).endswith(f"/halo/portal/invoice/{invoice_id}")
        assert httpx.get(box.portal_url(invoice_id), timeout=10).status_code == 200


hostile = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40
) | st.sampled_from(['"><script>alert(1)</script>', "<img src=x onerror=alert(1)>", "&amp;"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=hostile, client=hostile, tail=hostile, currency=hostile)
def test_no_invoice_field_adds_markup(
    box: Sandbox, number: str, client: str, tail: str, currency: str
) -> None:
    invoice_id = one_of(box, UNPAID)
    link = "https://pay.example.com/?n=" + tail
    fields: dict[str, Any] = {
        "invoicenumber": number,
        "client_name": client,
        "currency": currency,
        PORTAL_LINK_FIELD: link,
    }
    box.edit_invoice(invoice_id, **fields)
    page = Page(portal(box, invoice_id).text)
    assert {tag for tag, _ in page.tags} <= TAGS
    attributes = {name for _, attrs in page.tags for name in attrs}
    assert attributes <= {"lang", "charset", "id", "href", "rel"}
    assert page.texts["invoice-number"] == number
    assert page.texts["client"] == client
    assert page.texts["amount-due"].startswith(currency)
    assert page.pay_link == link.strip()
