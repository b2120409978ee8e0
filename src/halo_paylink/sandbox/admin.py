"""A sandbox's state and the controls that tests, benchmarks and the CLI use on it: API
applications and their permissions, extra records (recurring-invoice templates, odd records,
new invoices), payments and edits made the way Halo makes them, the status codes in force,
listing faults, the page cap, and the ground truth a backfill is checked against.

`Sandbox` (in `server.py`) adds the HTTP server on top; every control here is thread-safe and
may be used while it serves. With `SandboxConfig.stamp_changes`, a control that changes an
invoice moves its `last_modified`, as any change in Halo does; an edit made straight to
`invoices` under the lock moves no stamp.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from halo_paylink.sandbox.applications import Applications, check_agent_access, known_scopes
from halo_paylink.sandbox.faults import FaultInjector
from halo_paylink.sandbox.listing_faults import (
    SHIFT_MODES,
    ListingDisturbances,
    check_listing_fault,
)
from halo_paylink.sandbox.records import Invoice, finite_number, with_payment
from halo_paylink.sandbox.seed import (
    FIRST_INVOICE_ID,
    ODD,
    OLD_MIX_TEMPLATES,
    TEMPLATE,
    UNPAID,
    new_invoices,
    odd_records,
    seed_invoices,
    seeded_stamps,
    template_invoices,
)
from halo_paylink.sandbox.stamps import Stamps, utc_now
from halo_paylink.sandbox.state import (
    DEMO_PROBLEM_APPLICATIONS,
    MIXES,
    PAGE_SIZE_ECHOES,
    UPDATE_ANSWERS,
    ListingFault,
    RateWindow,
    SandboxConfig,
    SandboxStats,
    StatusCodes,
)
from halo_paylink.sandbox.store import InvoiceStore, StoreLock


class SandboxControls:
    """Everything a sandbox holds, and the thread-safe controls on it (see `Sandbox`)."""

    def __init__(
        self,
        config: SandboxConfig | None,
        clock: Callable[[], float],
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.config = config or SandboxConfig()
        self._clock = clock
        self._state = threading.RLock()
        self.faults = FaultInjector()
        self.stats = SandboxStats()
        if self.config.page_size_echo not in PAGE_SIZE_ECHOES:
            raise ValueError(f"page_size_echo must be one of {PAGE_SIZE_ECHOES}")
        if self.config.update_answer not in UPDATE_ANSWERS:
            raise ValueError(f"update_answer must be one of {UPDATE_ANSWERS}")
        if self.config.mix not in MIXES:
            raise ValueError(f"mix must be one of {MIXES}")
        if not isinstance(self.config.status_codes, StatusCodes):
            raise ValueError("status_codes must be a StatusCodes")
        codes = self.config.status_codes
        seeded = seed_invoices(
            self.config.invoices, self.config.seed, mix=self.config.mix, codes=codes
        )
        self._store = InvoiceStore(seeded, now)
        self._store.moving = self.config.stamp_changes
        self.lock = StoreLock(self._state, self._store.after_direct_edit)
        self._disturbances = ListingDisturbances()
        self._applications = Applications(clock)
        self._rate = RateWindow(*self.config.rate_limit) if self.config.rate_limit else None
        templates = self.config.templates + (OLD_MIX_TEMPLATES if self.config.mix == "old" else 0)
        if templates:
            self._add_seeded(template_invoices(templates, codes), TEMPLATE)
        if self.config.odd_records:
            records, self._store.odd_ids = odd_records(codes=codes)
            self._add_seeded(records, ODD)
        self.add_application(self.config.client_id, self.config.client_secret)
        for demo in DEMO_PROBLEM_APPLICATIONS:
            self.add_application(
                demo.client_id,
                demo.client_secret,
                allowed_scopes=demo.allowed_scopes,
                agent_invoice_access=demo.agent_invoice_access,
            )

    def _add_seeded(self, records: Mapping[int, Invoice], category: str) -> None:
        """Store records seeded with the sandbox, stamped as seeded ones are."""
        stamps = {key: seeded_stamps(record, category) for key, record in records.items()}
        self._store.add(records, category, stamps)

    # --- the invoice store -----------------------------------------------------------------------

    @property
    def invoices(self) -> dict[int, dict[str, Any]]:
        """The live invoice store by id (read or change only inside `with sandbox.lock:`)."""
        return self._store.invoices

    @property
    def categories(self) -> dict[int, str]:
        """The seed category of each seeded invoice (see `seed.py`), "template" for a
        recurring-invoice template, "odd" for an odd record."""
        return self._store.categories

    @property
    def odd_ids(self) -> dict[str, int]:
        """The store key of each odd record by kind (see `seed.ODD_KINDS`)."""
        return self._store.odd_ids

    # --- applications and tokens -------------------------------------------------------------

    def add_application(
        self,
        client_id: str,
        client_secret: str,
        *,
        allowed_scopes: Iterable[str] = ("read:invoices", "edit:invoices"),
        agent_invoice_access: str = "edit",
        agent_name: str | None = None,
    ) -> None:
        """Register (or replace) an API application and the agent it logs in as.

        Args:
            allowed_scopes: the scopes ticked on the application's Permissions tab.
            agent_invoice_access: what the agent's own role allows on invoices:
                "none" (403 on invoices), "read" (403 on updates) or "edit".
        """
        check_agent_access(agent_invoice_access)
        scopes = known_scopes(allowed_scopes)
        with self._state:
            self._applications.register(
                client_id,
                client_secret,
                allowed_scopes=scopes,
                agent_invoice_access=agent_invoice_access,
                agent_name=agent_name or self.config.agent_name,
            )

    def set_allowed_scopes(self, client_id: str, scopes: Iterable[str]) -> None:
        """Change an application's permissions mid-run; tokens already issued keep their scopes
        but lose any the application no longer has (their next request gets 403)."""
        allowed = known_scopes(scopes)
        with self._state:
            self._applications[client_id].allowed_scopes = allowed

    def set_agent_invoice_access(self, client_id: str, access: str) -> None:
        """Change what the application's agent may do with invoices ("none" | "read" | "edit")."""
        check_agent_access(access, "access")
        with self._state:
            self._applications[client_id].agent_invoice_access = access

    def revoke(self, client_id: str) -> None:
        """Deactivate an application: its tokens get 401 and new token requests `invalid_client`."""
        with self._state:
            self._applications.revoke(client_id)

    def expire_tokens(self) -> None:
        """Make every token issued so far expire now (their next use gets 401)."""
        with self._state:
            self._applications.tokens.expire_all()

    # --- extra records -----------------------------------------------------------------------

    def add_templates(self, count: int) -> list[int]:
        """Add `count` recurring-invoice templates below the lowest id in use (negative ids), each
        looking open; returns their ids."""
        with self._state:
            lowest = min([0, *self._store.invoices])
            records = {
                lowest - k: {**record, "id": lowest - k}
                for k, record in zip(
                    range(1, count + 1),
                    template_invoices(count, self.config.status_codes).values(),
                    strict=True,
                )
            }
            self._store.add(records, TEMPLATE)
            return sorted(records)

    def add_odd_records(self, first_id: int | None = None) -> dict[str, int]:
        """Add one open-looking record of every odd shape (`seed.ODD_KINDS`), by default with ids
        just above 0 (so they come first in a listing by id); returns the key of each kind and
        merges it into `odd_ids`."""
        with self._state:
            if first_id is None:
                first_id = 1
            records, ids = odd_records(first_id, self.config.status_codes)
            self._store.add(records, ODD)
            self._store.odd_ids.update(ids)
            return ids

    def add_record(self, key: int, record: dict[str, Any], category: str = ODD) -> None:
        """Store `record` as given (any shape) under `key`; listings serve it verbatim there
        (without stamps, until a save changes it)."""
        with self._state:
            self._store.add({key: dict(record)}, category, stamped=False)

    def add_invoices(self, count: int = 1, *, category: str = UNPAID) -> list[int]:
        """Raise `count` new invoices of seed `category` (e.g. "unpaid", "paid", "part_paid")
        now, with ids above every id in use, coded with the status codes in force; returns
        their ids. Their stamps are now (`last_synced` too, when they have been synced)."""
        if count < 0:
            raise ValueError("the number of invoices must not be negative")
        with self._state:
            first = max([FIRST_INVOICE_ID - 1, *self._store.invoices]) + 1
            rng = random.Random(f"{self.config.seed}/{first}")
            today = self._store.stamper.next()[:10]
            records = new_invoices(
                first,
                count,
                category,
                self.config.status_codes,
                rng,
                dt.date.fromisoformat(today),
            )
            stamps = {}
            for key in records:
                synced = seeded_stamps(records[key], category).last_synced is not None
                stamp = self._store.stamper.next()
                stamps[key] = Stamps(stamp, stamp if synced else None)
            self._store.add(records, category, stamps)
            return sorted(records)

    # --- invoices changed the way Halo changes them ----------------------------------------------

    def invoice(self, invoice_id: int) -> dict[str, Any]:
        """A copy of the invoice stored under `invoice_id` as an answer serves it (with its
        stamps). Raises KeyError when there is none."""
        with self._state:
            if invoice_id not in self._store.invoices:
                raise KeyError(f"no invoice {invoice_id} in the sandbox")
            return copy.deepcopy(self._store.served(invoice_id))

    def set_payment(
        self, invoice_id: int, paid: bool | float = True, *, code: int | None = None
    ) -> dict[str, Any]:
        """Record what has been paid on invoice `invoice_id`, as the accounting tool's sync does:
        `paid` True = paid in full, False = nothing paid, a number = that much paid in all (at
        most the total). Its `paymentstatus` becomes the code the status codes in force give
        what the amounts say (paid, part or unpaid), or `code` when given, and its
        `last_modified` moves (with `stamp_changes`). Returns the invoice as served. Raises
        KeyError when there is none."""
        with self._state:
            current = self._stored(invoice_id)
            total = current.get("total")
            full = float(total) if finite_number(total) else 0.0
            amount = (full if paid else 0.0) if isinstance(paid, bool) else float(paid)
            if code is None:
                code = _code_for(self.config.status_codes, amount, full)
            self._store.invoices[invoice_id] = with_payment(current, amount, code)
            self._changed(invoice_id, push=False)
            return copy.deepcopy(self._store.served(invoice_id))

    def edit_invoice(self, invoice_id: int, *, push: bool = False, **fields: Any) -> dict[str, Any]:
        """Change fields of invoice `invoice_id` as an agent does in Halo (set as given; amounts
        due are not recomputed: `set_payment` does that). Its `last_modified` moves (with
        `stamp_changes`); `push`: the edit was pushed to the accounting tool, so `last_synced`
        moves too when it has been synced before. Returns the invoice as served. Raises
        KeyError when there is none."""
        with self._state:
            current = self._stored(invoice_id)
            self._store.invoices[invoice_id] = {**current, **fields}
            self._changed(invoice_id, push=push)
            return copy.deepcopy(self._store.served(invoice_id))

    def set_status_codes(self, codes: StatusCodes, *, recode: bool = False) -> StatusCodes:
        """Give each meaning the code in `codes` from now on (payments, new invoices, templates,
        a listing fault's payments): codes that change meaning mid-life. Invoices keep the codes
        they carry, unless `recode`: then each one carrying a code of the old set gets the new
        code of the same meaning (as a migration would), and its `last_modified` moves (with
        `stamp_changes`). Returns the codes in force before."""
        if not isinstance(codes, StatusCodes):
            raise ValueError("codes must be a StatusCodes")
        with self._state:
            before = self.config.status_codes
            self.config.status_codes = codes
            if recode:
                for key, record in list(self._store.invoices.items()):
                    meaning = before.meaning(record.get("paymentstatus"))
                    new = None if meaning is None else getattr(codes, meaning)
                    if new is not None and new != record.get("paymentstatus"):
                        self._store.invoices[key] = {**record, "paymentstatus": new}
                        self._store.touch(key, push=False)
                self._store.mark_changed()
            return before

    def _stored(self, invoice_id: int) -> Invoice:
        record = self._store.invoices.get(invoice_id)
        if record is None:
            raise KeyError(f"no invoice {invoice_id} in the sandbox")
        return record

    def _changed(self, invoice_id: int, *, push: bool) -> None:
        self._store.touch(invoice_id, push=push)
        self._store.mark_changed()

    # --- listing faults and the page cap -----------------------------------------------------

    def shift_rows(
        self, *, after_page: int = 1, rows: int = 1, mode: str = "delete", passes: int | None = 1
    ) -> ListingFault:
        """After page `after_page` of a listing pass is served, `rows` rows before the next page's
        offset disappear (`mode="delete"`) or are paid (`mode="pay"`). See `ListingFault`."""
        if mode not in SHIFT_MODES:
            raise ValueError("mode must be 'delete' or 'pay'")
        return self._add_listing_fault(
            ListingFault("shift", after_page=after_page, rows=rows, mode=mode, passes=passes)
        )

    def repeat_rows(
        self,
        *,
        after_page: int = 1,
        rows: int = 1,
        displace: bool = False,
        passes: int | None = 1,
    ) -> ListingFault:
        """The last `rows` rows of page `after_page` appear again at the start of the next page,
        and `record_count` counts them: as extra rows, or (`displace=True`) within the real count,
        the repeats taking the places of the rows that follow, which that pass never serves (as
        an unstable sort order swaps rows across a page boundary). See `ListingFault`."""
        return self._add_listing_fault(
            ListingFault(
                "repeat",
                after_page=after_page,
                rows=rows,
                mode="displace" if displace else "extra",
                passes=passes,
            )
        )

    def lie_record_count(
        self,
        *,
        record_count: int | None = None,
        delta: int = 0,
        after_page: int = 1,
        passes: int | None = 1,
    ) -> ListingFault:
        """From page `after_page` on, announce `record_count` rows (or the real count + `delta`)."""
        if (record_count is None) == (delta == 0):
            raise ValueError("give either record_count= or a non-zero delta=")
        if record_count is not None and record_count < 0:
            raise ValueError("record_count must not be negative")
        return self._add_listing_fault(
            ListingFault(
                "record_count",
                after_page=after_page,
                record_count=record_count,
                delta=delta,
                passes=passes,
            )
        )

    def empty_page(self, *, page: int = 2, passes: int | None = 1) -> ListingFault:
        """The first read of page `page` in a pass answers no rows (the real `record_count`)."""
        return self._add_listing_fault(ListingFault("empty_page", after_page=page, passes=passes))

    def _add_listing_fault(self, fault: ListingFault) -> ListingFault:
        check_listing_fault(fault)
        with self._state:
            self._disturbances.faults.append(fault)
        return fault

    def clear_listing_faults(self) -> None:
        """Stop every listing fault (rows already deleted or paid stay so)."""
        with self._state:
            self._disturbances.faults.clear()

    def listing_faults(self) -> list[ListingFault]:
        """The listing faults in force (a copy of the list; the objects are live)."""
        with self._state:
            return list(self._disturbances.faults)

    @property
    def listing_passes(self) -> int:
        """How many listing passes have started (see `ListingFault`)."""
        with self._state:
            return self._disturbances.pass_no

    def set_page_cap(self, cap: int, *, echo: str | None = None) -> None:
        """Cap `page_size` at `cap` rows, silently; `echo` as `SandboxConfig.page_size_echo`."""
        if cap < 1:
            raise ValueError("the page cap must be at least 1")
        if echo is not None and echo not in PAGE_SIZE_ECHOES:
            raise ValueError(f"echo must be one of {PAGE_SIZE_ECHOES}")
        with self._state:
            self.config.max_page_size = cap
            if echo is not None:
                self.config.page_size_echo = echo

    # --- ground truth (for tests) ------------------------------------------------------------

    def open_invoice_ids(self) -> set[int]:
        """Ground truth: the ids of open invoices now (id > 0, readable, posted, not voided,
        total > 0, something due), whatever they hold in their link fields."""
        with self._state:
            return self._store.open_ids()

    def post_counts(self) -> dict[int, int]:
        """How many times each invoice id was saved by an update POST (validate-only excluded)."""
        with self.stats.lock:
            return dict(self.stats.invoices_written)

    def refused_posts(self) -> dict[int, int]:
        """Ids <= 0 that update POSTs tried to write (each refused with 400) -> times."""
        with self.stats.lock:
            return dict(self.stats.refused_ids)


def _code_for(codes: StatusCodes, paid: float, total: float) -> int:
    """The code `codes` give an invoice of `total` with `paid` paid: paid (also when nothing is
    due at all), unpaid, or part-paid."""
    if paid >= total:
        return codes.paid
    if paid <= 0:
        return codes.unpaid
    return codes.part
