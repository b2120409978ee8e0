""" "Completed" is a promise: the engine's evidence, against an in-memory Halo that misbehaves.

`ShiftingHalo` pages an id-ordered list by offset, as Halo does, and lets a test change the list
between two page reads (rows deleted or added, so later rows shift across a page boundary), lie
about `record_count`, or repeat rows. The property: a run says "completed" only when every open
invoice the list holds at the end carries its link; otherwise it names what is left.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill import runner
from halo_paylink.core.backfill.engine import Engine
from halo_paylink.core.backfill.journal import JournalWriter, read_records
from halo_paylink.core.backfill.model import BackfillSettings, RunOptions
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo.models import Invoice, InvoicePage
from halo_paylink.storage.paths import AppPaths

T = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=[Invoice No.]"
F = "generic_online_invoice_payment_url"


def invoice(invoice_id: int, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": invoice_id,
        "invoicenumber": f"INV-{invoice_id}",
        "thirdpartyinvoicenumber": f"A-{invoice_id}",
        "client_name": "Client",
        "posted": True,
        "voided": False,
        "total": 100.0,
        "amountpaid": 0.0,
        "amountdue": 100.0,
        "customfields": [],
        F: "",
    }
    data.update(over)
    return data


def link(invoice_id: int) -> str:
    return T.replace("[Invoice No.]", f"A-{invoice_id}")


class ShiftingHalo:
    """An in-memory Halo (the engine's `InvoiceSource`) whose list can change under the reader.

    `before_page(read_no, page_no)` runs before every page read (read_no counts every page read
    of the whole run, from 1) and may change `rows`. `announce` can lie about record_count.
    """

    def __init__(self, rows: Sequence[dict[str, Any]], *, page_cap: int = 100) -> None:
        self.rows: dict[int | str, dict[str, Any]] = {r["id"]: r for r in rows}
        self.page_cap = page_cap
        self.reads = 0
        self.before_page: Callable[[int, int], None] = lambda read_no, page_no: None
        self.announce: Callable[[int], int | None] = lambda real: real
        self.posts: list[list[int]] = []
        self.fail_update: BaseException | None = None
        self.endpoints = None

    def listed(self) -> list[dict[str, Any]]:
        """The list as the client asks for it (`facts.LISTING_ORDER`): by id, newest first."""
        ints = sorted((k for k in self.rows if type(k) is int), reverse=True)
        return [self.rows[k] for k in ints] + [
            self.rows[k] for k in self.rows if type(k) is not int
        ]

    async def invoice_pages(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = 100,
        start_page: int = 1,
    ) -> AsyncIterator[InvoicePage]:
        from halo_paylink.halo.client import HaloClient

        size = min(page_size, self.page_cap)
        page_no = start_page
        seen = 0
        while True:
            self.reads += 1
            self.before_page(self.reads, page_no)
            listed = self.listed()
            chunk = listed[(page_no - 1) * size : page_no * size]
            body = {"record_count": self.announce(len(listed)), "invoices": chunk}
            invoices, odd, count = HaloClient._parse_envelope(body)
            rows = len(invoices) + len(odd)
            seen += rows
            yield InvoicePage(page_no, size, count, invoices, odd)
            await asyncio.sleep(0)
            if rows == 0 or (rows < size and (count is None or seen >= count)):
                return
            page_no += 1

    async def get_invoice(self, invoice_id: int) -> Invoice:
        row = self.rows.get(invoice_id)
        if row is None:
            raise HaloError(ErrorKind.NOT_FOUND, "gone")
        return Invoice(invoice_id, dict(row))

    async def update_invoices(self, changes: Any) -> list[Mapping[str, Any]]:
        if self.fail_update is not None:
            raise self.fail_update
        ids = [int(c["id"]) for c in changes]
        if any(i not in self.rows for i in ids):
            raise HaloError(ErrorKind.NOT_FOUND, "no such invoice")  # deleted meanwhile
        self.posts.append(ids)
        for change in changes:
            self.rows[change["id"]].update(change)
        return [dict(self.rows[i]) for i in ids]  # each invoice as saved, as Halo answers

    async def validate_invoice_edit(self, invoice_id: int) -> None:
        return None

    def open_unlinked(self, *, older_than: int | None = None) -> list[int]:
        """Open invoices (ids > 0) in the list now that lack their link (with `older_than`,
        only those that existed before the run: ids up to it)."""
        return [
            r["id"]
            for r in self.listed()
            if type(r.get("id")) is int
            and r["id"] > 0
            and (older_than is None or r["id"] <= older_than)
            and r.get("posted") is True
            and type(r.get("total")) is float
            and type(r.get("amountdue")) is float
            and 0 < r["amountdue"] < float("inf")
            and type(r.get("customfields")) is list
            and type(r.get("thirdpartyinvoicenumber")) is str
            and r.get(F) != link(r["id"])
        ]

    def post_counts(self) -> Counter[int]:
        return Counter(i for batch in self.posts for i in batch)


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.under(tmp_path / "home")


OPTIONS = RunOptions(batch_size=7, concurrency=2, page_size=10, progress_interval=0)


def run(halo: ShiftingHalo, paths: AppPaths) -> runner.RunResult:
    return asyncio.run(runner.run_backfill(halo, BackfillSettings(T), paths, options=OPTIONS))


def resume(halo: ShiftingHalo, paths: AppPaths) -> runner.RunResult:
    return asyncio.run(runner.resume_run(halo, paths, options=OPTIONS))


def assert_adds_up(result: runner.RunResult) -> None:
    c = result.counts
    assert c.seen == (
        c.written + c.failed + c.conflicts + c.skipped_total + c.unknown + c.not_written
    )


# --- no lost exception -----------------------------------------------------------------------


@pytest.mark.allow_log_warnings(r"backfill: a batch write failed")
@pytest.mark.parametrize("exc", [ValueError("odd id"), TypeError("odd"), KeyError("x")])
def test_an_exception_in_a_batch_write_is_never_a_success(
    paths: AppPaths, exc: BaseException
) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 31)])
    halo.fail_update = exc
    result = run(halo, paths)
    assert result.outcome is RunOutcome.INTERNAL_ERROR
    assert result.outcome.exit_code != 0
    assert result.counts.unknown > 0  # the batch it concerns stays unfinished
    assert_adds_up(result)
    assert [r.resumable for r in list_runs(paths)] == [True]
    halo.fail_update = None
    again = resume(halo, paths)
    assert again.outcome is RunOutcome.COMPLETED
    assert halo.open_unlinked() == []


@pytest.mark.allow_log_warnings(r"backfill: the journal failed")
def test_a_journal_failure_mid_run_stops_the_run_and_nothing_unjournaled_is_sent(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 41)])
    real_sync = JournalWriter.sync
    calls = {"n": 0}

    def failing_sync(self: JournalWriter) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # header, then the first batches, then the disk fills up
            raise OSError(28, "No space left on device")
        real_sync(self)

    monkeypatch.setattr(JournalWriter, "sync", failing_sync)
    result = run(halo, paths)
    assert result.outcome is RunOutcome.LOCAL_ERROR
    monkeypatch.setattr(JournalWriter, "sync", real_sync)
    again = resume(halo, paths)
    assert again.outcome is RunOutcome.COMPLETED
    assert halo.open_unlinked() == []
    assert max(halo.post_counts().values()) == 1


# --- one odd record costs only itself --------------------------------------------------------


ODD = [
    invoice(-3),  # a recurring-invoice template that looks open
    invoice(0),
    invoice(5, total="NaN", amountdue="NaN"),
    invoice(6, amountdue=float("inf")),
    invoice(7, total="a lot"),
    invoice(8, customfields=12),
    invoice(9, customfields="x"),
    {k: v for k, v in invoice(10).items() if k != "total"},
    {k: v for k, v in invoice(11).items() if k != "posted"},
    invoice(12, thirdpartyinvoicenumber={"n": 1}),
]


@pytest.mark.parametrize("dry_run", [False, True])
def test_odd_records_cost_only_themselves(paths: AppPaths, dry_run: bool) -> None:
    good = [invoice(i) for i in range(20, 45)]
    halo = ShiftingHalo([*ODD, *good])
    halo.rows["abc"] = invoice(0, id="abc", invoicenumber="X-1")  # an id that is not a number
    if dry_run:
        result = asyncio.run(
            runner.plan_backfill(halo, BackfillSettings(T), paths=paths, options=OPTIONS)
        )
        assert result.outcome is RunOutcome.PLANNED
        assert result.plan is not None and result.plan.to_write == len(good)
    else:
        result = run(halo, paths)
        assert result.outcome is RunOutcome.COMPLETED, result.detail
        assert halo.open_unlinked() == []
        assert all(i > 0 for i in halo.post_counts())
    assert result.counts.skipped["not_an_invoice"] == 2
    assert result.counts.skipped["unreadable"] == len(ODD) - 2 + 1
    assert_adds_up(result)
    assert result.report is not None
    csv = result.report.csv.read_text("utf-8")
    assert "unreadable: total is 'NaN'" in csv
    assert "unreadable: customfields is 12, not a list" in csv
    assert "unreadable: its id is 'abc'" in csv


def test_an_odd_row_is_counted_once_across_resume(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 30)])
    halo.rows["abc"] = invoice(0, id="abc")
    halo.fail_update = HaloError(ErrorKind.SERVER_ERROR, "down")
    first = run(halo, paths)
    assert first.outcome is RunOutcome.SERVER_ERROR
    halo.fail_update = None
    again = resume(halo, paths)
    assert again.outcome is RunOutcome.COMPLETED
    assert again.counts.skipped["unreadable"] == 1
    assert again.counts.seen == 30


# --- the listing proves itself --------------------------------------------------------------


def test_rows_deleted_between_pages_are_read_again_not_missed(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 58)])

    def delete_three(read_no: int, page_no: int) -> None:
        if read_no == 3:  # before page 3 of the first read: rows 1-3 are deleted
            for i in (1, 2, 3):
                halo.rows.pop(i)

    halo.before_page = delete_three
    result = run(halo, paths)
    # A write to an invoice deleted meanwhile is refused by Halo: named, not missing.
    assert result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES)
    assert result.counts.failed <= 3
    assert halo.open_unlinked() == []
    assert max(halo.post_counts().values()) == 1
    # The evidence cost one more read of the list (6 pages), not more.
    assert halo.reads == 6 + 6


def test_a_listing_that_never_settles_is_incomplete_and_resumable(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 58)])
    victims = iter(range(1, 58))

    def delete_one_per_read(read_no: int, page_no: int) -> None:
        if page_no == 3:
            halo.rows.pop(next(victims), None)

    halo.before_page = delete_one_per_read
    result = run(halo, paths)
    assert result.outcome is RunOutcome.INCOMPLETE
    assert result.outcome.exit_code == 6
    assert "may be missing" in result.detail
    assert [r.resumable for r in list_runs(paths)] == [True]
    halo.before_page = lambda read_no, page_no: None
    again = resume(halo, paths)
    # Writes to invoices deleted meanwhile are refused by Halo: named, not missing.
    assert again.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES)
    assert halo.open_unlinked() == []
    assert max(halo.post_counts().values()) == 1


@pytest.mark.parametrize("announce", [lambda real: real - 7, lambda real: real + 7])
def test_a_record_count_that_lies_is_never_completed(
    paths: AppPaths, announce: Callable[[int], int]
) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 58)])
    halo.announce = announce
    result = run(halo, paths)
    assert result.outcome is RunOutcome.INCOMPLETE
    assert_adds_up(result)


def test_an_empty_page_once_is_read_again(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 58)])
    hidden: dict[int | str, dict[str, Any]] = {}

    def blank_page_two(read_no: int, page_no: int) -> None:
        if read_no == 2:
            hidden.update(halo.rows)
            halo.rows.clear()
        elif hidden:
            halo.rows.update(hidden)
            hidden.clear()

    halo.before_page = blank_page_two
    result = run(halo, paths)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert halo.open_unlinked() == []


def test_a_repeated_row_is_decided_once_and_read_again(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 25)])
    original = halo.listed

    def with_overlap() -> list[dict[str, Any]]:
        rows = original()
        return rows[:10] + rows[9:] if halo.reads == 2 else rows

    halo.listed = with_overlap  # type: ignore[method-assign]
    result = run(halo, paths)
    assert result.outcome is RunOutcome.COMPLETED
    assert max(halo.post_counts().values()) == 1
    assert result.counts.seen == 24


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=0, max_value=45),
    cap=st.sampled_from([3, 10, 100]),
    changes=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=40),  # before which page read
            st.sampled_from(["delete", "pay", "create"]),
            st.integers(min_value=1, max_value=60),  # which id (create: always the next id)
        ),
        max_size=6,
    ),
)
def test_completed_means_every_open_invoice_listed_now_has_its_link(
    tmp_path_factory: pytest.TempPathFactory, count: int, cap: int, changes: list[Any]
) -> None:
    paths = AppPaths.under(tmp_path_factory.mktemp("home"))
    halo = ShiftingHalo([invoice(i) for i in range(1, count + 1)], page_cap=cap)
    next_id = [count + 1]

    def disturb(read_no: int, page_no: int) -> None:
        for when, what, invoice_id in changes:
            if when != read_no:
                continue
            if what == "delete":
                halo.rows.pop(invoice_id, None)
            elif what == "pay" and invoice_id in halo.rows:
                halo.rows[invoice_id].update(amountdue=0.0, amountpaid=100.0)
            elif what == "create":  # Halo gives a new invoice the next id, never a deleted one's
                halo.rows[next_id[0]] = invoice(next_id[0])
                next_id[0] += 1

    halo.before_page = disturb
    result = asyncio.run(runner.run_backfill(halo, BackfillSettings(T), paths, options=OPTIONS))
    assert_adds_up(result)
    assert max(halo.post_counts().values(), default=1) == 1
    assert result.counts.seen <= len(halo.rows) + sum(1 for c in changes if c[1] == "delete")
    if result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES):
        # Halo may refuse a write to an invoice deleted meanwhile: named, and no longer listed.
        # An invoice created after its place in the list was read is the next run's.
        assert halo.open_unlinked(older_than=count) == []
    else:
        assert result.outcome is RunOutcome.INCOMPLETE
        assert result.outcome.resumable


# --- intents are on disk before their POST ---------------------------------------------------


class RecordingJournal:
    """A `JournalSink` that remembers which invoice ids were on disk at each moment."""

    def __init__(self, events: list[tuple[str, frozenset[int]]]) -> None:
        self.events = events
        self.written: set[int] = set()
        self.durable: set[int] = set()

    def write(self, payload: bytes) -> None:
        import json

        for line in payload.decode().splitlines():
            data = json.loads(line)
            if data["t"] == "intents":
                self.written.update(item[0] for item in data["items"])

    def sync(self) -> None:
        self.durable |= self.written
        self.events.append(("sync", frozenset(self.durable)))


def test_every_post_leaves_only_after_its_intents_are_fsynced() -> None:
    from halo_paylink.core.backfill.modes import BackfillMode
    from halo_paylink.core.backfill.progress import CancelToken, ProgressThrottle
    from halo_paylink.core.backfill.selection import decider_for
    from halo_paylink.core.backfill.target import FieldTarget
    from halo_paylink.domain import Numbering

    events: list[tuple[str, frozenset[int]]] = []
    journal = RecordingJournal(events)
    halo = ShiftingHalo([invoice(i) for i in range(1, 40)])
    real_update = halo.update_invoices

    async def update(changes: Any) -> list[Mapping[str, Any]]:
        ids = frozenset(int(c["id"]) for c in changes)
        assert ids <= journal.durable, "a POST left before its intents were on disk"
        events.append(("post", ids))
        return await real_update(changes)

    halo.update_invoices = update  # type: ignore[method-assign]
    target = FieldTarget()
    engine = Engine(
        halo,
        target=target,
        mode=BackfillMode(
            decider_for(target=target, template=T, numbering=Numbering.ACCOUNTING), writes=True
        ),
        journal=journal,
        options=OPTIONS,
        progress=ProgressThrottle(None),
        cancel=CancelToken(),
        clock=lambda: 0.0,
    )
    asyncio.run(engine.run(None))
    posts = [ids for kind, ids in events if kind == "post"]
    assert sum(len(p) for p in posts) == 39
    assert engine.crash is None and engine.accounted


def test_a_plan_has_no_journal_and_a_write_needs_one() -> None:
    from halo_paylink.core.backfill.modes import BackfillMode
    from halo_paylink.core.backfill.progress import CancelToken, ProgressThrottle
    from halo_paylink.core.backfill.target import FieldTarget

    for mode, journal in (
        (BackfillMode(lambda i: None, writes=False), object()),
        (BackfillMode(lambda i: None, writes=True), None),
    ):
        with pytest.raises(ValueError, match="journal"):
            Engine(
                ShiftingHalo([]),
                target=FieldTarget(),
                mode=mode,
                journal=journal,  # type: ignore[arg-type]
                options=OPTIONS,
                progress=ProgressThrottle(None),
                cancel=CancelToken(),
                clock=lambda: 0.0,
            )


def test_the_journal_names_each_odd_row(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(1)])
    halo.rows["x"] = invoice(0, id=None, invoicenumber="N-1")
    result = run(halo, paths)
    assert result.journal is not None
    kinds = [type(r).__name__ for r in read_records(result.journal)]
    assert "Oddities" in kinds


def test_a_deletion_and_a_creation_between_two_pages_hide_no_older_invoice(
    paths: AppPaths,
) -> None:
    """The pair keeps record_count unchanged; read oldest first, it would hide invoice 4."""
    halo = ShiftingHalo([invoice(i) for i in range(1, 5)], page_cap=3)

    def delete_and_create(read_no: int, page_no: int) -> None:
        if read_no == 2:
            halo.rows.pop(1)
            halo.rows[5] = invoice(5)

    halo.before_page = delete_and_create
    result = run(halo, paths)
    assert result.outcome is not RunOutcome.INCOMPLETE or result.outcome.resumable
    assert halo.open_unlinked(older_than=4) == []


def test_without_a_record_count_a_deleted_row_is_not_taken_as_consistent(
    paths: AppPaths,
) -> None:
    """No count to check against: only a second read listing the same rows is evidence."""
    halo = ShiftingHalo([invoice(i) for i in range(1, 31)])
    halo.announce = lambda real: None

    def delete_once(read_no: int, page_no: int) -> None:
        if read_no == 2:
            halo.rows.pop(25, None)  # on page 1 (newest first): page 2 starts one row later

    halo.before_page = delete_once
    result = run(halo, paths)
    assert result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES)
    assert halo.open_unlinked() == []  # the second read found invoice 20


def test_without_a_record_count_a_calm_list_costs_one_more_read(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 31)])
    halo.announce = lambda real: None
    result = run(halo, paths)
    assert result.outcome is RunOutcome.COMPLETED
    assert halo.reads == 2 * 4  # two reads of 3 full pages and the empty one


def test_two_odd_rows_alike_are_both_counted(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(1)])
    halo.rows["a"] = invoice(0, id=None, invoicenumber=None, client_name="A")
    halo.rows["b"] = invoice(0, id=None, invoicenumber=None, client_name="B")
    result = run(halo, paths)
    assert result.counts.skipped["unreadable"] == 2
    assert_adds_up(result)


@pytest.mark.allow_log_warnings()
def test_a_write_that_may_have_landed_is_never_journaled_as_not_written(
    paths: AppPaths,
) -> None:
    """A POST timed out (maybe applied), then the retry was refused: the batch stays unknown,
    so undo and resume still treat its invoices as possibly written."""
    halo = ShiftingHalo([invoice(i) for i in range(1, 8)])
    error = HaloError(ErrorKind.RATE_LIMITED, "budget spent after a timeout")
    error.maybe_applied = True
    halo.fail_update = error
    result = run(halo, paths)
    assert result.outcome is RunOutcome.RATE_LIMITED
    assert result.counts.unknown == 7 and result.counts.not_written == 0


# --- a save counts only when Halo shows it ---------------------------------------------------


class OneHeaderHalo(ShiftingHalo):
    """Answers a batch POST with one object, the first invoice's (as Halo's 2026 API documents
    it), and can silently drop the writes to some invoices."""

    def __init__(self, rows: Sequence[dict[str, Any]], *, drops: set[int] = frozenset()) -> None:
        super().__init__(rows)
        self.drops = set(drops)

    async def update_invoices(self, changes: Any) -> list[Mapping[str, Any]]:
        kept = [c for c in changes if c["id"] not in self.drops]
        await super().update_invoices(kept) if kept else None
        self.posts.append([c["id"] for c in changes if c["id"] in self.drops])
        first = changes[0]
        return [dict(self.rows[first["id"]])] if first["id"] not in self.drops else []


def test_saves_halo_did_not_show_are_read_back_before_they_count(paths: AppPaths) -> None:
    halo = OneHeaderHalo([invoice(i) for i in range(1, 61)])
    result = run(halo, paths)
    assert result.outcome is RunOutcome.COMPLETED, result.detail
    assert halo.open_unlinked() == [] and set(halo.post_counts().values()) == {1}
    assert result.counts.written == 60
    assert_adds_up(result)
    assert halo.reads > 7  # 6 pages and the end, then the list again to confirm the saves


def test_a_write_halo_answers_but_never_keeps_is_never_called_done(paths: AppPaths) -> None:
    halo = OneHeaderHalo([invoice(i) for i in range(1, 31)], drops={17})
    result = run(halo, paths)
    assert result.outcome is RunOutcome.INCOMPLETE, result.detail
    assert result.outcome.resumable and "unfinished" in result.detail
    assert result.counts.written == 29
    assert halo.open_unlinked() == [17]


# --- progress a user can believe -------------------------------------------------------------


@pytest.mark.allow_log_warnings(r"backfill: a batch write failed")
def test_a_resumed_run_reports_its_own_pace_and_no_time_left_once_done(paths: AppPaths) -> None:
    halo = ShiftingHalo([invoice(i) for i in range(1, 31)])
    halo.fail_update = ValueError("odd")
    first = run(halo, paths)
    assert first.counts.skipped_total + first.counts.unknown > 0
    halo.fail_update = None
    ticks = iter(range(10_000))
    seen: list[Any] = []
    asyncio.run(
        runner.resume_run(
            halo,
            paths,
            options=OPTIONS,
            on_progress=seen.append,
            clock=lambda: float(next(ticks)),  # one second per look at the clock
        )
    )
    assert seen, "no progress was reported"
    # At most every invoice of the run in the attempt's own seconds, never the earlier ones'.
    assert max(p.rate for p in seen) <= 30.0
    last = seen[-1]
    assert last.done == last.total and last.eta_seconds is None
    assert last.message == ""  # nothing said to be going on once it is over
