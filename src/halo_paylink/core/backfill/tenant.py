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

Everything here is pure but `load_tenant_facts` and `save_tenant_facts`, which keep one small
JSON file per Halo address in `AppPaths.tenants_dir` (blocking: call them in a worker thread).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from halo_paylink.core.backfill.lock import lock_key
from halo_paylink.core.backfill.selection import SkipReason, closed_reason, unreadable_reason
from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, InvoicePage, to_decimal
from halo_paylink.storage.atomic import write_atomic
from halo_paylink.storage.paths import AppPaths

log = logging.getLogger(__name__)

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
    #: bool: every invoice a whole read found needing the link had changed since the last
    #: completed run, so a read of only the changed invoices would have found it (see
    #: `ChangeWitness`); the measured stand-in for `facts.INCREMENTAL_RESTS_ON` and
    #: `facts.NARROWED_READ_RESTS_ON`.
    CHANGES_MOVE_LAST_MODIFIED = "changes_move_last_modified"


@dataclass
class TenantFacts:
    """Everything learned about one profile's Halo.

    Attributes:
        codes: per `paymentstatus` code, the amounts seen with it at the last full read.
        codes_on: when `codes` was learned (ISO date), or None.
        contradicted: codes once proven paid that a later invoice contradicted (something due).
        measured: the other facts, by id.
        last_full_scan: when a run last read every invoice (ISO date and time, UTC), or None.
        narrowed_since: when a run first left proven-paid invoices unread, if no full read
            happened since (the full read that follows is due `facts.FULL_READ_EVERY_DAYS` on).
        last_complete_run: when the last backfill attempt that ended completed started (ISO,
            UTC): an incremental run reads the invoices changed since then.
        runs_since_full: completed runs since the last full read (incremental or narrowed).
        last_complete_link: the link settings of that run (`link_settings`): a later run with
            other settings must read every invoice, since each may need the new link.
        last_complete_top_id: the highest invoice id seen up to that run.
        change_evidence: invoices found needing the link at whole reads that had all changed
            since the completed run before (see `ChangeWitness`), until the fact is measured.
        pay_button_target: the link field the Pay-button answer is about (None: the default).
    """

    codes: dict[int, CodeTally] = field(default_factory=dict)
    codes_on: str | None = None
    contradicted: set[int] = field(default_factory=set)
    measured: dict[FactId, Measured] = field(default_factory=dict)
    last_full_scan: str | None = None
    narrowed_since: str | None = None
    last_complete_run: str | None = None
    runs_since_full: int = 0
    last_complete_link: str | None = None
    last_complete_top_id: int | None = None
    change_evidence: int = 0
    pay_button_target: str | None = None

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
            "narrowed_since": self.narrowed_since,
            "last_complete_run": self.last_complete_run,
            "runs_since_full": self.runs_since_full,
            "last_complete_link": self.last_complete_link,
            "last_complete_top_id": self.last_complete_top_id,
            "change_evidence": self.change_evidence,
            "pay_button_target": self.pay_button_target,
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
        found.narrowed_since = _opt_str(data.get("narrowed_since"))
        found.last_complete_run = _opt_str(data.get("last_complete_run"))
        runs = data.get("runs_since_full")
        found.runs_since_full = runs if type(runs) is int and runs >= 0 else 0
        found.last_complete_link = _opt_str(data.get("last_complete_link"))
        top = data.get("last_complete_top_id")
        found.last_complete_top_id = top if type(top) is int else None
        evidence = data.get("change_evidence")
        found.change_evidence = evidence if type(evidence) is int and evidence >= 0 else 0
        found.pay_button_target = _opt_str(data.get("pay_button_target"))
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


def utc_today(now: dt.datetime | None = None) -> str:
    """The date a fact is learned on (ISO, UTC), for every fact alike."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date().isoformat()


def tenant_file(paths: AppPaths, web_url: str) -> Path:
    """Where the facts about the Halo at `web_url` are kept (two spellings of it share one)."""
    return paths.tenants_dir / f"{lock_key(web_url)}.json"


def load_tenant_facts(path: Path) -> TenantFacts:
    """The facts kept at `path`; nothing learned yet when the file is missing or unreadable (it
    is measured again, and rewritten at the next save)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return TenantFacts()
    except (OSError, ValueError) as exc:
        log.info("tenant facts at %s could not be read (%s): learning again", path, exc)
        return TenantFacts()
    return TenantFacts.from_json(data)


