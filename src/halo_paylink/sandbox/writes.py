"""`POST /api/Invoice`: Halo's bulk invoice update (and create), all or nothing.

The body is a JSON array of invoice objects. Every element is checked before anything is saved:
one bad element refuses the whole POST, and an id of 0 or less (a recurring-invoice template or
system row) refuses it before anything else is looked at. An element with `_validateonly: true`
is checked and answered but not saved. Sent fields Halo does not know or computes itself are
ignored; `customfields` are merged by id or name; `lines` sent back replace the invoice's lines.

With `SandboxConfig.stamp_changes`, a save that changes an invoice moves its `last_modified`;
when the invoice has been synced to the accounting tool and `SandboxConfig.push_on_save` is on,
the save pushes it there again and its `last_synced` moves too. A save that changes nothing
moves neither (U on Halo).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from halo_paylink.sandbox.http import Request, Response, json_response, text_response
from halo_paylink.sandbox.records import UNINDEXED_FIELDS, Invoice, finite_number
from halo_paylink.sandbox.stamps import STAMP_FIELDS
from halo_paylink.sandbox.state import SandboxConfig, SandboxStats, StatusCodes
from halo_paylink.sandbox.store import InvoiceStore
from halo_paylink.sandbox.validation import field_errors, problem

#: Fields Halo computes; values sent for them are ignored (U: modelled as read-only).
READ_ONLY_FIELDS = frozenset({"id", "amountdue", "amount_remaining", "client_name", *STAMP_FIELDS})

_JSON_MEDIA_TYPES = ("application/json", "text/json")


@dataclass(frozen=True)
class _Plan:
    """What one element of the body will do once every element has passed.

    Attributes:
        invoice_id: the invoice it updates; None = it creates one.
        updated: the invoice as it will be stored (a new dict).
        sent: the names of the fields it sent.
        changed: whether saving it changes the stored invoice (always, for a new one).
    """

    invoice_id: int | None
    updated: Invoice
    validate_only: bool
    sent: frozenset[str]
    changed: bool = True


def post_invoices(
    request: Request, store: InvoiceStore, config: SandboxConfig, stats: SandboxStats
) -> Response:
    """Answer one invoice POST (under the state lock)."""
    with stats.lock:
        stats.invoice_posts += 1
    items = _read_items(request)
    if isinstance(items, Response):
        return items
    refusal = _refuse_templates(items, stats)
    if refusal is not None:
        return refusal
    plans: list[_Plan] = []
    for index, item in enumerate(items):
        plan = _plan(index, item, store, config)
        if isinstance(plan, Response):
            return plan
        plans.append(plan)
    saved = _save(plans, store, stats, push=config.push_on_save)
    if config.update_answer == "one":
        return json_response(200, saved[-1] if saved else {})
    return json_response(200, saved)


def _read_items(request: Request) -> list[object] | Response:
    """The body's JSON array; or the answer refusing a body of another type or shape."""
    media_type = request.media_type
    if media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        return text_response(415, "Unsupported Media Type")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return problem({"$": f"The JSON value could not be read: {exc}"})
    if not isinstance(data, list):
        return problem({"$": "The request body must be a JSON array of invoice objects."})
    return data


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_templates(items: list[object], stats: SandboxStats) -> Response | None:
    """Ids <= 0 are recurring-invoice templates and system rows: the update is refused as a
    whole (nothing in this POST is saved), and each attempt is recorded for tests."""
    refused = [
        (index, item["id"])
        for index, item in enumerate(items)
        if isinstance(item, dict) and _whole_number(item.get("id")) and item["id"] <= 0
    ]
    if not refused:
        return None
    with stats.lock:
        for _, bad_id in refused:
            stats.refused_ids[bad_id] += 1
    return problem(
        {
            f"[{index}].id": f"Invoice {bad_id} is not an invoice that can be updated "
            "(recurring invoice templates and system records have ids of 0 or less)."
            for index, bad_id in refused
        }
    )


def _plan(index: int, item: object, store: InvoiceStore, config: SandboxConfig) -> _Plan | Response:
    """What element `index` will do; or the answer refusing the POST because of it."""
    if not isinstance(item, dict):
        return problem({f"[{index}]": "Each element must be an invoice object."})
    raw_id = item.get("id")
    if raw_id is not None and not _whole_number(raw_id):
        return problem({f"[{index}].id": "The id must be a whole number."})
    target = _target(raw_id, store, config)
    if isinstance(target, Response):
        return target
    invoice_id, base = target
    errors = field_errors(item, index)
    if errors:
        return problem(errors)
    updated = applied(base, item)
    return _Plan(
        invoice_id,
        updated,
        item.get("_validateonly") is True,
        frozenset(item),
        invoice_id is None or updated != base,
    )


