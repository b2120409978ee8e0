"""Typed values that cross the boundary between the Halo client and the rest of the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class HaloEndpoints:
    """Where one Halo instance lives, as derived by `halo.discovery`.

    Attributes:
        web_url: the address the admin logs in at, without a trailing slash.
        auth_url: the Authorisation Server URL (token endpoint is `{auth_url}/token`).
        resource_url: the Resource Server URL (API calls go below it).
        tenant: the tenant for `?tenant=`, when known (hosted Halo; may be None when self-hosted).
        hosted: True for Halo-hosted instances (`*.halopsa.com` / `*.haloitsm.com`).
        from_authinfo: True when `GET /api/authinfo` answered; False when derived from the address.
    """

    web_url: str
    auth_url: str
    resource_url: str
    tenant: str | None
    hosted: bool
    from_authinfo: bool = False

    @property
    def token_url(self) -> str:
        url = f"{self.auth_url}/token"
        return f"{url}?tenant={quote(self.tenant, safe='')}" if self.tenant else url


@dataclass(frozen=True)
class Credentials:
    """An API application's client id and secret. The secret never appears in `repr`."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float  # on the client's monotonic clock
    scopes: tuple[str, ...] = ()  # as granted, when Halo said; () when it did not
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)  # decoded JWT, display only


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    email: str = ""
    is_admin: bool = False
    is_api_agent: bool = False
    is_disabled: bool = False


def to_decimal(value: Any) -> Decimal | None:
    """Halo sends money as numbers or strings; None when absent, unreadable or not finite
    (NaN and Infinity compare with nothing, so they never reach a decision)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class Invoice:
    """One Halo invoice as we read it. `raw` keeps every field Halo sent, untouched."""

    id: int
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Invoice:
        return cls(id=int(data["id"]), raw=data)

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    @property
    def invoice_number(self) -> str:
        return str(self.raw.get("invoicenumber") or self.id)

    @property
    def third_party_number(self) -> str | None:
        value = self.raw.get("thirdpartyinvoicenumber")
        return str(value).strip() or None if value not in (None, "") else None

    @property
    def client_name(self) -> str:
        return str(self.raw.get("client_name") or "")

    @property
    def total(self) -> Decimal | None:
        return to_decimal(self.raw.get("total"))

    @property
    def amount_due(self) -> Decimal | None:
        """`amountdue`, else `amount_remaining`, else `total - amountpaid`; None when unknowable."""
        for name in ("amountdue", "amount_remaining"):
            value = to_decimal(self.raw.get(name))
            if value is not None:
                return value
        total, paid = self.total, to_decimal(self.raw.get("amountpaid"))
        if total is None:
            return None
        return total - (paid or Decimal(0))

    def custom_field(self, name: str) -> Any:
        for item in self.raw.get("customfields") or ():
            if isinstance(item, Mapping) and item.get("name") == name:
                return item.get("value")
        return None


@dataclass(frozen=True)
class InvoicePage:
    """One page of `GET /Invoice?pageinate=true`."""

    page_no: int
    page_size: int  # the size asked for (after a silent server cap was found)
    record_count: int | None  # total rows matching, across all pages, as Halo announced it
    invoices: tuple[Invoice, ...]
    odd_rows: tuple[Any, ...] = ()  # rows that are not objects with an integer id

    @property
    def rows(self) -> int:
        """Every row of the page, readable or not."""
        return len(self.invoices) + len(self.odd_rows)
