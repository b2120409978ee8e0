"""benji.client: the settings read defensively, the invoice look-up, and a named outcome for every
way Benji Pays' API fails (respx; no network). The API key never leaves the header."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.benji import facts
from halo_paylink.benji.client import (
    MAX_RESPONSE_BYTES,
    RATE_LIMIT_RETRIES,
    BenjiClient,
    parse_settings,
)
from halo_paylink.errors import BenjiError, ErrorKind, HaloError, explain
from halo_paylink.redact import redact

BASE = "https://api.benjipays.test/v2"
KEY = "bk_live_0123456789abcdef"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


pytestmark = pytest.mark.anyio


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _client(http: httpx.AsyncClient, sleeps: Sleeps | None = None) -> BenjiClient:
    return BenjiClient(http, KEY, base_url=BASE, sleep=sleeps or Sleeps(), clock=lambda: 0.0)


SETTINGS = {
    "portalName": "acme-msp",
    "portalUrl": "https://www.benjipays.com/portal/acme-msp",
    "customDomain": None,
    "payNowAmountRequired": True,
    "disableGenericPaymentLink": False,
}


@respx.mock
async def test_settings_are_read_with_the_key_in_the_header(http: httpx.AsyncClient) -> None:
    route = respx.get(f"{BASE}/settings").respond(200, json=SETTINGS)
    settings = await _client(http).settings()
    assert settings.portal_name == "acme-msp"
    assert settings.pay_now_amount_required is True
    assert settings.disable_generic_payment_link is False
    assert settings.custom_domain is None
    assert settings.unread == ("customDomain",)
    request = route.calls.last.request
    assert request.headers[facts.API_KEY_HEADER] == KEY
    assert KEY not in str(request.url)


@respx.mock
async def test_settings_in_an_envelope_and_odd_spellings_are_read(http: httpx.AsyncClient) -> None:
    body = {"data": {"customerPortalName": " acme ", "payNowAmountRequired": "yes"}}
    respx.get(f"{BASE}/settings").respond(200, json=body)
    settings = await _client(http).settings()
    assert settings.portal_name == "acme"
    assert settings.pay_now_amount_required is True
    assert settings.disable_generic_payment_link is None
    assert "disableGenericPaymentLink" in settings.unread


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ErrorKind.BENJI_BAD_KEY),
        (403, ErrorKind.BENJI_BAD_KEY),
        (404, ErrorKind.BENJI_NOT_FOUND),
        (500, ErrorKind.BENJI_SERVER_ERROR),
        (503, ErrorKind.BENJI_SERVER_ERROR),
        (302, ErrorKind.BENJI_MALFORMED),
    ],
)
@respx.mock
async def test_each_status_has_a_named_outcome(
    http: httpx.AsyncClient, status: int, kind: ErrorKind
) -> None:
    respx.get(f"{BASE}/settings").respond(status, json={"message": f"no {KEY} here"})
    with pytest.raises(BenjiError) as caught:
        await _client(http).settings()
    assert caught.value.kind is kind
    assert caught.value.status == status
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert explain(caught.value).headline.endswith(".")


@respx.mock
async def test_an_unknown_invoice_is_a_404_answer_not_an_error(http: httpx.AsyncClient) -> None:
    respx.get(f"{BASE}/invoices/20001").respond(200, json={"invoiceNumber": "20001"})
    respx.get(f"{BASE}/invoices/1001").respond(404, json={"message": "Invoice not found"})
    client = _client(http)
    assert await client.knows_invoice("20001") is True
    assert await client.knows_invoice("1001") is False
    assert client.requests == 2


@respx.mock
async def test_the_number_is_one_path_segment(http: httpx.AsyncClient) -> None:
    route = respx.get(url__regex=rf"{BASE}/invoices/.*").respond(404)
    assert await _client(http).knows_invoice("INV/7 ?x") is False
    assert route.calls.last.request.url.raw_path.decode() == "/v2/invoices/INV%2F7%20%3Fx"
    with pytest.raises(ValueError, match="empty"):
        await _client(http).knows_invoice("  ")


@respx.mock
async def test_a_429_is_waited_out_then_the_answer_counts(http: httpx.AsyncClient) -> None:
    respx.get(f"{BASE}/invoices/20001").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    sleeps = Sleeps()
    assert await _client(http, sleeps).knows_invoice("20001") is True
    assert sleeps.waits == [3.0, 4.0]


@respx.mock
async def test_a_lasting_429_is_rate_limited(http: httpx.AsyncClient) -> None:
    route = respx.get(f"{BASE}/invoices/20001").respond(429, headers={"Retry-After": "1"})
    with pytest.raises(BenjiError) as caught:
        await _client(http).knows_invoice("20001")
    assert caught.value.kind is ErrorKind.BENJI_RATE_LIMITED
    assert route.call_count == RATE_LIMIT_RETRIES + 1


@respx.mock
async def test_a_long_retry_after_ends_the_check_at_once(http: httpx.AsyncClient) -> None:
    route = respx.get(f"{BASE}/settings").respond(429, headers={"Retry-After": "600"})
    with pytest.raises(BenjiError) as caught:
        await _client(http).settings()
    assert caught.value.kind is ErrorKind.BENJI_RATE_LIMITED
    assert caught.value.retry_after == 600
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ReadTimeout("slow"), ErrorKind.BENJI_TIMEOUT),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.BENJI_NETWORK),
        (httpx.ConnectError("Name or service not known"), ErrorKind.BENJI_NETWORK),
    ],
)
@respx.mock
async def test_transport_failures_are_named(
    http: httpx.AsyncClient, failure: Exception, kind: ErrorKind
) -> None:
    respx.get(f"{BASE}/settings").mock(side_effect=failure)
    with pytest.raises(BenjiError) as caught:
        await _client(http).settings()
    assert caught.value.kind is kind


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="{not json"),
        httpx.Response(200, html="<html><title>Sign in</title></html>"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, content=b"x" * (MAX_RESPONSE_BYTES + 1)),
    ],
    ids=["broken", "html", "list", "huge"],
)
@respx.mock
async def test_unreadable_answers_are_malformed(
    http: httpx.AsyncClient, response: httpx.Response
) -> None:
    respx.get(f"{BASE}/settings").mock(return_value=response)
    respx.get(f"{BASE}/invoices/1").mock(return_value=response)
    for call in (_client(http).settings(), _client(http).knows_invoice("1")):
        with pytest.raises(BenjiError) as caught:
            await call
        assert caught.value.kind is ErrorKind.BENJI_MALFORMED


async def test_the_key_stays_secret_and_http_is_only_for_this_computer(
    http: httpx.AsyncClient,
) -> None:
    client = _client(http)
    assert KEY not in repr(client)
    assert redact(f"sent {KEY}") == "sent [REDACTED]"
    assert redact("x-api-key: abcdefgh1234") == "x-api-key: [REDACTED]"
    BenjiClient(http, "k" * 10, base_url="http://127.0.0.1:9/v2")
    with pytest.raises(BenjiError) as caught:
        BenjiClient(http, "k" * 10, base_url="http://api.benjipays.com/v2")
    assert caught.value.kind is ErrorKind.BENJI_BAD_ADDRESS
    with pytest.raises(ValueError, match="empty"):
        BenjiClient(http, "  ")


def test_a_benji_kind_is_never_a_halo_error() -> None:
    with pytest.raises(ValueError, match="BenjiError"):
        HaloError(ErrorKind.BENJI_BAD_KEY)
    with pytest.raises(ValueError, match="not a Benji"):
        BenjiError(ErrorKind.FORBIDDEN)
    said = BenjiError(ErrorKind.BENJI_BAD_KEY, "Invalid key", status=401)
    assert explain(said).detail == "Benji said: Invalid key"
    assert "(HTTP 401)" in str(said)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_field_names = st.sampled_from(
    [
        *facts.PORTAL_NAME_FIELDS,
        *facts.CUSTOM_DOMAIN_FIELDS,
        *facts.PAY_NOW_AMOUNT_REQUIRED_FIELDS,
        *facts.DISABLE_GENERIC_LINK_FIELDS,
        *facts.ENVELOPE_FIELDS,
    ]
)


@given(st.dictionaries(_field_names | st.text(max_size=8), _json, max_size=8))
def test_any_settings_object_is_read_without_a_crash(body: dict[str, Any]) -> None:
    settings = parse_settings(json.loads(json.dumps(body)))
    for value in (settings.portal_name, settings.portal_url, settings.custom_domain):
        assert value is None or (value == value.strip() and value)
    for flag in (settings.pay_now_amount_required, settings.disable_generic_payment_link):
        assert flag in (None, True, False)
    assert len(settings.unread) == sum(
        v is None
        for v in (
            settings.portal_name,
            settings.portal_url,
            settings.custom_domain,
            settings.pay_now_amount_required,
            settings.disable_generic_payment_link,
        )
    )


@given(_json.filter(lambda v: not isinstance(v, dict)))
def test_anything_but_an_object_is_malformed(body: Any) -> None:
    with pytest.raises(BenjiError) as caught:
        parse_settings(body)
    assert caught.value.kind is ErrorKind.BENJI_MALFORMED


@given(st.sampled_from([2, -1, 1.0, "maybe", "", [], {}, None]))
def test_a_flag_that_is_not_a_yes_or_no_is_unknown(value: Any) -> None:
    settings = parse_settings({"payNowAmountRequired": value})
    assert settings.pay_now_amount_required is None