def _target(
    raw_id: int | None, store: InvoiceStore, config: SandboxConfig
) -> tuple[int | None, Mapping[str, Any]] | Response:
    """(the id to update, the invoice as it is) for a sent id; (None, a blank invoice) without
    one; or the answer refusing the POST (no such invoice, or a posted one that may not be
    edited)."""
    if raw_id is None or raw_id <= 0:
        return None, new_invoice(config.status_codes)
    current = store.stored(raw_id)
    if current is None:
        return text_response(404, f"Invoice {raw_id} not found.")
    if config.forbid_editing_posted and current.get("posted"):
        return text_response(
            400,
            f"Invoice {raw_id} is posted and editing posted invoices is not allowed "
            "(Configuration > Billing > Invoices).",
        )
    return raw_id, current


def _save(
    plans: list[_Plan], store: InvoiceStore, stats: SandboxStats, *, push: bool
) -> list[Invoice]:
    """Carry out every plan; the invoices as saved (or as they would be, for validate-only),
    with their stamps. `push`: a change of a synced invoice goes to the accounting tool."""
    saved = []
    changed_index = False
    for plan in plans:
        if plan.validate_only:
            with stats.lock:
                stats.validate_only += 1
            answer = dict(plan.updated)
            if plan.invoice_id is not None:
                answer.update(_stamps_of(store, plan.invoice_id))
        else:
            invoice_id, index_changed = _save_one(plan, store, stats, push=push)
            changed_index = index_changed or changed_index
            answer = store.served(invoice_id)
        saved.append(answer)
    if changed_index:
        store.mark_changed()
    return saved


def _stamps_of(store: InvoiceStore, invoice_id: int) -> dict[str, Any]:
    """The stamp fields invoice `invoice_id` is served with now."""
    served = store.served(invoice_id, lines=False)
    return {name: served[name] for name in STAMP_FIELDS if name in served}


def _save_one(
    plan: _Plan, store: InvoiceStore, stats: SandboxStats, *, push: bool
) -> tuple[int, bool]:
    """Save one invoice; its id, and True when the change may alter listings (a new invoice, or
    a field listings filter or sort by)."""
    invoice_id = plan.invoice_id
    changed_index = bool(plan.sent - UNINDEXED_FIELDS - {"id"})
    if invoice_id is None:
        invoice_id = max(store.invoices, default=0) + 1
        plan.updated["id"] = invoice_id
        with stats.lock:
            stats.invoices_created += 1
        changed_index = True
    store.invoices[invoice_id] = plan.updated
    if plan.changed:
        store.touch(invoice_id, push=push)
    with stats.lock:
        stats.invoices_written[invoice_id] += 1
    return invoice_id, changed_index


# --- applying the sent fields -------------------------------------------------------------


def applied(base: Mapping[str, Any], item: Mapping[str, Any]) -> Invoice:
    """A new invoice dict: `base` with the sent fields applied (nothing is changed in place, so a
    listing being serialised elsewhere never sees half an update)."""
    updated = dict(base)
    for name, value in item.items():
        if name.startswith("_") or name in READ_ONLY_FIELDS or name not in base:
            continue  # Halo ignores what it does not know or computes itself
        if name == "customfields":
            updated["customfields"] = _merged_custom_fields(base, value)
        elif name == "lines":
            # Faithful hazard: lines sent back REPLACE the invoice's lines, and the totals follow.
            lines = [dict(line) for line in value]
            updated["lines"] = lines
            updated["total"] = round(sum(float(line.get("net_amount") or 0) for line in lines), 2)
        else:
            updated[name] = value
    _recompute_due(updated)
    return updated


def _merged_custom_fields(base: Mapping[str, Any], sent: list[Any]) -> list[dict[str, Any]]:
    """The invoice's custom fields with the sent values set, each matched by id or name (a name
    the instance does not define is ignored, as Halo ignores it)."""
    fields = [dict(cf) for cf in base.get("customfields") or []]
    for one in sent:
        for cf in fields:
            if ("id" in one and cf.get("id") == one["id"]) or (
                "name" in one and cf.get("name") == one["name"]
            ):
                cf["value"] = one.get("value")
                break
    return fields


def _recompute_due(invoice: Invoice) -> None:
    """Set the amount due from the total and the amount paid, when both are numbers (an odd
    record's amounts are left as they are: Halo would not recompute them either)."""
    total, paid = invoice.get("total"), invoice.get("amountpaid")
    if finite_number(total) and (paid is None or finite_number(paid)):
        due = round(float(total) - float(paid or 0), 2)
        invoice["amountdue"] = due
        invoice["amount_remaining"] = due


def new_invoice(codes: StatusCodes) -> Invoice:
    """The invoice a POST element without an id starts from (coded unpaid)."""
    return {
        "id": 0,
        "invoicenumber": "",
        "thirdpartyinvoicenumber": None,
        "client_id": 0,
        "client_name": "",
        "invoice_date": None,
        "duedate": None,
        "posted": False,
        "voided": False,
        "total": 0.0,
        "amountpaid": 0.0,
        "amountdue": 0.0,
        "amount_remaining": 0.0,
        "paymentstatus": codes.unpaid,
        "invoicetype": 0,
        "currency": "USD",
        "qboid": None,
        "xeroid": None,
        "pdf_attachment_id": None,
        "generic_online_invoice_payment_url": "",
        "xero_online_invoice_payment_url": "",
        "customfields": [],
        "lines": [],
    }