def save_tenant_facts(path: Path, found: TenantFacts) -> None:
    """Write the facts atomically (owner-only). Raises OSError."""
    write_atomic(path, json.dumps(found.to_json(), indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class LearnedLine:
    """One line of "What we learned about your Halo".

    Attributes:
        topic: what the line is about.
        finding: what is known, in words.
        source: how it is known: measured (when, how) or the model's unverified assumption.
        measured: True when measured on this Halo; False when it still rests on the model.
    """

    topic: str
    finding: str
    source: str
    measured: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "finding": self.finding,
            "source": self.source,
            "measured": self.measured,
        }


def _measured_line(
    tenant: TenantFacts, fact: FactId, topic: str, words: Mapping[object, str], model: str
) -> LearnedLine:
    found = tenant.measured.get(fact)
    if found is None:
        return LearnedLine(topic, "not measured yet", f"model (unverified): {model}", False)
    finding = words.get(found.value, str(found.value))
    return LearnedLine(topic, finding, f"measured {found.on}: {found.how}", True)


def _codes_finding(tenant: TenantFacts) -> str:
    by_meaning: dict[str, list[str]] = {}
    for code, tally in sorted(tenant.codes.items()):
        by_meaning.setdefault(tally.meaning, []).append(f"{code} ({tally.seen:,})")
    order = ("paid", "part-paid", "unpaid", "mixed")
    return "; ".join(f"{m}: {', '.join(by_meaning[m])}" for m in order if m in by_meaning)


def _changes_line(tenant: TenantFacts) -> LearnedLine:
    """Whether a read of only the changed invoices misses nothing here (see `ChangeWitness`)."""
    line = _measured_line(
        tenant,
        FactId.CHANGES_MOVE_LAST_MODIFIED,
        "Reading only the changed invoices misses none",
        {
            True: "yes: runs read only what changed since the last completed run",
            False: "no: runs read every invoice unless asked otherwise",
        },
        facts.INCREMENTAL_RESTS_ON,
    )
    if line.measured or not tenant.change_evidence:
        return line
    return LearnedLine(
        line.topic,
        f"not measured yet ({tenant.change_evidence} of {facts.MIN_CHANGE_SAMPLES} invoices "
        "needed to show it)",
        line.source,
        False,
    )


#: The list filters whose honouring is measured, with what each one does.
_FILTERS: tuple[tuple[FactId, str], ...] = (
    (FactId.FILTER_POSTEDONLY, "postedonly (posted invoices only)"),
    (FactId.FILTER_INCLUDECREDITS, "includecredits=false (no credit notes)"),
    (FactId.FILTER_PAYMENTSTATUSES, "paymentstatuses (by payment status)"),
    (FactId.FILTER_DATESEARCH, "datesearch=last_modified (by change date)"),
)


def _filter_lines(tenant: TenantFacts) -> list[LearnedLine]:
    return [
        _measured_line(
            tenant,
            fact,
            f"Halo honours the filter {name}",
            {True: "yes", False: "no: it is ignored, so more invoices are read"},
            "an older build may ignore it (then more rows come back, never fewer)",
        )
        for fact, name in _FILTERS
    ]


def learned_lines(tenant: TenantFacts) -> list[LearnedLine]:
    """Everything known about this Halo, each line saying whether it was measured here or still
    rests on the model (`halo.facts`)."""
    lines: list[LearnedLine] = []
    if tenant.codes:
        lines.append(
            LearnedLine(
                "Payment status codes",
                _codes_finding(tenant),
                f"measured {tenant.codes_on}: from the amounts of the invoices read",
                True,
            )
        )
    else:
        lines.append(
            LearnedLine(
                "Payment status codes",
                "not measured yet",
                "model (unverified): 0 and -1 are unpaid (Halo's own unpaid filter); the paid "
                "and part-paid codes are not known",
                False,
            )
        )
    proven = sorted(tenant.proven_paid_codes())
    if proven or tenant.contradicted:
        finding = (
            f"status {', '.join(map(str, proven))} left unread on long lists"
            if proven
            else "none left unread"
        )
        if tenant.contradicted:
            finding += (
                f"; status {', '.join(map(str, sorted(tenant.contradicted)))} read again "
                "(an invoice with it had something due)"
            )
        lines.append(
            LearnedLine(
                "Proven paid",
                finding,
                f"measured: every invoice sampled with it fully paid (at least "
                f"{facts.MIN_STATUS_SAMPLES})",
                True,
            )
        )
    lines.append(
        _measured_line(
            tenant,
            FactId.PAGE_CAP,
            "Largest page",
            {facts.REQUESTED_PAGE_SIZE: f"{facts.REQUESTED_PAGE_SIZE} (as many as asked for)"},
            facts.UNVERIFIED_NOTES["page_size"],
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.SAVE_MOVES_LAST_SYNCED,
            "Saving a link pushes the invoice to the accounting tool",
            {True: "yes (last_synced moved)", False: "no (last_synced did not move)"},
            "unknown until the pilot saves one link",
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.PAY_BUTTON_SHOWN,
            "The portal shows the Pay button",
            {True: "yes, the admin saw it", False: "no, the admin did not see it"},
            facts.UNVERIFIED_NOTES["link_field"],
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.VALIDATE_ONLY_SAVES_NOTHING,
            "A validate-only edit saves nothing",
            {
                True: "yes (the invoice read the same before and after)",
                False: "no (the invoice changed): dry runs send no check",
            },
            facts.UNVERIFIED_NOTES["validate_only"],
        )
    )
    lines.extend(_filter_lines(tenant))
    lines.append(_changes_line(tenant))
    full = tenant.last_full_scan
    lines.append(
        LearnedLine(
            "Last full read",
            full[:10] if full else "none yet",
            f"every posted invoice is read again at least every {facts.FULL_READ_EVERY_DAYS} days",
            full is not None,
        )
    )
    return lines


#: A row changed this long before the asked `start_date` is evidence the change-date filter was
#: ignored (less could be Halo reading the date in its own time zone).
_DATE_TOLERANCE = dt.timedelta(days=1)


def _start_date(filters: Mapping[str, str]) -> dt.datetime | None:
    if filters.get("datesearch") != "last_modified":
        return None
    try:
        start = dt.datetime.fromisoformat(filters.get("start_date", ""))
    except ValueError:
        return None
    return start.replace(tzinfo=None) if start.tzinfo is None else start.astimezone(dt.UTC)


def _outside(fact: FactId, filters: Mapping[str, str], invoice: Invoice) -> bool:
    """Whether `invoice` is a row the filter behind `fact`, as sent in `filters`, keeps out."""
    raw = invoice.raw
    if fact is FactId.FILTER_POSTEDONLY:
        return raw.get("posted") is False
    if fact is FactId.FILTER_INCLUDECREDITS:
        total = to_decimal(raw.get("total"))
        return total is not None and total < 0
    if fact is FactId.FILTER_PAYMENTSTATUSES:
        code = status_code(invoice)
        wanted = {c.strip() for c in filters.get("paymentstatuses", "").split(",")}
        return code is not None and str(code) not in wanted
    start = _start_date(filters)
    changed = last_modified(invoice)
    if start is None or changed is None:
        return False
    return changed < start.replace(tzinfo=None) - _DATE_TOLERANCE


def last_modified(invoice: Invoice) -> dt.datetime | None:
    """When Halo last changed the invoice (naive; UTC when Halo gave a zone), or None when the
    record has no readable `last_modified`."""
    stamp = invoice.raw.get("last_modified")
    if not isinstance(stamp, str):
        return None
    try:
        changed = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return changed.astimezone(dt.UTC).replace(tzinfo=None) if changed.tzinfo else changed


def _filters_sent(filters: Mapping[str, str]) -> tuple[FactId, ...]:
    sent = []
    if filters.get("postedonly") == "true":
        sent.append(FactId.FILTER_POSTEDONLY)
    if filters.get("includecredits") == "false":
        sent.append(FactId.FILTER_INCLUDECREDITS)
    if filters.get("paymentstatuses"):
        sent.append(FactId.FILTER_PAYMENTSTATUSES)
    if _start_date(filters) is not None:
        sent.append(FactId.FILTER_DATESEARCH)
    return tuple(sent)


@dataclass
class ListingWitness:
    """What the pages of the reads of one run show about the server, from the rows that come
    back: its real page cap (rows per page received against asked) and, for each list filter
    sent, whether a row it keeps out came back anyway (the filter is ignored)."""

    asked: int
    cap: int | None = None
    full_pages: int = 0
    top_id: int | None = None  # the highest invoice id listed
    rows: dict[FactId, int] = field(default_factory=dict)
    outside: dict[FactId, int] = field(default_factory=dict)  # the first row against it

    def see(self, filters: Mapping[str, str] | None, page: InvoicePage) -> None:
        if page.page_size < self.asked:
            self.cap = min(self.cap or page.page_size, page.page_size)
        elif page.rows >= self.asked:
            self.full_pages += 1
        if page.invoices:
            top = max(invoice.id for invoice in page.invoices)
            self.top_id = top if self.top_id is None else max(self.top_id, top)
        for fact in _filters_sent(filters or {}):
            self.rows[fact] = self.rows.get(fact, 0) + page.rows
            if fact in self.outside:
                continue
            for invoice in page.invoices:
                if _outside(fact, filters or {}, invoice):
                    self.outside[fact] = invoice.id
                    break

    def record(self, tenant: TenantFacts, *, on: str) -> None:
        """Keep what the pages showed (each finding dated; new evidence replaces old)."""
        if self.cap is not None:
            how = f"asked for {self.asked} rows a page, Halo sent {self.cap}"
            tenant.measure(FactId.PAGE_CAP, self.cap, on=on, how=how)
        elif (
            self.full_pages
            and self.asked >= facts.REQUESTED_PAGE_SIZE
            and FactId.PAGE_CAP not in tenant.measured
        ):
            how = f"asked for {self.asked} rows a page and received {self.asked}"
            tenant.measure(FactId.PAGE_CAP, self.asked, on=on, how=how)
        for fact, rows in self.rows.items():
            against = self.outside.get(fact)
            if against is not None:
                how = f"invoice {against} came back although the filter keeps it out"
                tenant.measure(fact, False, on=on, how=how)
            elif rows:
                how = f"{rows:,} rows listed with it, none that it keeps out"
                tenant.measure(fact, True, on=on, how=how)


def link_settings(target: str, numbering: str, template: str, *, overwrite: bool) -> str:
    """The link settings a run wrote with, as kept in the tenant's facts: a later run with
    other settings cannot read only what changed, since every invoice may need the new link."""
    return f"{target} | {numbering} | {'overwrite' if overwrite else 'keep'} | {template.strip()}"


@dataclass
class ChangeWitness:
    """Whether a read of only the invoices changed since the last completed run would have found
    every invoice this read found needing the link.

    Reading only what changed (an incremental run, and a narrowed read's left-out statuses)
    rests on every change that can make an invoice need a link moving its `last_modified`
    (`facts.INCREMENTAL_RESTS_ON`). A whole read after a completed run with the same link
    settings measures exactly that: that run left no open invoice without the link, so each
    invoice needing it now was changed since, and an incremental read from `since` lists it
    only if its `last_modified` says so. One that does not is the fact shown false on this Halo.

    Only invoices that already existed at that run are evidence (`known_up_to`): a new
    invoice's first `last_modified` says nothing about whether later changes move it, but a
    draft posted since, an invoice synced since or a payment undone does.

    Attributes:
        since: the date an incremental read would start at (`learning`'s margin included).
        known_up_to: the highest invoice id the completed run saw.
        found: invoices that existed then, need the link now, and changed on or after `since`.
        missed: the first invoice needing the link whose `last_modified` is before `since` (or
            unreadable): (invoice id, its stamp or None).
    """

    since: dt.date
    known_up_to: int
    found: set[int] = field(default_factory=set)
    missed: tuple[int, str | None] | None = None

    def needs_link(self, invoice: Invoice) -> None:
        """The read decided `invoice` needs the link."""
        changed = last_modified(invoice)
        if changed is not None and changed.date() >= self.since:
            if invoice.id <= self.known_up_to:
                self.found.add(invoice.id)
        elif self.missed is None:
            stamp = invoice.raw.get("last_modified")
            self.missed = (invoice.id, stamp if isinstance(stamp, str) else None)

    def record(self, tenant: TenantFacts, *, on: str) -> None:
        """Keep the evidence: one invoice missed measures the fact false (for good: reading only
        what changed would miss invoices on this Halo); `facts.MIN_CHANGE_SAMPLES` found, and
        none ever missed, measure it true."""
        fact = FactId.CHANGES_MOVE_LAST_MODIFIED
        if self.missed is not None:
            invoice_id, stamp = self.missed
            changed = f"its last change ({stamp})" if stamp else "it has no last_modified, so it"
            tenant.measure(
                fact,
                False,
                on=on,
                how=f"invoice {invoice_id} needed the link, but {changed} is before "
                f"{self.since.isoformat()}: a read of only the changed invoices would have "
                "missed it",
            )
            tenant.change_evidence = 0
            return
        if tenant.value(fact) is False or not self.found:
            return
        tenant.change_evidence += len(self.found)
        if tenant.change_evidence >= facts.MIN_CHANGE_SAMPLES:
            tenant.measure(
                fact,
                True,
                on=on,
                how=f"{tenant.change_evidence:,} invoices older than the last completed run "
                "were found needing the link at whole reads, and each had changed since that "
                "run (a read of only the changed invoices would have found it)",
            )
