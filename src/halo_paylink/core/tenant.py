"""What we learned about the admin's own Halo: facts measured on the tenant, remembered per profile.

Several facts the backfill rests on are only models in `halo.facts` (marked U there): which
`paymentstatus` codes mean paid, the server's real page cap, which list filters this build
honours, whether a validate-only edit saves nothing, whether saving a link moves `last_synced`
(the accounting push), whether the customer portal shows the Pay button. Each can be measured on
the tenant itself, read-only or on one pilot invoice. A measured fact carries the date and how it
was learned, and overrides the model; a result that still rests on the model keeps saying so.

Status codes are learned from the amounts of invoices already read, never from the codes alone:
a code is *proven paid* only when at least `facts.MIN_STATUS_SAMPLES` invoices carried it and
every one of them was fully paid. A later invoice with that code and something still due
contradicts the proof: the code loses it at once, and the contradiction is reported
(`TenantFacts.contradicted`).

Pure logic and JSON, no I/O: `storage` keeps the file.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from halo_paylink.core.backfill.selection import SkipReason, closed_reason, unreadable_reason
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, to_decimal

#: The version of the JSON this module writes; a newer file is read for what this version knows.
FORMAT_VERSION = 1


class AmountState(enum.Enum):
    """What an invoice's amounts say, whatever its code says."""

    PAID = "paid"  # nothing due, something paid
    PART_PAID = "part_paid"  # something paid, something still due
    UNPAID = "unpaid"  # something due, nothing paid


def amount_state(invoice: Invoice) -> AmountState | None:
    """The invoice's amounts as evidence for its code; None when they are no evidence (a draft, a
    voided invoice, a credit, a zero total, an unreadable record)."""
    if invoice.id <= 0 or unreadable_reason(invoice, Numbering.HALO) is not None:
        return None
    reason = closed_reason(invoice)
    if reason is SkipReason.PAID:
        return AmountState.PAID
    if reason is not None:
        return None
    paid = to_decimal(invoice.raw.get("amountpaid"))
    return AmountState.PART_PAID if paid is not None and paid > Decimal(0) else AmountState.UNPAID


def status_code(invoice: Invoice) -> int | None:
    code = invoice.raw.get("paymentstatus")
    return code if type(code) is int else None


@dataclass
class CodeTally:
    """How many invoices read with one `paymentstatus` code were paid, part-paid or unpaid."""

    paid: int = 0
    part_paid: int = 0
    unpaid: int = 0

    @property
    def seen(self) -> int:
        return self.paid + self.part_paid + self.unpaid

    def add(self, state: AmountState) -> None:
        if state is AmountState.PAID:
            self.paid += 1
        elif state is AmountState.PART_PAID:
            self.part_paid += 1
        else:
            self.unpaid += 1

    @property
    def meaning(self) -> str:
        """The code's meaning in words, from the amounts seen with it."""
        if not self.seen:
            return "not seen"
        if self.paid == self.seen:
            return "paid"
        if self.unpaid == self.seen:
            return "unpaid"
        if self.part_paid == self.seen:
            return "part-paid"
        return "mixed"


@dataclass(frozen=True)
class Measured:
    """One fact measured on the tenant.

    Attributes:
        value: what was found (a bool, a number or a short text).
        on: the date it was learned (ISO `YYYY-MM-DD`).
        how: how it was learned, in words (shown to the admin).
    """

    value: bool | int | str
    on: str
    how: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "on": self.on, "how": self.how}

    @classmethod
    def from_json(cls, data: object) -> Measured | None:
        if not isinstance(data, Mapping):
            return None
        value, on, how = data.get("value"), data.get("on"), data.get("how")
        if not isinstance(value, bool | int | str) or not isinstance(on, str):
            return None
        return cls(value, on, how if isinstance(how, str) else "")


class FactId(enum.Enum):
    """The facts besides the status codes, each measured one way (see `TenantFacts.measured`)."""

    PAGE_CAP = "page_cap"  # int: the most rows the server returns per page
    VALIDATE_ONLY_SAVES_NOTHING = "validate_only_saves_nothing"  # bool
    SAVE_MOVES_LAST_SYNCED = "save_moves_last_synced"  # bool: a link save pushes to accounting
    PAY_BUTTON_SHOWN = "pay_button_shown"  # bool: the admin saw the Pay button in the portal
    FILTER_POSTEDONLY = "filter_postedonly"  # bool: honoured
    FILTER_INCLUDECREDITS = "filter_includecredits"
    FILTER_PAYMENTSTATUSES = "filter_paymentstatuses"
    FILTER_DATESEARCH = "filter_datesearch"


