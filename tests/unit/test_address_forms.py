"""parse_address: each accepted form and each refusal, with its exact words.

`parse_address` checks the pasted text in a fixed order (the whole text, then the scheme, then the
host part, then the host, then the path); each case below pins one step's answer, so a reordering
or a reworded message shows up here.
"""

from __future__ import annotations

import pytest

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.discovery import parse_address

EXAMPLE = "e.g. https://acme.halopsa.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"The address is empty. Paste your Halo address, {EXAMPLE}."),
        ("  ' . ", f"The address is empty. Paste your Halo address, {EXAMPLE}."),
        (
            "acme .halopsa.com",
            f"The address contains spaces. Paste only the address itself, {EXAMPLE}.",
        ),
        (
            "acme.halopsa.com\u200b",
            "The address contains an invisible or control character (often copied along from a "
            f"document or chat). Type the address again, {EXAMPLE}.",
        ),
        (
            "admin@acme.com",
            f"That looks like an email address. Paste the web address you log in to Halo at, "
            f"{EXAMPLE}.",
        ),
        (
            "mailto:admin@acme.com",
            f"That looks like an email address. Paste the web address you log in to Halo at, "
            f"{EXAMPLE}.",
        ),
        ("https:/acme.halopsa.com", "The address is incomplete: it should start with https://."),
        ("https//acme.halopsa.com", "The address is incomplete: it should start with https://."),
        ("http:\\\\acme.halopsa.com", "The address is incomplete: it should start with http://."),
        ("https:acme.halopsa.com", "The address is incomplete: it should start with https://."),
        ("ftp:acme", "Addresses starting with ftp: are not supported; use https://."),
        (
            "FTP://acme.halopsa.com",
            "Addresses starting with ftp:// are not supported; use https://.",
        ),
        ("1http://x", f"'1http://x' is not a web address ({EXAMPLE})."),
        (
            "https://[::1",
            "The address has a bracketed IPv6 part that is not a valid IPv6 address "
            "(e.g. https://[2001:db8::10]).",
        ),
        ("https://", f"'https://' has no host name ({EXAMPLE})."),
        ("https://.", f"'https://.' has no host name ({EXAMPLE})."),
        (
            "https://user:pw@acme.halopsa.com",
            f"The address contains a user name or password. Paste only the address, {EXAMPLE}.",
        ),
        (
            "https://acme.halopsa.com:0",
            "The port in the address is not a number between 1 and 65535.",
        ),
        (
            "https://acme.halopsa.com:99999",
            "The port in the address is not a number between 1 and 65535.",
        ),
        (
            "acme",
            "'acme' is not a full address. For Halo-hosted instances it is acme.halopsa.com (or "
            "acme.haloitsm.com); otherwise paste the whole address.",
        ),
    ],
)
def test_refusals_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(HaloError) as caught:
        parse_address(text)
    assert caught.value.kind is ErrorKind.BAD_ADDRESS
    assert caught.value.detail == message


def test_plain_http_elsewhere_is_insecure() -> None:
    with pytest.raises(HaloError) as caught:
        parse_address("http://acme.halopsa.com")
    assert caught.value.kind is ErrorKind.INSECURE_ADDRESS
    assert caught.value.detail == (
        "http://acme.halopsa.com is not encrypted; Halo must be reached over https (use "
        "https://acme.halopsa.com). Plain http is allowed only for this computer (the sandbox)."
    )


@pytest.mark.parametrize(
    ("text", "web_url", "hosted", "tenant", "path_certain"),
    [
        ("//acme.halopsa.com/api", "https://acme.halopsa.com", True, "acme", True),
        ("acme.halopsa.com:8443", "https://acme.halopsa.com:8443", True, "acme", True),
        ("https://acme.halopsa.com/portal/x", "https://acme.halopsa.com", True, "acme", True),
        ("<https://acme.haloitsm.com/api>.", "https://acme.haloitsm.com", True, "acme", True),
        ("https://halo.example.com/halo/api/", "https://halo.example.com/halo", False, None, True),
        (
            "https://halo.example.com/halo/tickets",
            "https://halo.example.com/halo/tickets",
            False,
            None,
            False,
        ),
        ("https://HALO.example.com:443/Auth", "https://halo.example.com", False, None, True),
        ("http://127.0.0.1:80/", "http://127.0.0.1", False, None, True),
        ("localhost:8080", "https://localhost:8080", False, None, True),
        (
            "https://[2001:db8::10]:8443/halo",
            "https://[2001:db8::10]:8443/halo",
            False,
            None,
            False,
        ),
    ],
)
def test_accepted_forms(
    text: str, web_url: str, hosted: bool, tenant: str | None, path_certain: bool
) -> None:
    parsed = parse_address(text)
    assert (parsed.web_url, parsed.hosted, parsed.tenant_from_host, parsed.path_certain) == (
        web_url,
        hosted,
        tenant,
        path_certain,
    )
