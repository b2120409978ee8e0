"""Repeatable, realistic invoice data for the sandbox.

`seed_invoices(n, seed)` builds `n` Halo-shaped invoices from `random.Random(seed)`: the same
arguments always give the same data. Every category a backfill must tell apart is present
(given enough invoices: one of each is placed first, the rest drawn by weight): paid, part-paid,
unpaid, credits (negative totals), voided, drafts (not posted), zero due, not yet synced to the
accounting tool, and open invoices that already carry a payment link (a typical Benji link, or
some other link). Client names include non-ASCII ones. 100,000 invoices seed in about a second.

Two mixes: "default", a busy tenant with two years of invoices, about half of them open, and
"old", a tenant with eight years of history, about 96 % of it long paid, dated in id order
(`OLD_CATEGORY_WEIGHTS`). The `paymentstatus` each invoice carries follows the `StatusCodes`
given; and each seeded record gets its stamps (`last_modified`, `last_synced`, see `stamps`),
derived from its date and id without a random draw.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from halo_paylink.sandbox.stamps import Stamps, format_stamp
from halo_paylink.sandbox.state import MIXES, StatusCodes

#: The link a merchant would configure for the demo (the placeholder is the accounting number).
DEMO_BENJI_TEMPLATE = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber=[Invoice No.]"
DEMO_BENJI_PREFIX = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber="

#: Custom fields every seeded invoice carries (Halo returns them as a list of objects).
PAYMENT_LINK_CUSTOM_FIELD = "CFPaymentLink"
PO_NUMBER_CUSTOM_FIELD = "CFPONumber"

FIRST_INVOICE_ID = 1001

# Category names (see `SeedResult.categories`).
PAID = "paid"
PART_PAID = "part_paid"
UNPAID = "unpaid"
CREDIT = "credit"
VOIDED = "voided"
DRAFT = "draft"
ZERO_DUE = "zero_due"
NOT_SYNCED = "not_synced"
LINKED_BENJI = "linked_benji"
LINKED_OTHER = "linked_other"

#: (category, weight). Open = what a backfill should give a link: posted, not voided, total > 0,
#: amount due > 0, synced, and no link yet (unpaid + part-paid here).
CATEGORY_WEIGHTS: tuple[tuple[str, int], ...] = (
    (PAID, 30),
    (PART_PAID, 8),
    (UNPAID, 35),
    (CREDIT, 5),
    (VOIDED, 4),
    (DRAFT, 6),
    (ZERO_DUE, 3),
    (NOT_SYNCED, 4),
    (LINKED_BENJI, 3),
    (LINKED_OTHER, 2),
)
#: (category, weight) of the "old" mix: years of history, nearly all of it long paid.
OLD_CATEGORY_WEIGHTS: tuple[tuple[str, int], ...] = (
    (PAID, 960),
    (PART_PAID, 6),
    (UNPAID, 14),
    (CREDIT, 6),
    (VOIDED, 4),
    (DRAFT, 2),
    (ZERO_DUE, 3),
    (NOT_SYNCED, 2),
    (LINKED_BENJI, 2),
    (LINKED_OTHER, 1),
)
#: How many days the "old" mix's invoice dates span, the oldest first in id order.
OLD_SPAN_DAYS = 8 * 365
#: Recurring-invoice templates the "old" mix adds besides `SandboxConfig.templates`.
OLD_MIX_TEMPLATES = 5

#: Categories that are open invoices in need of a link.
OPEN_NEEDING_LINK: frozenset[str] = frozenset({UNPAID, PART_PAID})

#: How often an unpaid invoice carries the never-synced code rather than the unpaid one.
_UNSYNCED_CODE_SHARE = 0.15

CLIENTS: tuple[tuple[str, str], ...] = (
    ("Acme Widgets Ltd", "GBP"),
    ("Müller & Söhne GmbH", "EUR"),
    ("Café Zoë", "EUR"),
    ("株式会社テスト", "JPY"),
    ("Northwind Traders", "USD"),
    ("Contoso Pharmaceuticals", "USD"),
    ("Globex Corporation", "USD"),
    ("Initech LLC", "USD"),
    ("Umbrella Dental Group", "USD"),
    ("Stark Logistics, Inc.", "USD"),
    ("O'Brien & Daughters Plumbing", "USD"),
    ("Łódź Software Sp. z o.o.", "EUR"),
    ("Ångström Optics AB", "EUR"),
    ("Smith, Jones & Partners LLP", "GBP"),
    ("Blue Ridge Family Clinic", "USD"),
    ("Peña Construction", "USD"),
    ('Tech "Quoted" Solutions', "USD"),
    ("Dvořák Music School", "EUR"),
    ("Harbour View Hotel", "GBP"),
    ("Fabrikam Residences", "USD"),
    ("Wayne Enterprises", "USD"),
    ("Soylent Foods", "USD"),
    ("Hooli <XYZ> Division", "USD"),
    ("Ζήτα Consulting", "EUR"),
    ("Riverside Accountancy", "GBP"),
)
_ITEMS: tuple[tuple[str, str, float, float], ...] = (
    ("MSP-GOLD", "Managed services – Gold, per user", 45.0, 95.0),
    ("M365-BP", "Microsoft 365 Business Premium", 18.0, 26.0),
    ("BACKUP-TB", "Cloud backup, per TB", 30.0, 60.0),
    ("LAB-HR", "On-site labour, per hour", 85.0, 160.0),
    ("FW-LIC", "Firewall licence renewal", 120.0, 900.0),
    ("HW-LAPTOP", "Laptop (supplied and configured)", 700.0, 1900.0),
)
_BASE_DATE = dt.date(2025, 6, 30)


@dataclass(frozen=True)
class SeedResult:
    """Seeded invoices by id, the category each was generated as (for tests and the demo), and
    the stamps of each."""

    invoices: dict[int, dict[str, Any]]
    categories: dict[int, str]
    stamps: dict[int, Stamps] = field(default_factory=dict)


def _categories(
    rng: random.Random, n: int, weighted: tuple[tuple[str, int], ...] = CATEGORY_WEIGHTS
) -> list[str]:
    names = [name for name, _ in weighted]
    weights = [w for _, w in weighted]
    guaranteed = names[: min(n, len(names))]
    rest = rng.choices(names, weights=weights, k=max(0, n - len(guaranteed)))
    result = guaranteed + rest
    rng.shuffle(result)
    return result


def _lines(rng: random.Random, invoice_id: int, sign: int) -> tuple[list[dict[str, Any]], float]:
    lines = []
    total = 0.0
    for n in range(rng.randint(1, 3)):
        code, desc, lo, hi = _ITEMS[rng.randrange(len(_ITEMS))]
        qty = rng.randint(1, 12)
        price = round(rng.uniform(lo, hi), 2)
        net = round(sign * qty * price, 2)
        total += net
        lines.append(
            {
                "id": invoice_id * 10 + n,
                "ihid": invoice_id,
                "item_code": code,
                "description": desc,
                "qty_order": qty,
                "unit_price": price,
                "net_amount": net,
            }
        )
    return lines, round(total, 2)


def seed_invoices(
    n: int, seed: int = 1, *, mix: str = "default", codes: StatusCodes | None = None
) -> SeedResult:
    """Build `n` invoices (ids from FIRST_INVOICE_ID) deterministically from `seed`, as `mix`
    ("default" or "old") has them, coded with `codes` (the sandbox's defaults when None)."""
    if n < 0:
        raise ValueError("the number of invoices must not be negative")
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {MIXES}")
    codes = codes or StatusCodes()
    rng = random.Random(seed)
    invoices: dict[int, dict[str, Any]] = {}
    categories: dict[int, str] = {}
    stamps: dict[int, Stamps] = {}
    old = mix == "old"
    weighted = OLD_CATEGORY_WEIGHTS if old else CATEGORY_WEIGHTS
    for index, category in enumerate(_categories(rng, n, weighted)):
        invoice_id = FIRST_INVOICE_ID + index
        date = _old_date(index, n) if old else None
        invoice = _invoice(rng, index, category, codes, date)
        invoices[invoice_id] = invoice
        categories[invoice_id] = category
        stamps[invoice_id] = seeded_stamps(invoice, category)
    return SeedResult(invoices=invoices, categories=categories, stamps=stamps)


def _old_date(index: int, n: int) -> dt.date:
    """The date of the `index`-th of `n` invoices of the "old" mix: spread evenly over
    `OLD_SPAN_DAYS`, in id order, the newest on the seed's base date."""
    return _BASE_DATE - dt.timedelta(days=(n - 1 - index) * OLD_SPAN_DAYS // max(1, n - 1))


def new_invoices(
    first_id: int, count: int, category: str, codes: StatusCodes, rng: random.Random, on: dt.date
) -> dict[int, dict[str, Any]]:
    """`count` invoices of `category` dated `on`, with ids from `first_id` up (invoices raised
    after the seeding; their stamps are the caller's)."""
    if category not in {name for name, _ in CATEGORY_WEIGHTS}:
        names = ", ".join(name for name, _ in CATEGORY_WEIGHTS)
        raise ValueError(f"unknown invoice category {category!r}; known: {names}")
    return {
        first_id + k: _invoice(rng, first_id + k - FIRST_INVOICE_ID, category, codes, on)
        for k in range(count)
    }


def _invoice(
    rng: random.Random,
    index: int,
    category: str,
    codes: StatusCodes,
    date: dt.date | None = None,
) -> dict[str, Any]:
    """The `index`-th seeded invoice, generated as `category` and dated `date` (drawn within the
    last two years when None). The random draws are made in a fixed order, so a seed always
    gives the same data."""
    invoice_id = FIRST_INVOICE_ID + index
    client_index = rng.randrange(len(CLIENTS))
    client_name, currency = CLIENTS[client_index]
    if date is None:
        date = _BASE_DATE - dt.timedelta(days=rng.randrange(730))
    lines, total = _category_lines(rng, invoice_id, category)
    paid, status = _payment(rng, category, total, codes)
    due = round(total - paid, 2)
    posted = category != DRAFT
    synced = posted and category != NOT_SYNCED
    accounting_number = str(20000 + index) if synced else None
    link = _link(rng, category, accounting_number)
    return {
        "id": invoice_id,
        "invoicenumber": f"INV-{invoice_id:06d}",
        # Halo sends null or "" for an invoice not yet synced; both occur.
        "thirdpartyinvoicenumber": accounting_number if synced else (None if index % 2 else ""),
        "client_id": 100 + client_index,
        "client_name": client_name,
        "invoice_date": f"{date.isoformat()}T00:00:00",
        "duedate": f"{(date + dt.timedelta(days=30)).isoformat()}T00:00:00",
        "posted": posted,
        "voided": category == VOIDED,
        "total": total,
        "amountpaid": paid,
        "amountdue": due,
        "amount_remaining": due,
        "paymentstatus": status,
        "invoicetype": 1 if category == CREDIT else 0,
        "currency": currency,
        "qboid": 5000 + index if synced else None,
        "xeroid": None,
        "pdf_attachment_id": 700000 + index if posted and rng.random() < 0.6 else None,
        "generic_online_invoice_payment_url": link,
        "xero_online_invoice_payment_url": "",
        "customfields": [
            {
                "id": 201,
                "name": PAYMENT_LINK_CUSTOM_FIELD,
                "label": "Payment link",
                "value": "",
            },
            {
                "id": 202,
                "name": PO_NUMBER_CUSTOM_FIELD,
                "label": "PO number",
                "value": f"PO-{rng.randrange(10**5):05d}" if rng.random() < 0.3 else "",
            },
        ],
        "lines": lines,
    }


def _category_lines(
    rng: random.Random, invoice_id: int, category: str
) -> tuple[list[dict[str, Any]], float]:
    """The lines and total of an invoice of `category` (a credit's are negative; a zero-due
    invoice has one no-charge line)."""
    if category == ZERO_DUE:
        warranty = {
            "id": invoice_id * 10,
            "ihid": invoice_id,
            "item_code": "WARRANTY",
            "description": "Warranty replacement (no charge)",
            "qty_order": 1,
            "unit_price": 0.0,
            "net_amount": 0.0,
        }
        return [warranty], 0.0
    return _lines(rng, invoice_id, -1 if category == CREDIT else 1)


def _payment(
    rng: random.Random, category: str, total: float, codes: StatusCodes
) -> tuple[float, int]:
    """(amount paid, `paymentstatus`) of an invoice of `category`."""
    if category == PAID:
        return total, codes.paid
    if category == PART_PAID:
        return round(total * rng.uniform(0.1, 0.9), 2), codes.part
    if category in (UNPAID, NOT_SYNCED, LINKED_BENJI, LINKED_OTHER):
        return 0.0, codes.unsynced if rng.random() < _UNSYNCED_CODE_SHARE else codes.unpaid
    if category == ZERO_DUE:
        return 0.0, codes.paid
    return 0.0, codes.unpaid


def _link(rng: random.Random, category: str, accounting_number: str | None) -> str:
    """The payment link an invoice of `category` already carries ("" = none)."""
    if category == LINKED_BENJI:
        return DEMO_BENJI_PREFIX + (accounting_number or "")
    if category == LINKED_OTHER:
        return f"https://pay.example.com/i/{rng.randrange(10**8):08d}"
    return ""


def seeded_stamps(record: Mapping[str, Any], category: str) -> Stamps:
    """The stamps of a seeded record: raised on its date, last changed when it was paid (some
    weeks later) or soon after it was raised; synced to the accounting tool at that last change
    when it has an accounting number (never for a draft, one not synced yet or a template)."""
    raw_id = record.get("id")
    key = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else 0
    key = abs(key)
    raised = dt.datetime.combine(_record_date(record), dt.time(9)) + dt.timedelta(minutes=key % 480)
    if category == PAID:
        changed = raised + dt.timedelta(days=3 + key * 37 % 55)
    elif category in (PART_PAID, VOIDED):
        changed = raised + dt.timedelta(days=1 + key * 11 % 20)
    else:
        changed = raised + dt.timedelta(minutes=1 + key % 50)
    last_modified = format_stamp(changed)
    synced = category not in (DRAFT, NOT_SYNCED, TEMPLATE) and bool(
        record.get("thirdpartyinvoicenumber")
    )
    return Stamps(last_modified, last_modified if synced else None)


def _record_date(record: Mapping[str, Any]) -> dt.date:
    value = record.get("invoice_date")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    return _BASE_DATE


# --- records a backfill must not write ---------------------------------------------------------

TEMPLATE = "template"
ODD = "odd"

#: The odd record shapes `odd_records` builds, by name. Each one otherwise looks like an open,
#: synced, unlinked invoice, so only reading it carefully tells it apart.
ODD_KINDS: tuple[str, ...] = (
    "id_string",  # "id": "abc"
    "id_float",  # "id": 1.5
    "id_null",  # "id": null
    "total_nan",  # "total": "NaN"
    "amountdue_infinity",  # "amountdue": "Infinity"
    "total_text",  # "total": "twelve"
    "amountdue_text",  # "amountdue": "n/a"
    "customfields_number",  # "customfields": 7
    "customfields_string",  # "customfields": "CFPaymentLink"
    "total_missing",  # no "total"
    "posted_missing",  # no "posted"
    "thirdparty_object",  # "thirdpartyinvoicenumber": {"value": "20001"}
    "total_object",  # "total": {"value": 120.0}
)
#: Odd shapes whose id is not an integer: they cannot live in the store keyed by id.
ODD_NON_INTEGER_IDS: frozenset[str] = frozenset({"id_string", "id_float", "id_null"})
#: The first id given to odd records with an integer id (below the seeded invoices, so they come
#: first in a listing ordered by id).
FIRST_ODD_ID = 1


def _open_looking(invoice_id: Any, index: int, codes: StatusCodes) -> dict[str, Any]:
    total = round(100.0 + 7.25 * index, 2)
    return {
        "id": invoice_id,
        "invoicenumber": f"INV-ODD-{index:03d}",
        "thirdpartyinvoicenumber": str(90000 + index),
        "client_id": 100,
        "client_name": CLIENTS[0][0],
        "invoice_date": "2025-06-01T00:00:00",
        "duedate": "2025-07-01T00:00:00",
        "posted": True,
        "voided": False,
        "total": total,
        "amountpaid": 0.0,
        "amountdue": total,
        "amount_remaining": total,
        "paymentstatus": codes.unpaid,
        "invoicetype": 0,
        "currency": "USD",
        "qboid": 9000 + index,
        "xeroid": None,
        "pdf_attachment_id": None,
        "generic_online_invoice_payment_url": "",
        "xero_online_invoice_payment_url": "",
        "customfields": [
            {"id": 201, "name": PAYMENT_LINK_CUSTOM_FIELD, "label": "Payment link", "value": ""}
        ],
        "lines": [],
    }


def template_invoices(n: int, codes: StatusCodes | None = None) -> dict[int, dict[str, Any]]:
    """`n` recurring-invoice templates with ids -1, -2, … -n, as Halo lists them beside invoices.

    They look open (posted, not voided, an amount due, an accounting number), so only their id
    says they are not invoices: writing a link to one would be wrong.
    """
    if n < 0:
        raise ValueError("the number of templates must not be negative")
    codes = codes or StatusCodes()
    templates = {}
    for k in range(1, n + 1):
        record = _open_looking(-k, k, codes)
        record["invoicenumber"] = f"RECUR-{k:04d}"
        record["thirdpartyinvoicenumber"] = str(80000 + k)
        templates[-k] = record
    return templates


def odd_record(
    kind: str, invoice_id: Any, index: int = 0, codes: StatusCodes | None = None
) -> dict[str, Any]:
    """One open-looking record with the odd shape `kind` (one of `ODD_KINDS`)."""
    record = _open_looking(invoice_id, index, codes or StatusCodes())
    if kind == "id_string":
        record["id"] = "abc"
    elif kind == "id_float":
        record["id"] = 1.5
    elif kind == "id_null":
        record["id"] = None
    elif kind == "total_nan":
        record["total"] = "NaN"
    elif kind == "amountdue_infinity":
        record["amountdue"] = "Infinity"
        record["amount_remaining"] = "Infinity"
    elif kind == "total_text":
        record["total"] = "twelve"
    elif kind == "amountdue_text":
        record["amountdue"] = "n/a"
        record["amount_remaining"] = "n/a"
    elif kind == "customfields_number":
        record["customfields"] = 7
    elif kind == "customfields_string":
        record["customfields"] = PAYMENT_LINK_CUSTOM_FIELD
    elif kind == "total_missing":
        del record["total"]
    elif kind == "posted_missing":
        del record["posted"]
    elif kind == "thirdparty_object":
        record["thirdpartyinvoicenumber"] = {"value": record["thirdpartyinvoicenumber"]}
    elif kind == "total_object":
        record["total"] = {"value": record["total"]}
    else:
        raise ValueError(f"unknown odd record kind {kind!r}; known: {', '.join(ODD_KINDS)}")
    return record


def odd_records(
    first_id: int = FIRST_ODD_ID, codes: StatusCodes | None = None
) -> tuple[dict[int, dict[str, Any]], dict[str, int]]:
    """One record of every odd shape in `ODD_KINDS`.

    Returns:
        (records by integer id, the id of each kind). Records whose id is not an integer are keyed
        by the integer position they are listed at (between the others), under the same name.
    """
    records: dict[int, dict[str, Any]] = {}
    ids: dict[str, int] = {}
    for index, kind in enumerate(ODD_KINDS):
        key = first_id + index
        records[key] = odd_record(kind, key, index, codes)
        ids[kind] = key
    return records, ids
