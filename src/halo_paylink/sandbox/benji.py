"""The built-in Benji Pays sandbox: a real HTTP server on 127.0.0.1 that answers like Benji's
merchant API (`GET /v2/settings`, `GET /v2/invoices/{accountingInvoiceId}`).

It is driven by the Halo sandbox's invoices so that the numbers agree: Benji knows an invoice by
the number the accounting tool gave it (Halo's `thirdpartyinvoicenumber`), never by Halo's own
invoice id or number, and an invoice not yet synced to the accounting tool is unknown to it. So a
demo or a test that puts Halo's numbering in the links sees Benji answer 404 for nearly every one,
as the real Benji would.

Harsh rather than convenient: no key or a wrong key is 401, an unknown path or number 404, any
method but GET 405, and with `rate_limit_every` every n-th request is 429 with a Retry-After. The
answers use the field names the client reads first (`halo_paylink.benji.facts`); those names are
unverified, so this sandbox shows the product works with its own model of Benji, not that the
model is right.

Threads: `start()` serves from a daemon thread, one more per connection; the counters are read
under `stats.lock`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from halo_paylink.benji import facts
from halo_paylink.sandbox.http import LoopbackService, Request, Response, Served, json_response
from halo_paylink.sandbox.state import SandboxStats

if TYPE_CHECKING:
    from halo_paylink.sandbox.server import Sandbox

#: The demo merchant's API key (demo mode and tests; a real key is never built in).
DEMO_BENJI_API_KEY = "demo-benji-key-7f3a9c"
#: The demo merchant's portal name; the same as in the Halo sandbox's demo Benji links.
DEMO_PORTAL_NAME = "demo-msp"
#: Where the API lives below the server's root, like the real `https://api.benjipays.com/v2`.
API_PREFIX = "/v2"

SETTINGS = "benji_settings"
INVOICE = "benji_invoice"


@dataclass(frozen=True)
class BenjiSandboxConfig:
    """How the Benji sandbox behaves.

    Attributes:
        api_key: the one key it accepts.
        portal_name: the customer portal's short name.
        custom_domain: the merchant's own portal domain, or None.
        pay_now_amount_required: "Require transaction amount to match the invoice total".
        disable_generic_payment_link: "Do not allow payment if the invoice is not found"; off by
            default, so the demo shows a failing check and its fix.
        rate_limit_every: answer every n-th request 429 (0 = never).
        retry_after: the Retry-After (seconds) sent with a 429.
        port: TCP port on 127.0.0.1 (0 = any free port).
    """

    api_key: str = field(default=DEMO_BENJI_API_KEY, repr=False)
    portal_name: str = DEMO_PORTAL_NAME
    custom_domain: str | None = None
    pay_now_amount_required: bool = True
    disable_generic_payment_link: bool = False
    rate_limit_every: int = 0
    retry_after: int = 1
    port: int = 0


def accounting_numbers(halo: Sandbox) -> Callable[[], set[str]]:
    """The accounting numbers of the Halo sandbox's invoices, read afresh on every call (so an
    invoice added to, or synced in, the Halo sandbox is known to Benji at once)."""

    def numbers() -> set[str]:
        with halo.lock:
            values = [record.get("thirdpartyinvoicenumber") for record in halo.invoices.values()]
        return {v for v in values if isinstance(v, str) and v.strip()}

    return numbers


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"statusCode": status, "message": message}, headers)


class BenjiSandbox(Served):
    """A Benji Pays look-alike on 127.0.0.1. Use as a context manager, or `start()` / `stop()`.

    Args:
        numbers: the accounting invoice numbers Benji knows (called on every look-up).
        config: how it behaves.

    Attributes:
        stats: what it has served (`by_kind` counts `(method, kind, status)`).
        lookups: every invoice number asked for, in order (under `stats.lock`).
    """

    def __init__(
        self, numbers: Callable[[], Iterable[str]], config: BenjiSandboxConfig | None = None
    ) -> None:
        self.config = config or BenjiSandboxConfig()
        self._numbers = numbers
        self.stats = SandboxStats()
        self.lookups: list[str] = []
        self._service = LoopbackService(
            self._respond, self.stats, port=self.config.port, name="benji-sandbox"
        )

    @classmethod
    def for_halo(cls, halo: Sandbox, config: BenjiSandboxConfig | None = None) -> BenjiSandbox:
        """A Benji sandbox that knows the Halo sandbox's invoices by their accounting numbers."""
        return cls(accounting_numbers(halo), config)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API's base address, e.g. "http://127.0.0.1:51235/v2" (after start)."""
        if not self._service.origin:
            raise RuntimeError("the Benji sandbox has not been started")
        return self._service.origin + API_PREFIX

    # --- answers (server threads) ------------------------------------------------------------
    def _respond(self, request: Request) -> Response:
        path = urllib.parse.urlsplit(request.target).path
        with self.stats.lock:
            self.stats.requests += 1
            count = self.stats.requests
        every = self.config.rate_limit_every
        if every and count % every == 0:
            with self.stats.lock:
                self.stats.rate_limited += 1
            return _error(429, "Too Many Requests", {"Retry-After": str(self.config.retry_after)})
        if request.headers.get(facts.API_KEY_HEADER) != self.config.api_key:
            return _error(401, "Unauthorized")
        route = self._route(path)
        if route is None:
            return _error(404, "Not Found")
        request.kind, argument = route
        if request.method != "GET":
            return _error(405, "Method Not Allowed")
        if request.kind == SETTINGS:
            return json_response(200, self._settings())
        return self._invoice(argument)

    @staticmethod
    def _route(path: str) -> tuple[str, str] | None:
        if not path.startswith(API_PREFIX + "/"):
            return None
        rest = path[len(API_PREFIX) :]
        if rest == facts.SETTINGS_PATH:
            return SETTINGS, ""
        prefix = facts.INVOICE_PATH.split("{", 1)[0]
        segment = rest[len(prefix) :] if rest.startswith(prefix) else ""
        if not segment or "/" in segment:
            return None
        return INVOICE, urllib.parse.unquote(segment)

    def _settings(self) -> dict[str, Any]:
        c = self.config
        return {
            facts.PORTAL_NAME_FIELDS[0]: c.portal_name,
            facts.PORTAL_URL_FIELDS[0]: f"https://www.benjipays.com/portal/{c.portal_name}",
            facts.CUSTOM_DOMAIN_FIELDS[0]: c.custom_domain,
            facts.PAY_NOW_AMOUNT_REQUIRED_FIELDS[0]: c.pay_now_amount_required,
            facts.DISABLE_GENERIC_LINK_FIELDS[0]: c.disable_generic_payment_link,
        }

    def _invoice(self, number: str) -> Response:
        with self.stats.lock:
            self.lookups.append(number)
        if number not in set(self._numbers()):
            return _error(404, f"Invoice {number} was not found")
        return json_response(200, {"accountingInvoiceId": number, "status": "open"})
