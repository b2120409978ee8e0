"""halo.templates: email templates and custom buttons against respx mocks (no real waits)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from fakes import FakeClock
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.session import client_for
from halo_paylink.halo.templates import HaloAdminClient, admin_client_for, is_not_permitted

API = "https://acme.halopsa.com/api"
TOKEN_URL = "https://acme.halopsa.com/auth/token"
ENDPOINTS = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url=API,
    tenant="acme",
    hosted=True,
)
CREDS = Credentials("client", "shh-secret-1")
TEMPLATE = {
    "id": -12,
    "name": "Invoice Email Subject",
    "header_text": "Invoice $INVOICENUMBER",
    "body_html": "<p>Hello</p>",
    "body_text": "Hello",
}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def tokens(mock: respx.MockRouter) -> respx.Route:
    body = {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600, "scope": "admin"}
    return mock.post(url__startswith=TOKEN_URL).mock(return_value=httpx.Response(200, json=body))


def admin(http: httpx.AsyncClient) -> HaloAdminClient:
    clock = FakeClock()
    main = client_for(
        http,
        ENDPOINTS,
        CREDS,
        rate_limit="unlimited",
        clock=clock,
        sleep=clock.sleep,
        rand=lambda: 0.0,
    )
    client = admin_client_for(http, main, CREDS)
    client._sleep = clock.sleep  # backoffs wait on the fake clock
    return client


@pytest.mark.anyio
async def test_token_asks_for_the_template_scope_alone(
    mock: respx.MockRouter, tokens: respx.Route
) -> None:
    mock.get(f"{API}/EmailTemplate").respond(200, json=[TEMPLATE, {"name": "no id"}])
    async with httpx.AsyncClient() as http:
        found = await admin(http).email_templates()
    assert [t.id for t in found] == [-12]
    assert found[0].is_system and found[0].subject == "Invoice $INVOICENUMBER"
    form = parse_qs(tokens.calls[0].request.content.decode())
    assert form["scope"] == [facts.TEMPLATE_SCOPE]


@pytest.mark.anyio
async def test_update_posts_a_one_item_array_with_the_id(
    mock: respx.MockRouter, tokens: respx.Route
) -> None:
    route = mock.post(f"{API}/EmailTemplate").respond(201, json=TEMPLATE)
    async with httpx.AsyncClient() as http:
        await admin(http).update_email_template(-12, {"body_text": "x"})
        with pytest.raises(ValueError):
            await admin(http).update_email_template(-12, {"id": "1"})
    assert json.loads(route.calls[0].request.content) == [{"id": -12, "body_text": "x"}]


@pytest.mark.anyio
async def test_one_template_and_malformed_answers(
    mock: respx.MockRouter, tokens: respx.Route
) -> None:
    mock.get(f"{API}/EmailTemplate/-12").respond(200, json=TEMPLATE)
    mock.get(f"{API}/EmailTemplate/5").respond(200, json={"name": "x"})
    mock.get(f"{API}/EmailTemplate").respond(200, json={"odd": 1})
    async with httpx.AsyncClient() as http:
        client = admin(http)
        assert (await client.email_template(-12)).body_html == "<p>Hello</p>"
        for call in (client.email_template(5), client.email_templates()):
            with pytest.raises(HaloError) as info:
                await call
            assert info.value.kind is ErrorKind.MALFORMED_RESPONSE


@pytest.mark.anyio
async def test_second_empty_401_is_not_permitted(
    mock: respx.MockRouter, tokens: respx.Route
) -> None:
    route = mock.get(f"{API}/EmailTemplate").respond(401, content=b"")
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await admin(http).email_templates()
    assert route.call_count == 2  # one token refresh, then the refusal stands
    assert info.value.kind is ErrorKind.UNAUTHORIZED and is_not_permitted(info.value)


@pytest.mark.anyio
async def test_403_without_the_scope_is_missing_scope(mock: respx.MockRouter) -> None:
    body = {"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": "x:y"}
    mock.post(url__startswith=TOKEN_URL).respond(200, json=body)
    mock.get(f"{API}/CustomButton").respond(403, json={"Message": "Forbidden"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await admin(http).custom_buttons()
    assert info.value.kind is ErrorKind.MISSING_SCOPE and is_not_permitted(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        {"[0].url": ["The field url must be a string with a maximum length of 500."]},
        {"ClassName": "System.Exception", "Message": "url too long"},
        "url too long",
        {"resultCode": 1, "errorMessage": "url too long"},
    ],
)
async def test_create_refusal_shows_the_message_whatever_the_shape(
    mock: respx.MockRouter, tokens: respx.Route, body: object
) -> None:
    mock.post(f"{API}/CustomButton").respond(400, json=body)
    async with httpx.AsyncClient() as http:
        with pytest.raises(HaloError) as info:
            await admin(http).create_custom_button({"name": "Benji", "url": "https://x"})
    assert info.value.kind is ErrorKind.REJECTED
    assert "url" in info.value.detail and (
        "500" in info.value.detail or "long" in info.value.detail
    )


@pytest.mark.anyio
async def test_create_is_never_repeated_after_a_server_error(
    mock: respx.MockRouter, tokens: respx.Route
) -> None:
    route = mock.post(f"{API}/CustomButton").respond(500, text="boom")
    async with httpx.AsyncClient() as http:
        client = admin(http)
        with pytest.raises(HaloError) as info:
            await client.create_custom_button({"name": "Benji", "url": "https://x"})
        assert client.max_retries == 5  # restored for the next request
    assert route.call_count == 1
    assert info.value.kind is ErrorKind.SERVER_ERROR and info.value.maybe_applied


@pytest.mark.anyio
async def test_create_read_and_delete_a_button(mock: respx.MockRouter, tokens: respx.Route) -> None:
    saved = {"id": 7, "usage": 2, "name": "Benji", "label": "Pay", "url": "https://x"}
    create = mock.post(f"{API}/CustomButton").respond(201, json=[saved])
    mock.get(f"{API}/CustomButton/7").respond(200, json=saved)
    delete = mock.delete(f"{API}/CustomButton/7").respond(200)
    async with httpx.AsyncClient() as http:
        client = admin(http)
        made = await client.create_custom_button({"usage": 2, "name": "Benji"})
        assert made is not None and made.id == 7 and made.usage == 2
        assert (await client.custom_button(7)).url == "https://x"
        await client.delete_custom_button(7)
        with pytest.raises(ValueError):
            await client.create_custom_button({"id": 3})
    assert json.loads(create.calls[0].request.content) == [{"usage": 2, "name": "Benji"}]
    assert delete.call_count == 1
