"""What we learned about the admin's own Halo: facts measured on the tenant, remembered per profile.

Several facts the backfill rests on are only models in `halo.facts` (marked U there): which
`paymentstatus` codes mean paid, the server's real page cap, which list filters this build
honours, whether a validate-only edit saves nothing, whether saving a link moves `last_synced`
(the accounting push), whether the customer portal shows the Pay button, whether a read of only
the changed invoices misses any. Each can be measured on the tenant itself, read-only or on one
pilot invoice. A measured fact carries the date and how it was learned, and overrides the model;
a result that still rests on the model keeps saying so. The reads' witnesses measure some of them
(`witnesses`); `learned` puts them in words.

Status codes are learned from the amounts of invoices already read, never from the codes alone:
a code is *proven paid* only when at least `facts.MIN_STATUS_SAMPLES` invoices carried it and
every one of them was fully paid. A later invoice with that code and something still due
contradicts the proof: the code loses it at once, and the contradiction is reported
(`TenantFacts.contradicted`).

Everything here is pure but `load_tenant_facts`, `save_tenant_facts` and `forget_complete_run`,
which keep one small JSON file per Halo address in `AppPaths.tenants_dir` (blocking: call them in
a worker thread).
"""

from __future__ import annotations

import datetime as dt
import enum
import errno
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
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, to_decimal
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
        last_complete_end: when that run ended (ISO, UTC).
        last_complete_top_id: the highest invoice id seen up to that run.
        last_own_write: when a run of ours last ended that may have saved invoices (any kind).
        change_evidence: the invoices found needing the link, each changed after the completed
            run before ended (see `ChangeWitness`), until the fact is measured.
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
    last_complete_end: str | None = None
    last_complete_top_id: int | None = None
    last_own_write: str | None = None
    change_evidence: set[int] = field(default_factory=set)
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

    def forget_complete_run(self) -> None:
        """The last completed run's promise no longer holds (an undo took links away): no later
        read may start from it, nor judge what changed since it."""
        self.last_complete_run = None
        self.last_complete_end = None
        self.last_complete_link = None
        self.last_complete_top_id = None

    def keep_what_others_wrote(self, on_disk: TenantFacts, *, completed: bool) -> None:
        """Before saving a copy loaded earlier: take over what other runs changed in the file
        meanwhile (an undo forgetting the last completed run, a later own write, the pilot's
        findings), unless this run (`completed`) is the one that set them."""
        if not completed:
            self.last_complete_run = on_disk.last_complete_run
            self.last_complete_end = on_disk.last_complete_end
            self.last_complete_link = on_disk.last_complete_link
            self.last_complete_top_id = on_disk.last_complete_top_id
            self.runs_since_full = on_disk.runs_since_full
        self.last_own_write = later(self.last_own_write, on_disk.last_own_write)
        for fact in (FactId.PAY_BUTTON_SHOWN, FactId.SAVE_MOVES_LAST_SYNCED):
            if fact in on_disk.measured:
                self.measured[fact] = on_disk.measured[fact]
        if on_disk.pay_button_target is not None:
            self.pay_button_target = on_disk.pay_button_target

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
            "last_complete_end": self.last_complete_end,
            "last_complete_top_id": self.last_complete_top_id,
            "last_own_write": self.last_own_write,
            "change_evidence": sorted(self.change_evidence),
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
        found.last_complete_end = _opt_str(data.get("last_complete_end"))
        found.last_own_write = _opt_str(data.get("last_own_write"))
        evidence = data.get("change_evidence")
        if isinstance(evidence, list):
            found.change_evidence = {i for i in evidence if type(i) is int}
        found.pay_button_target = _opt_str(data.get("pay_button_target"))
        return found


def later(a: str | None, b: str | None) -> str | None:
    """The later of two moments written by `isoformat` in UTC (so as text they sort as time),
    either of which may be missing."""
    return max((moment for moment in (a, b) if moment), default=None)


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


def forget_complete_run(path: Path) -> None:
    """An undo is about to take links away: the last completed run no longer vouches for what
    Halo holds, so no read starts from it, nor counts the undo's own saves as changes since it
    (`TenantFacts.forget_complete_run`). Blocking.

    Raises:
        LocalError(FOLDER_NOT_WRITABLE | DISK_FULL): the facts could not be saved; the undo
            must not start, or a later run could read only what changed and miss what it undid.
    """
    found = load_tenant_facts(path)
    if found.last_complete_run is None:
        return
    found.forget_complete_run()
    try:
        save_tenant_facts(path, found)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
        kind = ErrorKind.DISK_FULL if full else ErrorKind.FOLDER_NOT_WRITABLE
        raise LocalError(kind, f"{path}: {exc.strerror or exc}") from exc


def note_own_writes(path: Path, when: str) -> None:
    """Keep that a run of ours may have saved invoices up to `when` (ISO, UTC). Blocking; a file
    that cannot be written is logged (its saves could then be taken once for changes Halo made,
    which is why `ChangeWitness` asks for several invoices before it believes any)."""
    found = load_tenant_facts(path)
    found.last_own_write = later(found.last_own_write, when)
    try:
        save_tenant_facts(path, found)
    except OSError as exc:
        log.warning("tenant facts not saved to %s: %s", path, exc)


def link_settings(target: str, numbering: str, template: str, *, overwrite: bool) -> str:
    """The link settings a run wrote with, as kept in the tenant's facts: a later run with
    other settings cannot read only what changed, since every invoice may need the new link."""
    return f"{target} | {numbering} | {'overwrite' if overwrite else 'keep'} | {template.strip()}"
