"""halo.discovery: every way an admin may paste a Halo address, and authinfo-driven discovery."""

from __future__ import annotations

import httpx
import pytest
import respx

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.discovery import ParsedAddress, discover, parse_address
from halo_paylink.halo.http import RequestStats

HOSTED = ParsedAddress("https://acme.halopsa.com", True, "acme")
ITSM = ParsedAddress("https://acme.haloitsm.com", True, "acme")
SELF = ParsedAddress("https://halo.example.com", False, None)
SELF_PATH = ParsedAddress("https://example.com/halo", False, None)

PARSE_CASES: list[tuple[str, ParsedAddress]] = [
    ("acme.halopsa.com", HOSTED),
    ("https://acme.halopsa.com", HOSTED),
    ("https://acme.halopsa.com/", HOSTED),
    ("https://acme.halopsa.com///", HOSTED),
    ("https://acme.halopsa.com/api", HOSTED),
    ("https://acme.halopsa.com/api/", HOSTED),
    ("https://acme.halopsa.com/auth", HOSTED),
    ("https://acme.halopsa.com/auth/token?tenant=acme", HOSTED),
    ("https://acme.halopsa.com/api/authinfo", HOSTED),
    ("HTTPS://ACME.HaloPSA.com/API", HOSTED),
    ("  https://acme.halopsa.com  ", HOSTED),
    ("\t'https://acme.halopsa.com/api'\n", HOSTED),
    ('"acme.halopsa.com/api"', HOSTED),
    ("“https://acme.halopsa.com”", HOSTED),
    ("<https://acme.halopsa.com/>", HOSTED),
    ("https://acme.halopsa.com.", HOSTED),
    ("//acme.halopsa.com", HOSTED),
    ("https://acme.halopsa.com/ticket?id=42#top", HOSTED),  # a page: hosted never has a prefix
    ("https://acme.halopsa.com:443/api", HOSTED),
    ("acme.haloitsm.com/auth/", ITSM),
    ("https://halo.example.com", SELF),
    ("halo.example.com/api", SELF),
    ("https://halo.example.com/auth/", SELF),
    ("https://example.com/halo/api", SELF_PATH),
    ("https://example.com/halo/api/", SELF_PATH),
    ("https://example.com/halo/auth", SELF_PATH),
    ("example.com/halo/api/authinfo?x=1", SELF_PATH),
    ("https://example.com/halo/API/Invoice/5", SELF_PATH),
    (
        "https://halo.example.com:8443/api",
        ParsedAddress("https://halo.example.com:8443", False, None),
    ),
    ("http://127.0.0.1:51234/api", ParsedAddress("http://127.0.0.1:51234", False, None)),
    ("http://localhost:8080/", ParsedAddress("http://localhost:8080", False, None)),
    ("http://[::1]:9000/auth", ParsedAddress("http://[::1]:9000", False, None)),
    ("https://10.1.2.3/api", ParsedAddress("https://10.1.2.3", False, None)),
    ("https://halo/api", ParsedAddress("https://halo", False, None)),  # intranet name, explicit
    (
        "https://halo.example.com/tickets",
        ParsedAddress("https://halo.example.com/tickets", False, None, path_certain=False),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_address(text: str, expected: ParsedAddress) -> None:
    assert parse_address(text) == expected


def test_there_are_enough_cases() -> None:
    assert len(PARSE_CASES) >= 25


BAD_CASES: list[tuple[str, ErrorKind, str]] = [
    ("", ErrorKind.BAD_ADDRESS, "empty"),
    ("   ", ErrorKind.BAD_ADDRESS, "empty"),
    ('""', ErrorKind.BAD_ADDRESS, "empty"),
    ("acme halopsa.com", ErrorKind.BAD_ADDRESS, "spaces"),
    ("https://acme.halopsa.com/my api", ErrorKind.BAD_ADDRESS, "spaces"),
    ("admin@acme.com", ErrorKind.BAD_ADDRESS, "email"),
    ("mailto:admin@acme.com", ErrorKind.BAD_ADDRESS, "email"),
    ("http://acme.halopsa.com", ErrorKind.INSECURE_ADDRESS, "https"),
    ("http://halo.example.com/api", ErrorKind.INSECURE_ADDRESS, "https"),
    ("ftp://acme.halopsa.com", ErrorKind.BAD_ADDRESS, "ftp"),
    ("file:///etc/passwd", ErrorKind.BAD_ADDRESS, "file"),
    ("javascript:alert(1)", ErrorKind.BAD_ADDRESS, "javascript"),
    ("https//acme.halopsa.com", ErrorKind.BAD_ADDRESS, "incomplete"),
    ("https:acme.halopsa.com", ErrorKind.BAD_ADDRESS, "incomplete"),
    ("https://", ErrorKind.BAD_ADDRESS, "no host"),
    ("https:///api", ErrorKind.BAD_ADDRESS, "no host"),
    ("https://user:pw@acme.halopsa.com", ErrorKind.BAD_ADDRESS, "password"),
    ("https://acme.halopsa.com:99999", ErrorKind.BAD_ADDRESS, "port"),
    ("https://acme.halopsa.com:abc", ErrorKind.BAD_ADDRESS, "port"),
    ("https://bad_host!.com", ErrorKind.BAD_ADDRESS, "host name"),
    ("acme", ErrorKind.BAD_ADDRESS, "acme.halopsa.com"),
    ("halopsa.com", ErrorKind.BAD_ADDRESS, "own website"),
    ("https://www.haloitsm.com/", ErrorKind.BAD_ADDRESS, "own website"),
    ("not a url", ErrorKind.BAD_ADDRESS, "spaces"),
]


@pytest.mark.parametrize(("text", "kind", "says"), BAD_CASES)
def test_parse_address_explains_what_is_wrong(text: str, kind: ErrorKind, says: str) -> None:
    with pytest.raises(HaloError) as info:
        parse_address(text)
    assert info.value.kind is kind
    assert says.lower() in info.value.detail.lower()


# --- discover ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_hosted_authinfo_gives_auth_url_and_tenant() -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get("https://acme.halopsa.com/api/authinfo").respond(
            200, json={"auth_url": "https://acme.halopsa.com/auth/", "tenant_id": "acme-t"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, " https://acme.halopsa.com/api/ ")
    assert endpoints.web_url == "https://acme.halopsa.com"
    assert endpoints.auth_url == "https://acme.halopsa.com/auth"
    assert endpoints.resource_url == "https://acme.halopsa.com/api"
    assert endpoints.tenant == "acme-t"
    assert endpoints.hosted is True
    assert endpoints.from_authinfo is True
    assert endpoints.token_url == "https://acme.halopsa.com/auth/token?tenant=acme-t"


@pytest.mark.anyio
async def test_explicit_tenant_overrides_authinfo() -> None:
    with respx.mock as mock:
        mock.get("https://acme.halopsa.com/api/authinfo").respond(
            200, json={"auth_url": "https://acme.halopsa.com/auth", "tenant_id": "acme-t"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "acme.halopsa.com", tenant=" other ")
    assert endpoints.tenant == "other"


@pytest.mark.anyio
async def test_authinfo_404_falls_back_to_derived_urls_and_host_tenant() -> None:
    with respx.mock as mock:
        mock.get("https://acme.halopsa.com/api/authinfo").respond(404)
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "acme.halopsa.com/auth")
    assert endpoints.auth_url == "https://acme.halopsa.com/auth"
    assert endpoints.resource_url == "https://acme.halopsa.com/api"
    assert endpoints.tenant == "acme"
    assert endpoints.hosted is True
    assert endpoints.from_authinfo is False


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"no_auth_url": True}),
        httpx.Response(500, text="oops"),
    ],
)
async def test_authinfo_not_like_halo_falls_back(response: httpx.Response) -> None:
    with respx.mock as mock:
        mock.get("https://halo.example.com/api/authinfo").mock(return_value=response)
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "https://halo.example.com/api")
    assert endpoints.auth_url == "https://halo.example.com/auth"
    assert endpoints.tenant is None
    assert endpoints.hosted is False
    assert endpoints.from_authinfo is False


