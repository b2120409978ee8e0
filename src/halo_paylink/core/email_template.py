"""Insert the Pay link into a Halo email template for the admin: find, preview, back up, save,
read back, and undo.

1. `find_template` picks the template by name (`facts.INVOICE_EMAIL_TEMPLATE` unless the admin
   names another) or by id.
2. `plan_template` plans the change of both bodies (`core.template_body`) and shows it; nothing
   is saved without a plan the admin has seen.
3. `insert` reads the template again (refusing when it changed since the preview), writes the
   backup to the state folder atomically BEFORE saving, saves only the changed bodies, and reads
   the template back to confirm.
4. `undo` puts the backed-up bodies back, byte for byte, and reads them back; it refuses when the
   template changed since the assistant saved it, unless forced.

Only the bodies are ever sent; the subject (`facts.TEMPLATE_SUBJECT_FIELD`, U) is shown, never
changed. The network calls run on the caller's loop; file I/O goes through `blocking` (a worker
thread by default).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_paylink.core.admin_steps import Blocking, read_record
from halo_paylink.core.links import EmailSnippet
from halo_paylink.core.template_body import BodyChange, BodyKind, Placement, plan_body
from halo_paylink.errors import UsageError
from halo_paylink.halo import facts
from halo_paylink.halo.templates import EmailTemplate, HaloAdminClient
from halo_paylink.storage.atomic import write_atomic

BACKUP_VERSION = 1
_BODIES = (BodyKind.HTML, BodyKind.TEXT)


def _bodies(template: EmailTemplate) -> dict[str, str]:
    return {"body_html": template.body_html, "body_text": template.body_text}


def find_template(templates: Sequence[EmailTemplate], wanted: str = "") -> EmailTemplate:
    """The template named `wanted` (case and outer spaces ignored), or with that id (`#-12` or
    `-12`); `facts.INVOICE_EMAIL_TEMPLATE` when `wanted` is empty.

    Raises:
        UsageError: none matches, or several do (the message lists them).
    """
    name = wanted.strip() or facts.INVOICE_EMAIL_TEMPLATE
    as_id = name.lstrip("#")
    if as_id.lstrip("-").isdigit():
        found = [t for t in templates if t.id == int(as_id)]
    else:
        found = [t for t in templates if t.name.strip().casefold() == name.casefold()]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(f"'{t.name}' (#{t.id})" for t in templates[:30]) or "none"
    if not found:
        raise UsageError(
            f"Halo has no email template '{name}'.",
            f"Choose one of the templates Halo has: {listed}.",
        )
    raise UsageError(
        f"Halo has {len(found)} email templates named '{name}'.",
        "Choose one by its id: " + ", ".join(f"#{t.id}" for t in found) + ".",
    )


@dataclass(frozen=True)
class TemplatePlan:
    """The change of one template, for the preview and the save.

    Attributes:
        template: the template as read.
        snippet: the link and its forms.
        changes: one per body (HTML first).
    """

    template: EmailTemplate
    snippet: EmailSnippet
    changes: tuple[BodyChange, ...]

    @property
    def changed(self) -> bool:
        return any(change.changed for change in self.changes)

    def fields(self) -> dict[str, str]:
        """The bodies to send (the changed ones only)."""
        return {c.kind.value: c.after for c in self.changes if c.changed}

    def after(self) -> dict[str, str]:
        return {c.kind.value: c.after for c in self.changes}

    def preview(self) -> str:
        """The preview shown before anything is saved: what changes, then the diff."""
        head = [
            f"Email template '{self.template.name}' (#{self.template.id}), subject "
            f"{self.template.subject!r}.",
            *(change.summary() for change in self.changes),
        ]
        if not self.changed:
            head.append("Nothing to save.")
        diffs = [change.diff() for change in self.changes if change.changed]
        return "\n".join(head) + ("\n\n" + "\n".join(diffs) if diffs else "\n")

    def to_json(self) -> dict[str, Any]:
        return {
            "template": {"id": self.template.id, "name": self.template.name},
            "subject": self.template.subject,
            "subject_note": facts.UNVERIFIED_NOTES["template_subject"],
            "link": self.snippet.link,
            "changed": self.changed,
            "bodies": [
                {
                    "field": c.kind.value,
                    "action": c.action.value,
                    "replaced": list(c.replaced),
                    "diff": c.diff(),
                }
                for c in self.changes
            ],
        }


def plan_template(
    template: EmailTemplate,
    snippet: EmailSnippet,
    placement: Placement = Placement.END,
    marker: str = "",
) -> TemplatePlan:
    """Plan the change of both bodies of `template` (see `core.template_body.plan_body`).

    With AFTER_MARKER, a body holding the marker gets the link after it and the other body at
    its end; the marker must be in one of them.

    Raises:
        UsageError: the template has no body at all, or the marker is in neither body.
    """
    if not template.body_html and not template.body_text:
        raise UsageError(
            f"The email template '{template.name}' has no body to put the link in.",
            "Write the email in Halo first, or choose another template.",
        )
    bodies = _bodies(template)
    if placement is Placement.AFTER_MARKER and not any(
        marker and marker in body for body in bodies.values()
    ):
        raise UsageError(
            f"Neither body of '{template.name}' contains {marker!r}."
            if marker
            else "No marker text was given.",
            "Type text that appears in the template to put the link after, or put it at the end.",
        )
    changes = []
    for kind in _BODIES:
        body = bodies[kind.value]
        # after the marker where the body has it; at the end of a body that does not
        where = placement if marker and marker in body else Placement.END
        changes.append(plan_body(body, kind, snippet, where, marker))
    return TemplatePlan(template, snippet, tuple(changes))


@dataclass(frozen=True)
class SaveResult:
    """What a save or an undo did, and whether reading back confirmed it.

    Attributes:
        template: the template as read back.
        confirmed: the read-back shows exactly the bodies sent.
        backup: the backup file (kept after a save; removed after a confirmed undo).
        saved: False when there was nothing to save.
    """

    template: EmailTemplate
    confirmed: bool
    backup: Path
    saved: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "template": {"id": self.template.id, "name": self.template.name},
            "saved": self.saved,
            "confirmed": self.confirmed,
            "backup": str(self.backup),
            "note": facts.UNVERIFIED_NOTES["template_scope"],
        }


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _backup_document(
    plan: TemplatePlan, earlier: dict[str, Any] | None, web_url: str
) -> dict[str, Any]:
    """The backup to write: the bodies before this save (or, when the assistant's earlier save
    is still in place, the bodies before that one), and the bodies this save sends."""
    original = _bodies(plan.template)
    if earlier and earlier.get("saved") == original and isinstance(earlier.get("original"), dict):
        original = dict(earlier["original"])
    return {
        "version": BACKUP_VERSION,
        "web_url": web_url,
        "template_id": plan.template.id,
        "template_name": plan.template.name,
        "original": original,
        "saved": plan.after(),
        "saved_at": _stamp(),
    }


def _load_backup(path: Path) -> dict[str, Any] | None:
    data = read_record(path)
    if data is None:
        return None
    bodies_ok = all(
        isinstance(data.get(key), dict)
        and all(isinstance(data[key].get(k.value), str) for k in _BODIES)
        for key in ("original", "saved")
    )
    if not bodies_ok or not isinstance(data.get("template_id"), int):
        raise UsageError(
            f"The template backup at {path} is incomplete.",
            "Look at the file; the template in Halo was not changed by this.",
        )
    return dict(data)


async def insert(
    client: HaloAdminClient,
    plan: TemplatePlan,
    backup: Path,
    *,
    web_url: str,
    blocking: Blocking = asyncio.to_thread,
) -> SaveResult:
    """Save a previewed plan: re-read, back up, save, read back (see the module docstring).

    Raises:
        UsageError: the template changed since the preview (nothing saved), or the backup on
            disk cannot be read.
        OSError: the backup could not be written (nothing saved).
        HaloError: Halo refused or failed (see `halo.templates.is_not_permitted`).
    """
    now = await client.email_template(plan.template.id)
    if _bodies(now) != _bodies(plan.template):
        raise UsageError(
            f"The email template '{now.name}' changed since the preview.",
            "Show the change again, then insert.",
        )
    if not plan.changed:
        return SaveResult(now, confirmed=True, backup=backup, saved=False)
    earlier = await blocking(_load_backup, backup)
    document = _backup_document(plan, earlier, web_url)
    await blocking(write_atomic, backup, json.dumps(document, ensure_ascii=False, indent=1))
    await client.update_email_template(plan.template.id, plan.fields())
    read_back = await client.email_template(plan.template.id)
    return SaveResult(read_back, confirmed=_bodies(read_back) == plan.after(), backup=backup)


async def undo(
    client: HaloAdminClient,
    backup: Path,
    *,
    force: bool = False,
    blocking: Blocking = asyncio.to_thread,
) -> SaveResult:
    """Put the backed-up bodies back and read them back; the backup is removed once confirmed.

    Raises:
        UsageError: no backup; or the template changed since the assistant saved it (nothing
            sent) and `force` is not set.
        HaloError: Halo refused or failed.
    """
    document = await blocking(_load_backup, backup)
    if document is None:
        raise UsageError(
            "There is no change of an email template to undo.",
            "The assistant keeps a backup only after it has changed a template.",
        )
    template_id = int(document["template_id"])
    now = await client.email_template(template_id)
    if _bodies(now) != document["saved"] and not force:
        raise UsageError(
            f"The email template '{now.name}' changed after the assistant saved it.",
            "Look at it in Halo first; to put the backup back anyway, undo with force "
            "(the later changes are then lost).",
        )
    original = {k.value: str(document["original"][k.value]) for k in _BODIES}
    changed = {k: v for k, v in original.items() if _bodies(now)[k] != v}
    if changed:
        await client.update_email_template(template_id, changed)
    read_back = await client.email_template(template_id)
    confirmed = _bodies(read_back) == original
    if confirmed:
        await blocking(backup.unlink, True)
    return SaveResult(read_back, confirmed=confirmed, backup=backup, saved=bool(changed))
