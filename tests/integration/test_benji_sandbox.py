"""The Benji sandbox over HTTP with the real client: the settings, the look-up by accounting number
(never by Halo's own number), a wrong key, the rate limit, and unknown paths."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from halo_paylink.benji.client import BenjiClient
from halo_paylink.errors import BenjiError, ErrorKind
from halo_paylink.halo.http import make_http_client
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox.benji import DEMO_BENJI_API_KEY, BenjiSandbox, BenjiSandboxConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def halo() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=40)) as sandbox:
        yield sandbox


def _benji(halo: Sandbox, **config: object) -> BenjiSandbox:
    return BenjiSandbox.for_halo(halo, BenjiSandboxConfig(**config))  # type: ignore[arg-type]


async def _no_wait(seconds: float) -> None:
    return None


def _synced(halo: Sandbox) -> dict:
    with halo.lock:
        return next(r for r in halo.invoices.values() if r.get("thirdpartyinvoicenumber"))


async def test_benji_knows_the_accounting_number_and_not_halos(halo: Sandbox) -> None:
    record = _synced(halo)
    with _benji(halo) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url)
            settings = await client.settings()
            assert settings.portal_name == "demo-msp"
            assert settings.pay_now_amount_required is True
            assert settings.disable_generic_payment_link is False
            assert await client.knows_invoice(record["thirdpartyinvoicenumber"]) is True
            assert await client.knows_invoice(str(record["id"])) is False
            assert await client.knows_invoice(record["invoicenumber"]) is False
    assert benji.lookups == [
        record["thirdpartyinvoicenumber"],
        str(record["id"]),
        record["invoicenumber"],
    ]


async def test_an_invoice_synced_later_is_known_at_once(halo: Sandbox) -> None:
    with halo.lock:
        record = next(r for r in halo.invoices.values() if not r.get("thirdpartyinvoicenumber"))
    with _benji(halo) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url)
            assert await client.knows_invoice("77777") is False
            with halo.lock:
                record["thirdpartyinvoicenumber"] = "77777"
            assert await client.knows_invoice("77777") is True


async def test_a_wrong_key_is_401(halo: Sandbox) -> None:
    with _benji(halo) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, "not-the-key-123", base_url=benji.url)
            for call in (client.settings(), client.knows_invoice("20000")):
                with pytest.raises(BenjiError) as caught:
                    await call
                assert (caught.value.kind, caught.value.status) == (ErrorKind.BENJI_BAD_KEY, 401)
                assert "not-the-key-123" not in str(caught.value)


async def test_the_rate_limit_is_waited_out_or_named(halo: Sandbox) -> None:
    with _benji(halo, rate_limit_every=2, retry_after=1) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url, sleep=_no_wait)
            for _ in range(3):
                await client.settings()
            assert client.requests == 5  # 200, 429 (waited out), 200, 429 (waited out), 200
    assert benji.stats.rate_limited == 2
    with _benji(halo, rate_limit_every=1) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url, sleep=_no_wait)
            with pytest.raises(BenjiError) as caught:
                await client.settings()
            assert caught.value.kind is ErrorKind.BENJI_RATE_LIMITED


async def test_a_wrong_base_address_and_other_methods_are_refused(halo: Sandbox) -> None:
    with _benji(halo) as benji:
        async with make_http_client() as http:
            client = BenjiClient(http, DEMO_BENJI_API_KEY, base_url=benji.url + "/api")
            with pytest.raises(BenjiError) as caught:
                await client.settings()
            assert caught.value.kind is ErrorKind.BENJI_NOT_FOUND
            headers = {"x-api-key": DEMO_BENJI_API_KEY}
            answer = await http.post(benji.url + "/settings", headers=headers)
            assert answer.status_code == 405
            answer = await http.get(benji.url + "/invoices/a/b", headers=headers)
            assert answer.status_code == 404
            assert (await http.get(benji.url + "/settings")).status_code == 401
            assert isinstance(answer, httpx.Response)
