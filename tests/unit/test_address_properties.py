"""`parse_address` and `discover` raise only `HaloError`, for any string whatsoever.

Property-based: arbitrary text (lone surrogates included: that is what undecodable command-line
bytes become), plus URL-shaped strings built from the parts people paste wrong: schemes and
broken separators, user info, brackets, ports, IPv4 and IPv6 literals, IDNA and look-alike
letters, percent-escapes, whitespace and control characters.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.discovery import discover, parse_address

ADDRESS_KINDS = {ErrorKind.BAD_ADDRESS, ErrorKind.INSECURE_ADDRESS}

any_text = st.text(st.characters(blacklist_categories=()), max_size=80)

schemes = st.sampled_from(["https", "http", "HTTPS", "Https", "ftp", "", "mailto", "h ttps", "ws"])
separators = st.sampled_from(["://", ":/", ":", "//", ":\\\\", ":///", "", "://:"])
labels = st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True) | st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Lo", "Nd")), min_size=1, max_size=8
)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4ish = st.lists(st.integers(-1, 999), min_size=1, max_size=5).map(
    lambda parts: ".".join(map(str, parts))
)
ipv6ish = st.builds(
    lambda body, open_, close, zone: f"{open_}{body}{zone}{close}",
    st.lists(st.from_regex(r"[0-9a-fA-Fx]{0,5}", fullmatch=True), min_size=0, max_size=9).map(
        ":".join
    ),
    st.sampled_from(["[", ""]),
    st.sampled_from(["]", "", "]]"]),
    st.sampled_from(["", "%eth0", "%25en0", "%"]),
)
hosts = st.one_of(
    names,
    names.map(lambda n: n + ".halopsa.com"),
    ipv4ish,
    ipv6ish,
    st.sampled_from(["localhost", "halopsa.com", "www.haloitsm.com", "xn--", "xn--80ak6aa92e"]),
    names.map(lambda n: "%" + n.encode().hex()[:4] + n),
)
ports = st.one_of(
    st.just(""),
    st.integers(-5, 70000).map(lambda p: f":{p}"),
    st.text("0123456789abc:", max_size=6).map(lambda p: ":" + p),
)
userinfo = st.sampled_from(["", "user@", "user:password@", "@", "a@b@", ":@"])
paths = st.lists(
    st.sampled_from([*"/apiauthAPI?#%20.;,'\"\\x", "/api", "/auth", "/portal"]), max_size=8
).map("".join)
noise = st.text(st.sampled_from([" ", "\t", "\n", "\x00", "\x1b", "\u202e", "\u200b", "\x85"]))


@st.composite
def urlish(draw: st.DrawFn) -> str:
    text = (
        draw(schemes) + draw(separators) + draw(userinfo) + draw(hosts) + draw(ports) + draw(paths)
    )
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(noise) + text[at:]
    return draw(st.sampled_from(["", " ", '"', "<"])) + text + draw(st.sampled_from(["", ".", " "]))


def _parse_or_named_error(text: str) -> None:
    try:
        parsed = parse_address(text)
    except HaloError as error:
        assert error.kind in ADDRESS_KINDS
        assert error.detail  # a specific reason, not just the headline
        return
    # What is accepted is an address the HTTP library takes, and reads back the same way.
    httpx.URL(parsed.web_url + "/api/authinfo")
    again = parse_address(parsed.web_url)
    assert httpx.URL(again.web_url).host == httpx.URL(parsed.web_url).host


@settings(max_examples=600, deadline=None)
@given(any_text)
def test_parse_address_any_text(text: str) -> None:
    _parse_or_named_error(text)


@settings(max_examples=1500, deadline=None)
@given(urlish())
def test_parse_address_urlish(text: str) -> None:
    _parse_or_named_error(text)


@pytest.mark.parametrize(
    "text",
    [
        "https://[::1",
        "https://999.1.1.1",
        "https://1.2.3",
        "https://[]",
        "https://[x]",
        "https://[fe80::1%eth0]",
        "https://acme\u200b.halopsa.com",
        "https://acme.halopsa.com\u202e",
        "https://\udcffacme.com",
        "https://ａｃｍｅ\u3002example",
        "https://0x7f.1",
    ],
)
def test_known_crashers_are_named_errors(text: str) -> None:
    with pytest.raises(HaloError) as info:
        parse_address(text)
    assert info.value.kind is ErrorKind.BAD_ADDRESS


def _halo_like(body: bytes, status: int) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


def _authinfo_json(url: str, tenant: str) -> bytes:
    quoted = '"' + url.replace("\\", "").replace('"', "") + '"'
    return f'{{"auth_url": {quoted}, "tenant_id": {tenant}}}'.encode("utf-8", "surrogatepass")


authinfo_bodies = st.one_of(
    st.binary(max_size=40),
    st.builds(
        _authinfo_json,
        st.one_of(urlish(), any_text),
        st.sampled_from(['"t"', "1", "null", "[]", "{}", '""', "1e999"]),
    ),
    st.just(b"[" * 5000),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(urlish(), any_text), authinfo_bodies, st.sampled_from([200, 404, 500, 302]))
def test_discover_raises_only_halo_errors(text: str, body: bytes, status: int) -> None:
    async def attempt() -> None:
        async with httpx.AsyncClient(transport=_halo_like(body, status)) as http:
            try:
                endpoints = await discover(http, text)
            except HaloError as error:
                assert error.kind in ADDRESS_KINDS or error.kind.category.value == "connection"
                return
            httpx.URL(endpoints.auth_url)
            httpx.URL(endpoints.resource_url)

    asyncio.run(attempt())