@dataclass
class TenantFacts:
    """Everything learned about one profile's Halo.

    Attributes:
        codes: per `paymentstatus` code, the amounts seen with it at the last full read.
        codes_on: when `codes` was learned (ISO date), or None.
        contradicted: codes once proven paid that a later invoice contradicted (something due).
        measured: the other facts, by id.
        last_full_scan: when a run last read every invoice (ISO date and time, UTC), or None.
    """

    codes: dict[int, CodeTally] = field(default_factory=dict)
    codes_on: str | None = None
    contradicted: set[int] = field(default_factory=set)
    measured: dict[FactId, Measured] = field(default_factory=dict)
    last_full_scan: str | None = None

    def proven_paid_codes(self) -> frozenset[int]:
        """Codes every sampled invoice of which was fully paid, with enough samples, and never
        contradicted since. A code that was not seen is never among them."""
        return frozenset(
            code
            for code, tally in self.codes.items()
            if tally.seen >= facts.MIN_STATUS_SAMPLES
            and tally.paid == tally.seen
            and code not in self.contradicted
        )

    def learn_codes(self, learner: StatusLearner, on: str) -> None:
        """Replace the codes with what a full read of the list saw (a full read sees them all)."""
        self.codes = {code: CodeTally(**vars(t)) for code, t in learner.codes.items()}
        self.codes_on = on
        self.contradicted = set()

    def learn_sample(self, code: int, learner: StatusLearner, *, on: str) -> None:
        """Take a sample of one code's invoices (see core.backfill.census) as what the code
        means, unless a full read already said more about it."""
        sampled = learner.codes.get(code)
        known = self.codes.get(code)
        if sampled is None or (known is not None and known.seen >= sampled.seen):
            return
        self.codes[code] = CodeTally(**vars(sampled))
        self.codes_on = self.codes_on or on

    def check_codes(self, learner: StatusLearner) -> set[int]:
        """Codes proven paid that `learner` saw on an invoice with something due (newly
        contradicted); they lose their proof at once."""
        proven = self.proven_paid_codes()
        found = {code for code in learner.not_paid_codes() if code in proven}
        self.contradicted |= found
        return found

    def measure(self, fact: FactId, value: bool | int | str, *, on: str, how: str) -> None:
        self.measured[fact] = Measured(value, on, how)

    def value(self, fact: FactId) -> bool | int | str | None:
        found = self.measured.get(fact)
        return None if found is None else found.value

    # --- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "codes": {str(code): vars(t) for code, t in sorted(self.codes.items())},
            "codes_on": self.codes_on,
            "contradicted": sorted(self.contradicted),
            "measured": {f.value: m.to_json() for f, m in self.measured.items()},
            "last_full_scan": self.last_full_scan,
        }

    @classmethod
    def from_json(cls, data: object) -> TenantFacts:
        """Read what is readable; an entry in an odd shape is dropped (it is measured again)."""
        found = cls()
        if not isinstance(data, Mapping):
            return found
        codes = data.get("codes")
        if isinstance(codes, Mapping):
            for key, tally in codes.items():
                parsed = _code_tally(key, tally)
                if parsed is not None:
                    found.codes[parsed[0]] = parsed[1]
        found.codes_on = _opt_str(data.get("codes_on"))
        contradicted = data.get("contradicted")
        if isinstance(contradicted, list):
            found.contradicted = {c for c in contradicted if type(c) is int}
        measured = data.get("measured")
        if isinstance(measured, Mapping):
            known = {f.value: f for f in FactId}
            for key, entry in measured.items():
                fact, value = known.get(key), Measured.from_json(entry)
                if fact is not None and value is not None:
                    found.measured[fact] = value
        found.last_full_scan = _opt_str(data.get("last_full_scan"))
        return found


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _code_tally(key: object, tally: object) -> tuple[int, CodeTally] | None:
    try:
        code = int(str(key))
    except ValueError:
        return None
    if not isinstance(tally, Mapping):
        return None
    counts = [tally.get(name, 0) for name in ("paid", "part_paid", "unpaid")]
    if not all(type(n) is int and n >= 0 for n in counts):
        return None
    return code, CodeTally(*counts)


class StatusLearner:
    """Tallies `paymentstatus` codes against amounts for the invoices one run reads."""

    def __init__(self) -> None:
        self.codes: dict[int, CodeTally] = {}

    def observe(self, invoice: Invoice) -> None:
        code = status_code(invoice)
        if code is None:
            return
        state = amount_state(invoice)
        if state is None:
            return
        tally = self.codes.get(code)
        if tally is None:
            tally = self.codes[code] = CodeTally()
        tally.add(state)

    def observe_all(self, invoices: Iterable[Invoice]) -> None:
        for invoice in invoices:
            self.observe(invoice)

    def not_paid_codes(self) -> set[int]:
        """Codes seen on at least one invoice with something still due."""
        return {code for code, t in self.codes.items() if t.part_paid or t.unpaid}
