"""Halo's email templates and custom buttons: the API behind the guide's two optional admin steps.

`HaloAdminClient` is a `HaloClient` (same rate limiter, retries, error mapping) whose token is
asked for the optional `facts.TEMPLATE_SCOPE` alone, so an application that may not use it
still gets its invoice token. Build it with `admin_client_for`, sharing the main client's limiter.

- `GET {resource}/EmailTemplate` (list), `GET /EmailTemplate/{id}`, `POST /EmailTemplate` with a
  JSON array of partial objects, each with its `id` (only the fields sent change).
- `GET {resource}/CustomButton` (list), `POST /CustomButton` (an array holding one object without
  an id creates a button), `GET /CustomButton/{id}`, `DELETE /CustomButton/{id}`.

A missing right shows as 403 or, after one token refresh, a second 401 with an empty body; both
reach the caller as a `HaloError` that `is_not_permitted` recognises. Every result here rests on
`facts.UNVERIFIED_NOTES["template_scope"]`.

All methods run on the caller's event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.client import _as_int as _id
from halo_paylink.halo.http import parse_json
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.session import client_for

__all__ = [
    "NOT_PERMITTED_KINDS",
    "CustomButton",
    "EmailTemplate",
    "HaloAdminClient",
    "admin_client_for",
    "is_not_permitted",
]

#: How a missing scope or agent right reaches us: refused at the token endpoint, 403, or a
#: second empty 401.
NOT_PERMITTED_KINDS = frozenset(
    {ErrorKind.MISSING_SCOPE, ErrorKind.FORBIDDEN, ErrorKind.UNAUTHORIZED}
)


def is_not_permitted(error: HaloError) -> bool:
    """True when `error` means the application or its agent lacks the right (not a fault)."""
    return error.kind in NOT_PERMITTED_KINDS


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class EmailTemplate:
    """One email template as Halo sent it.

    Attributes:
        subject: `facts.TEMPLATE_SUBJECT_FIELD` (U), shown only.
        body_html, body_text: the bodies ("" when Halo sent none, or not text).
        raw: the object exactly as received.
    """

    id: int
    name: str
    description: str = ""
    subject: str = ""
    body_html: str = ""
    body_text: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_system(self) -> bool:
        """Halo's own templates have ids <= 0."""
        return self.id <= 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EmailTemplate:
        template_id = _id(data.get("id"))
        if template_id is None:
            raise HaloError(ErrorKind.MALFORMED_RESPONSE, "An email template came without an id.")
        return cls(
            id=template_id,
            name=_text(data.get("name")),
            description=_text(data.get("description")),
            subject=_text(data.get(facts.TEMPLATE_SUBJECT_FIELD)),
            body_html=_text(data.get("body_html")),
            body_text=_text(data.get("body_text")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class CustomButton:
    """One custom button (`usage` `facts.CLIENT_BUTTON_USAGE` = on the client record)."""

    id: int
    name: str
    label: str
    url: str
    usage: int | None = None
    newtab: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomButton:
        button_id = _id(data.get("id"))
        if button_id is None:
            raise HaloError(ErrorKind.MALFORMED_RESPONSE, "A custom button came without an id.")
        return cls(
            id=button_id,
            name=_text(data.get("name")),
            label=_text(data.get("label")),
            url=_text(data.get("url")),
            usage=_id(data.get("usage")),
            newtab=bool(data.get("newtab", True)),
            raw=dict(data),
        )


def _objects(body: Any, what: str, envelope: str) -> list[Mapping[str, Any]]:
    """The objects of a list answer: a bare array, or an envelope `{envelope: [...]}`."""
    if isinstance(body, dict) and isinstance(body.get(envelope), list):
        body = body[envelope]
    if not isinstance(body, list):
        raise HaloError(ErrorKind.MALFORMED_RESPONSE, f"The {what} list was not a JSON array.")
    return [item for item in body if isinstance(item, dict)]


class HaloAdminClient(HaloClient):
    """A `HaloClient` for email templates and custom buttons (see the module docstring)."""

    async def _one(self, path: str, what: str) -> Mapping[str, Any]:
        """The object `GET path` answers (a one-item array counts as the object)."""
        body = parse_json(await self._request("GET", path, scope=facts.TEMPLATE_SCOPE))
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if not isinstance(body, dict):
            raise HaloError(ErrorKind.MALFORMED_RESPONSE, f"Halo did not return the {what} object.")
        return body

    async def email_templates(self) -> list[EmailTemplate]:
        """Every email template (`GET /EmailTemplate`); rows without an id are left out."""
        response = await self._request("GET", "/EmailTemplate", scope=facts.TEMPLATE_SCOPE)
        rows = _objects(parse_json(response), "email template", "emailtemplates")
        return [EmailTemplate.from_json(row) for row in rows if _id(row.get("id")) is not None]

    async def email_template(self, template_id: int) -> EmailTemplate:
        """One email template (`GET /EmailTemplate/{id}`)."""
        return EmailTemplate.from_json(
            await self._one(f"/EmailTemplate/{int(template_id)}", "email template")
        )

    async def update_email_template(self, template_id: int, changes: Mapping[str, str]) -> None:
        """Save `changes` (field -> new text) of one template: `POST /EmailTemplate` with a
        one-item array naming it by `id`. Repeating it is safe (the same values again).

        Raises:
            ValueError: no changes, or `id` among them.
        """
        if not changes or "id" in changes:
            raise ValueError("give the fields to change, without 'id'")
        payload = [{"id": int(template_id), **changes}]
        await self._request("POST", "/EmailTemplate", json=payload, scope=facts.TEMPLATE_SCOPE)

    async def custom_buttons(self) -> list[CustomButton]:
        """Every custom button (`GET /CustomButton`)."""
        response = await self._request("GET", "/CustomButton", scope=facts.TEMPLATE_SCOPE)
        rows = _objects(parse_json(response), "custom button", "custombuttons")
        return [CustomButton.from_json(row) for row in rows if _id(row.get("id")) is not None]

    async def custom_button(self, button_id: int) -> CustomButton:
        """One custom button (`GET /CustomButton/{id}`)."""
        return CustomButton.from_json(
            await self._one(f"/CustomButton/{int(button_id)}", "custom button")
        )

    async def create_custom_button(self, fields: Mapping[str, Any]) -> CustomButton | None:
        """Create one button (`POST /CustomButton`, an array of one object without an id).

        Never repeated, after a 5xx, a timeout or a 429 alike (a repeat could create a second
        button): the error says `maybe_applied` when Halo may have created it, and the caller
        reads the list to find out.

        Returns:
            The button Halo returned, or None when its answer held no button with an id.

        Raises:
            ValueError: `fields` holds an `id` (that would edit a button, not create one).
        """
        if "id" in fields:
            raise ValueError("a new button has no id")
        kept, self.max_retries = self.max_retries, 0
        try:
            response = await self._request(
                "POST", "/CustomButton", json=[dict(fields)], scope=facts.TEMPLATE_SCOPE
            )
        finally:
            self.max_retries = kept
        if not response.content.strip():
            return None
        body = parse_json(response)
        if isinstance(body, list) and body:
            body = body[0]
        if isinstance(body, dict) and _id(body.get("id")) is not None:
            return CustomButton.from_json(body)
        return None

    async def delete_custom_button(self, button_id: int) -> None:
        """Remove one button (`DELETE /CustomButton/{id}`); safe to repeat."""
        await self._request("DELETE", f"/CustomButton/{int(button_id)}", scope=facts.TEMPLATE_SCOPE)


def admin_client_for(
    http: httpx.AsyncClient,
    main: HaloClient,
    credentials: Credentials,
    *,
    endpoints: HaloEndpoints | None = None,
    scopes: Sequence[str] = (facts.TEMPLATE_SCOPE,),
) -> HaloAdminClient:
    """A `HaloAdminClient` beside `main`: the same endpoints and rate limiter, its own token."""
    client = client_for(
        http,
        endpoints or main.endpoints,
        credentials,
        limiter=main.limiter,
        scopes=scopes,
        client_class=HaloAdminClient,
    )
    assert isinstance(client, HaloAdminClient)
    return client
