"""From whatever the admin pasted to the addresses of one Halo instance.

`parse_address` is pure and cheap (the wizard calls it on every keystroke); it accepts a web
address, the Resource Server URL (`…/api`), the Authorisation Server URL (`…/auth`), with or
without scheme, trailing slashes, deeper paths, queries or surrounding quotes, and explains
precisely what is wrong otherwise. `discover` then asks `GET {web}/api/authinfo` (no token needed)
and falls back to the derived `{web}/auth` and `{web}/api` when that does not answer like Halo.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.http import (
    RequestStats,
    error_from_exception,
    is_loopback_host,
    send_limited,
)
from halo_paylink.halo.models import HaloEndpoints

_EXAMPLE = "e.g. https://acme.halopsa.com"
_QUOTES = "\"'`<>“”‘’«»"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: Unicode categories no address may hold: controls, format characters (zero-width, bidi
#: overrides), lone surrogates (undecodable bytes), private-use and unassigned code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_EMAIL = re.compile(r"^[^@/\s:]+@[^@/\s]+\.[^@/\s]+$")
#: Path segments that end the web prefix: what follows belongs to the API or the auth server.
_SERVER_SEGMENTS = ("api", "auth")
#: How many shorter path prefixes `discover` tries when the pasted path may be a page, not a prefix.
_MAX_PREFIX_PROBES = 3


@dataclass(frozen=True)
class ParsedAddress:
    """A pasted address, normalised.

    Attributes:
        web_url: scheme://host[:port][/path-prefix], no trailing slash, no /api or /auth.
        hosted: the host is `*.halopsa.com` / `*.haloitsm.com`.
        tenant_from_host: "acme" for acme.halopsa.com; None when self-hosted.
        path_certain: False when a self-hosted address kept a path that may be a page of the web app
            rather than the prefix Halo lives under (`discover` then also tries shorter prefixes).
    """

    web_url: str
    hosted: bool
    tenant_from_host: str | None
    path_certain: bool = True


def _bad(message: str) -> HaloError:
    return HaloError(ErrorKind.BAD_ADDRESS, message)


def _strip_decoration(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = text.strip().strip(_QUOTES).strip()
        # a trailing full stop or comma copied along with a sentence
        text = text.rstrip(".,;")
    return text


def _hosted_tenant(host: str) -> tuple[bool, str | None]:
    for domain in facts.HOSTED_DOMAINS:
        if host.endswith("." + domain):
            tenant = host[: -len(domain) - 1].split(".")[0]
            return True, tenant
    return False, None


def _check_host(host: str, *, explicit_scheme: bool) -> None:
    if "%" in host:
        raise _bad(
            f"{host!r} is not a valid host name: it holds a '%' (an escape or an IPv6 zone), "
            f"which Halo addresses never do ({_EXAMPLE})."
        )
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
        return
    except ValueError:
        pass
    if ":" in bare:
        raise _bad(f"{host!r} is not a valid IPv6 address.")
    last = bare.rstrip(".").rsplit(".", 1)[-1]
    if last.isdigit() or re.fullmatch(r"0x[0-9a-f]*", last):
        # A host ending in a number is an IPv4 address to browsers and HTTP libraries alike.
        raise _bad(
            f"{host!r} is not a valid IP address (four numbers from 0 to 255, e.g. 192.0.2.10), "
            f"nor a host name ({_EXAMPLE})."
        )
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise _bad(f"{host!r} is not a valid host name.") from None
    labels = ascii_host.rstrip(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise _bad(f"{host!r} is not a valid host name ({_EXAMPLE}).")
    if host in facts.HOSTED_DOMAINS or host in {f"www.{d}" for d in facts.HOSTED_DOMAINS}:
        raise _bad(
            f"{host} is Halo's own website. Paste the address of your Halo instance, "
            f"{_EXAMPLE} (yours is on Configuration > Integrations > HaloPSA API)."
        )
    if len(labels) == 1 and host != "localhost" and not explicit_scheme:
        raise _bad(
            f"{host!r} is not a full address. For Halo-hosted instances it is "
            f"{host}.halopsa.com (or {host}.haloitsm.com); otherwise paste the whole address."
        )


def _has_invisible(text: str) -> bool:
    return any(unicodedata.category(ch) in _INVISIBLE for ch in text)


def _looks_like_email(text: str) -> bool:
    return text.lower().startswith("mailto:") or ("://" not in text and bool(_EMAIL.match(text)))


#: What the pasted text as a whole may not be, in the order checked, each with what to say.
_TEXT_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda text: not text, f"The address is empty. Paste your Halo address, {_EXAMPLE}."),
    (
        lambda text: any(ch.isspace() for ch in text),
        f"The address contains spaces. Paste only the address itself, {_EXAMPLE}.",
    ),
    (
        _has_invisible,
        "The address contains an invisible or control character (often copied along from a "
        f"document or chat). Type the address again, {_EXAMPLE}.",
    ),
    (
        _looks_like_email,
        f"That looks like an email address. Paste the web address you log in to Halo at, "
        f"{_EXAMPLE}.",
    ),
)

#: "https:/x", "https//x", "https:\\x": a scheme whose "://" was mistyped.
_BROKEN_SEPARATOR = re.compile(r"^(https?)(?::/(?!/)|//|:\\\\)", re.IGNORECASE)
#: After "name:", what makes it a port ("host:8443", "host:") rather than a scheme.
_PORT_AFTER_COLON = re.compile(r"^\d*($|[/?#])")
_SCHEME_NAME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_WEB_SCHEMES = ("http", "https")
_PORT_MESSAGE = "The port in the address is not a number between 1 and 65535."


def _incomplete(scheme: str) -> HaloError:
    return _bad(f"The address is incomplete: it should start with {scheme}://.")


def _unsupported(scheme: str, separator: str) -> HaloError:
    return _bad(f"Addresses starting with {scheme}{separator} are not supported; use https://.")


def _split_scheme(text: str, original: str) -> tuple[str, str, bool]:
    """(scheme, the rest, whether a scheme was typed); https when none was."""
    broken = _BROKEN_SEPARATOR.match(text)
    if broken and "://" not in text:
        raise _incomplete(broken.group(1).lower())
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme, explicit = scheme.lower(), True
    elif text.startswith("//"):
        scheme, rest, explicit = "https", text[2:], True
    else:
        match = _SCHEME.match(text)
        if match and not _PORT_AFTER_COLON.match(match.group(2)):
            # "ftp:x" or "https:acme…": a scheme without "//" (a bare "host:port" is not one)
            name = match.group(1).lower()
            raise _incomplete(name) if name in _WEB_SCHEMES else _unsupported(name, ":")
        scheme, rest, explicit = "https", text, False
    if not _SCHEME_NAME.match(scheme):
        raise _bad(f"{original.strip()!r} is not a web address ({_EXAMPLE}).")
    if scheme not in _WEB_SCHEMES:
        raise _unsupported(scheme, "://")
    return scheme, rest, explicit


def _split_location(url: str, original: str) -> tuple[SplitResult, str, int | None]:
    """(the parts of `url`, its host without a trailing dot, its port or None)."""
    try:
        parts = urlsplit(url)
        netloc, raw_host = parts.netloc, parts.hostname
    except ValueError:  # e.g. "[::1" (an unclosed bracket) or "[x]" (not an IPv6 address)
        raise _bad(
            "The address has a bracketed IPv6 part that is not a valid IPv6 address "
            "(e.g. https://[2001:db8::10])."
        ) from None
    if "@" in netloc:
        raise _bad(
            f"The address contains a user name or password. Paste only the address, {_EXAMPLE}."
        )
    host = (raw_host or "").rstrip(".")
    if not netloc or not host:
        raise _bad(f"{original.strip()!r} has no host name ({_EXAMPLE}).")
    try:
        port = parts.port
    except ValueError:
        raise _bad(_PORT_MESSAGE) from None
    if port == 0:
        raise _bad(_PORT_MESSAGE)
    return parts, host, port


def _web_prefix(path: str, hosted: bool) -> tuple[str, bool]:
    """The path Halo lives under ("" or "/halo") and whether that is certain.

    Hosted Halo never lives under a path, so anything there is a page. Otherwise the path stops
    before its first `api` or `auth` segment; a path without one may be a page of the web app.
    """
    segments = [seg for seg in path.split("/") if seg]
    cut = next((i for i, seg in enumerate(segments) if seg.lower() in _SERVER_SEGMENTS), None)
    if hosted:
        return "", True
    if cut is not None:
        segments = segments[:cut]
    prefix = "/" + "/".join(segments) if segments else ""
    return prefix, cut is not None or not segments


def parse_address(text: str) -> ParsedAddress:
    """Normalise a pasted Halo address; pure, no I/O, safe to call on every keystroke.

    Raises:
        HaloError(BAD_ADDRESS): with a specific `detail` (empty, spaces inside, an email address, an
            unsupported scheme, a user name or password in it, a bad port or host name).
        HaloError(INSECURE_ADDRESS): plain http to a host other than this computer.
    """
    original = text or ""
    text = _strip_decoration(original)
    for refuses, message in _TEXT_RULES:
        if refuses(text):
            raise _bad(message)
    scheme, rest, explicit_scheme = _split_scheme(text, original)
    parts, host, port = _split_location(f"{scheme}://{rest}", original)
    _check_host(host, explicit_scheme=explicit_scheme)
    if scheme == "http" and not is_loopback_host(host):
        raise HaloError(
            ErrorKind.INSECURE_ADDRESS,
            f"http://{host} is not encrypted; Halo must be reached over https "
            f"(use https://{host}). Plain http is allowed only for this computer (the sandbox).",
        )
    hosted, tenant = _hosted_tenant(host)
    prefix, path_certain = _web_prefix(parts.path, hosted)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    web_url = f"{scheme}://{netloc}{prefix}"
    _check_http_library_accepts(web_url, host)
    return ParsedAddress(web_url, hosted, tenant, path_certain)


def _check_http_library_accepts(web_url: str, host: str) -> None:
    """Refuse what the HTTP library would refuse later (IDNA rules, invisible characters), so
    the failure is a named BAD_ADDRESS now rather than an exception in the middle of a request."""
    try:
        httpx.URL(f"{web_url}/api/authinfo")
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise _bad(
            f"{host!r} is not a valid host name: it holds characters a web address cannot "
            f"(invisible, mixed-script or unencodable ones). Type it plainly, {_EXAMPLE}."
        ) from None


def _candidates(parsed: ParsedAddress) -> list[str]:
    """The web address first, then (for an uncertain path) shorter prefixes down to the host."""
    urls = [parsed.web_url]
    if not parsed.path_certain:
        parts = urlsplit(parsed.web_url)
        segments = [seg for seg in parts.path.split("/") if seg]
        root = f"{parts.scheme}://{parts.netloc}"
        for n in range(len(segments) - 1, -1, -1):
            if len(urls) > _MAX_PREFIX_PROBES:
                break
            urls.append(root + "".join(f"/{s}" for s in segments[:n]))
        if urls[-1] != root:
            urls.append(root)
    return urls


def _usable_auth_url(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return None  # not a usable address: fall back to the derived one
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    if parts.scheme.lower() == "http" and not is_loopback_host(hostname):
        # Never send a secret in the clear: ask the same server over https instead.
        url = "https" + url[len(parts.scheme) :]
    return url


async def _authinfo(
    http: httpx.AsyncClient, web_url: str, stats: RequestStats | None
) -> tuple[str, str | None] | None:
    """`(auth_url, tenant_id)` from `GET {web}/api/authinfo`, or None when it does not answer so."""
    try:
        # Within the same deadline and size cap as every other request (a slow or endless
        # answer from a wrong address must not hang the Connect page).
        response = await send_limited(
            http, "GET", f"{web_url}/api/authinfo", headers={"Accept": "application/json"}
        )
    except httpx.HTTPError as exc:
        if stats is not None:
            stats.record(None)
        raise error_from_exception(exc) from None
    except (httpx.InvalidURL, ValueError, UnicodeError):  # parse_address lets none through
        raise _bad(f"{web_url!r} cannot be used as a web address ({_EXAMPLE}).") from None
    if stats is not None:
        stats.record(response)
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        return None
    if not isinstance(body, dict):
        return None
    auth_url = _usable_auth_url(body.get("auth_url"))
    if auth_url is None:
        return None
    tenant = body.get("tenant_id")
    tenant_text = str(tenant).strip() if isinstance(tenant, str | int) and tenant != "" else None
    return auth_url, tenant_text or None


async def discover(
    http: httpx.AsyncClient,
    text: str,
    *,
    tenant: str | None = None,
    stats: RequestStats | None = None,
) -> HaloEndpoints:
    """Find the Authorisation and Resource Server URLs of the Halo at a pasted address.

    Runs on the caller's event loop. Asks `GET {web}/api/authinfo` (no token); when it answers with
    `auth_url` (and `tenant_id` when hosted) those are used, otherwise `{web}/auth` and `{web}/api`.
    The tenant is the explicit `tenant` when given, else authinfo's, else the one in the host name.
    `stats`, when given, counts the requests made.

    Raises:
        HaloError(BAD_ADDRESS | INSECURE_ADDRESS): from `parse_address`.
        HaloError(DNS | REFUSED | TLS | TIMEOUT | NETWORK): the server could not be reached.
    """
    parsed = parse_address(text)
    web_url = parsed.web_url
    info: tuple[str, str | None] | None = None
    for candidate in _candidates(parsed):
        info = await _authinfo(http, candidate, stats)
        if info is not None:
            web_url = candidate
            break
    explicit = tenant.strip() if tenant and tenant.strip() else None
    if info is None:
        return HaloEndpoints(
            web_url=web_url,
            auth_url=f"{web_url}/auth",
            resource_url=f"{web_url}/api",
            tenant=explicit or parsed.tenant_from_host,
            hosted=parsed.hosted,
            from_authinfo=False,
        )
    auth_url, info_tenant = info
    return HaloEndpoints(
        web_url=web_url,
        auth_url=auth_url,
        resource_url=f"{web_url}/api",
        tenant=explicit or info_tenant or parsed.tenant_from_host,
        # authinfo names a tenant only for Halo-hosted instances (also on a vanity domain)
        hosted=parsed.hosted or info_tenant is not None,
        from_authinfo=True,
    )
