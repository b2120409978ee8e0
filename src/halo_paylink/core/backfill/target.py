"""Where the payment link is stored on an invoice: one small interface, two implementations.

A `LinkTarget` reads the current value from an invoice and builds the partial update that sets it.
The update carries only `id` and the link (never `lines`, never other fields), because Halo changes
exactly the fields that are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice

CUSTOM_PREFIX = "custom:"


class LinkTarget(Protocol):
    """The invoice field a backfill writes. Pure; safe on any thread."""

    @property
    def spec(self) -> str:
        """The profile/CLI spelling: a field name or `custom:NAME`."""
        ...

    @property
    def label(self) -> str:
        """A short description for plans and reports."""
        ...

    def read(self, invoice: Invoice) -> str | None:
        """The current value, or None when empty or absent (for comparing)."""
        ...

    def raw(self, invoice: Invoice) -> Any:
        """The current value exactly as Halo sent it ("" and None differ; for journals and undo)."""
        ...

    def build_update(self, invoice_id: int, value: str | None) -> dict[str, Any]:
        """The partial object for `POST /Invoice` that sets the value (None clears it)."""
        ...


def normalize(value: Any) -> str | None:
    """A raw value as `LinkTarget.read` would give it: the text, or None when blank."""
    return _text(value)


def has_text(value: Any) -> bool:
    """True when a raw value is a non-blank link (what counts as "holds a link")."""
    return _text(value) is not None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


@dataclass(frozen=True)
class FieldTarget:
    """A top-level invoice field, by default `generic_online_invoice_payment_url`."""

    field: str = facts.DEFAULT_LINK_FIELD

    @property
    def spec(self) -> str:
        return self.field

    @property
    def label(self) -> str:
        return f"invoice field {self.field}"

    def read(self, invoice: Invoice) -> str | None:
        return _text(invoice.get(self.field))

    def raw(self, invoice: Invoice) -> Any:
        return invoice.get(self.field)

    def build_update(self, invoice_id: int, value: str | None) -> dict[str, Any]:
        return {"id": invoice_id, self.field: value}


@dataclass(frozen=True)
class CustomFieldTarget:
    """An invoice custom field, addressed by its name."""

    name: str

    @property
    def spec(self) -> str:
        return f"{CUSTOM_PREFIX}{self.name}"

    @property
    def label(self) -> str:
        return f"custom field {self.name}"

    def read(self, invoice: Invoice) -> str | None:
        return _text(invoice.custom_field(self.name))

    def raw(self, invoice: Invoice) -> Any:
        return invoice.custom_field(self.name)

    def build_update(self, invoice_id: int, value: str | None) -> dict[str, Any]:
        return {"id": invoice_id, "customfields": [{"name": self.name, "value": value}]}


#: Fields a backfill must never target: identity, numbers, money and state.
FORBIDDEN_FIELDS = frozenset(
    {
        "id",
        "lines",
        "customfields",
        "invoicenumber",
        "thirdpartyinvoicenumber",
        "client_id",
        "client_name",
        "posted",
        "voided",
        "total",
        "amountpaid",
        "amountdue",
        "amount_remaining",
        "paymentstatus",
        "invoicetype",
        "currency",
        "qboid",
        "xeroid",
    }
)


def parse_link_target(spec: str | None) -> LinkTarget:
    """`None`/"" -> the default field; "custom:NAME" -> that custom field; else a field name.

    Raises:
        ValueError: an empty custom-field name, or a field holding invoice data we must not touch.
    """
    text = (spec or "").strip()
    if not text:
        return FieldTarget()
    if text.lower().startswith(CUSTOM_PREFIX):
        name = text[len(CUSTOM_PREFIX) :].strip()
        if not name:
            raise ValueError("custom: needs the custom field's name, e.g. custom:CFPayLink")
        return CustomFieldTarget(name)
    if text.lower() in FORBIDDEN_FIELDS or not text.replace("_", "").isalnum():
        raise ValueError(f"{text!r} cannot hold the payment link; use a URL field or custom:NAME")
    return FieldTarget(text)