@pytest.mark.anyio
async def test_self_hosted_under_a_path() -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get("https://example.com/halo/api/authinfo").respond(
            200, json={"auth_url": "https://example.com/halo/auth"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "https://example.com/halo/api")
    assert endpoints.web_url == "https://example.com/halo"
    assert endpoints.auth_url == "https://example.com/halo/auth"
    assert endpoints.resource_url == "https://example.com/halo/api"
    assert endpoints.tenant is None
    assert endpoints.hosted is False
    assert endpoints.token_url == "https://example.com/halo/auth/token"


@pytest.mark.anyio
async def test_a_pasted_page_path_is_probed_down_to_the_prefix() -> None:
    with respx.mock as mock:
        deep = mock.get("https://halo.example.com/halo/tickets/api/authinfo").respond(404)
        found = mock.get("https://halo.example.com/halo/api/authinfo").respond(
            200, json={"auth_url": "https://halo.example.com/halo/auth"}
        )
        stats = RequestStats()
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "https://halo.example.com/halo/tickets", stats=stats)
    assert deep.called and found.called
    assert stats.requests == 2
    assert stats.by_status == {404: 1, 200: 1}
    assert endpoints.web_url == "https://halo.example.com/halo"
    assert endpoints.from_authinfo is True


@pytest.mark.anyio
async def test_authinfo_tenant_on_a_vanity_domain_means_hosted() -> None:
    with respx.mock as mock:
        mock.get("https://support.acme.com/api/authinfo").respond(
            200, json={"auth_url": "https://support.acme.com/auth", "tenant_id": "acme"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "support.acme.com")
    assert endpoints.hosted is True
    assert endpoints.tenant == "acme"


@pytest.mark.anyio
async def test_insecure_auth_url_from_authinfo_is_upgraded_to_https() -> None:
    with respx.mock as mock:
        mock.get("https://halo.example.com/api/authinfo").respond(
            200, json={"auth_url": "http://halo.example.com/auth"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "halo.example.com")
    assert endpoints.auth_url == "https://halo.example.com/auth"


@pytest.mark.anyio
async def test_loopback_sandbox_address_stays_http() -> None:
    with respx.mock as mock:
        mock.get("http://127.0.0.1:5555/api/authinfo").respond(
            200, json={"auth_url": "http://127.0.0.1:5555/auth", "tenant_id": "demo"}
        )
        async with httpx.AsyncClient() as http:
            endpoints = await discover(http, "http://127.0.0.1:5555")
    assert endpoints.auth_url == "http://127.0.0.1:5555/auth"
    assert endpoints.tenant == "demo"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.DNS),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.REFUSED),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            ErrorKind.TLS,
        ),
        (httpx.ConnectTimeout("timed out"), ErrorKind.TIMEOUT),
        (httpx.RemoteProtocolError("Server disconnected"), ErrorKind.NETWORK),
    ],
)
async def test_discover_connection_failures(exc: Exception, kind: ErrorKind) -> None:
    with respx.mock as mock:
        mock.get("https://acme.halopsa.com/api/authinfo").mock(side_effect=exc)
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await discover(http, "acme.halopsa.com")
    assert info.value.kind is kind


@pytest.mark.anyio
async def test_discover_rejects_bad_input_without_any_request() -> None:
    with respx.mock as mock:
        async with httpx.AsyncClient() as http:
            with pytest.raises(HaloError) as info:
                await discover(http, "http://acme.halopsa.com")
        assert not mock.calls
    assert info.value.kind is ErrorKind.INSECURE_ADDRESS
