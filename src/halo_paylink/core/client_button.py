"""The custom button on Halo's client record that links back to Benji Pays: preview, create,
read back, remove.

The button (`usage` `facts.CLIENT_BUTTON_USAGE`) opens the merchant's Benji portal: the pay-now
link without its invoice part (`portal_url`). `plan_button` shows what would be created and
whether an equal button is already there (then nothing is created: never twice). `create` posts
it, remembers the new id in the state folder, and reads it back; when Halo's answer leaves
unclear whether it was created (a timeout, a 5xx), the list is read to find it. `remove`
deletes the button the assistant created (only that one) and forgets it.

The network calls run on the caller's loop; file I/O goes through `blocking`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from halo_paylink.core.admin_steps import Blocking, read_record
from halo_paylink.errors import ErrorKind, HaloError, UsageError
from halo_paylink.halo import facts
from halo_paylink.halo.templates import CustomButton, HaloAdminClient
from halo_paylink.storage.atomic import write_atomic

BUTTON_NAME = "Benji Pays"
BUTTON_LABEL = "Benji Pays"


def portal_url(link_template: str) -> str:
    """The Benji portal a client button opens: the pay-now link up to its `/pay/` part, without
    query or fragment (the invoice number belongs to one invoice, not to a client).

    Raises:
        UsageError: no https link to start from.
    """
    parts = urlsplit(link_template.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise UsageError(
            "The client button needs the Benji pay-now link first.",
            "Paste the pay-now link from Benji Pays on the Email page.",
        )
    path = parts.path
    cut = path.lower().find("/pay")
    if cut >= 0:
        path = path[: cut + 1]
    return urlunsplit(("https", parts.netloc, path or "/", "", ""))


@dataclass(frozen=True)
class ButtonPlan:
    """What `create` would do.

    Attributes:
        fields: the button as it would be sent.
        existing: an equal client button already in Halo (then nothing is created).
    """

    fields: dict[str, Any]
    existing: CustomButton | None = None

    @property
    def url(self) -> str:
        return str(self.fields["url"])

    def preview(self) -> str:
        if self.existing is not None:
            return (
                f"Halo already has a client button to {self.url} "
                f"('{self.existing.label or self.existing.name}', #{self.existing.id}): "
                "nothing to create."
            )
        return (
            f"Create a button '{self.fields['label']}' on every client record in Halo, opening "
            f"{self.url} in a new tab."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "button": self.fields,
            "existing": None if self.existing is None else self.existing.id,
            "note": facts.UNVERIFIED_NOTES["template_scope"],
        }


def _same(button: CustomButton, url: str) -> bool:
    return button.usage == facts.CLIENT_BUTTON_USAGE and button.url.strip() == url


async def plan_button(client: HaloAdminClient, link_template: str) -> ButtonPlan:
    """Read Halo's buttons and plan the client button.

    Raises:
        UsageError: no usable link, or one too long for a button.
        HaloError: Halo refused or failed.
    """
    url = portal_url(link_template)
    if len(url) > facts.CUSTOM_BUTTON_URL_MAX:
        raise UsageError(
            f"The portal address is {len(url)} characters; Halo keeps at most "
            f"{facts.CUSTOM_BUTTON_URL_MAX} for a button.",
            "Use the shorter portal address Benji Pays shows.",
        )
    fields = {
        "usage": facts.CLIENT_BUTTON_USAGE,
        "name": BUTTON_NAME,
        "label": BUTTON_LABEL,
        "url": url,
        "newtab": True,
    }
    existing = next((b for b in await client.custom_buttons() if _same(b, url)), None)
    return ButtonPlan(fields, existing)


@dataclass(frozen=True)
class ButtonResult:
    """A created (or removed) button, and whether reading back confirmed it."""

    button: CustomButton | None
    confirmed: bool
    record: Path
    created: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": None if self.button is None else self.button.id,
            "url": None if self.button is None else self.button.url,
            "created": self.created,
            "confirmed": self.confirmed,
            "record": str(self.record),
        }


async def _find_created(client: HaloAdminClient, plan: ButtonPlan) -> CustomButton | None:
    matches = [b for b in await client.custom_buttons() if _same(b, plan.url)]
    return max(matches, key=lambda b: b.id) if matches else None


async def create(
    client: HaloAdminClient,
    plan: ButtonPlan,
    record: Path,
    *,
    web_url: str,
    blocking: Blocking = asyncio.to_thread,
) -> ButtonResult:
    """Create the planned button, remember its id, read it back.

    Raises:
        HaloError: Halo refused (e.g. not permitted) or failed without creating it.
        OSError: the record could not be written (the button exists; its id is in the error).
    """
    if plan.existing is not None:
        return ButtonResult(plan.existing, confirmed=True, record=record, created=False)
    try:
        made = await client.create_custom_button(plan.fields)
    except HaloError as error:
        if not error.maybe_applied:
            raise
        made = await _find_created(client, plan)
        if made is None:
            raise
    if made is None:  # Halo answered without the new button: find it in the list
        made = await _find_created(client, plan)
    if made is None:
        raise HaloError(
            ErrorKind.MALFORMED_RESPONSE,
            "Halo accepted the button but it is not in its list of custom buttons.",
        )
    document = {
        "web_url": web_url,
        "button_id": made.id,
        "url": plan.url,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    await blocking(write_atomic, record, json.dumps(document, indent=1))
    read_back = await client.custom_button(made.id)
    return ButtonResult(read_back, confirmed=_same(read_back, plan.url), record=record)


async def remove(
    client: HaloAdminClient, record: Path, *, blocking: Blocking = asyncio.to_thread
) -> ButtonResult:
    """Delete the button the assistant created, confirm it is gone, and forget it.

    Raises:
        UsageError: the assistant has not created a button on this Halo.
        HaloError: Halo refused or failed.
    """
    document = await blocking(read_record, record)
    button_id = document.get("button_id") if document else None
    if not isinstance(button_id, int):
        raise UsageError(
            "The assistant has not created a client button on this Halo.",
            "Only a button the assistant created is removed; remove others in Halo.",
        )
    try:
        await client.delete_custom_button(button_id)
    except HaloError as error:
        if error.kind is not ErrorKind.NOT_FOUND:
            raise
    gone = button_id not in {b.id for b in await client.custom_buttons()}
    if gone:
        await blocking(record.unlink, True)
    return ButtonResult(None, confirmed=gone, record=record, created=False)
