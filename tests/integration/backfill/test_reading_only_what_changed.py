"""Whether a run may read only what changed is measured on the tenant, over real HTTP: reads after
a completed run check that every invoice needing the link had changed since it (see
`tenant.ChangeWitness`). Shown on enough invoices, changed days after that run, later runs read
only what changed; one miss (a change Halo did not stamp) turns that off for good and says so.
Neither a run's own saves, an undo's, nor a second read of the same invoices counts as evidence.
The contract holds throughout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from halo_paylink.core.backfill import (
    BackfillError,
    CancelToken,
    Progress,
    RunOptions,
    RunOutcome,
    plan_backfill,
    resume_run,
    run_backfill,
    undo_run,
)
from halo_paylink.core.backfill.learned import learned_lines
from halo_paylink.core.backfill.learning import TenantLearning
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.core.backfill.tenant import (
    FactId,
    load_tenant_facts,
    tenant_file,
)
from halo_paylink.domain import Numbering
from halo_paylink.errors import ErrorKind, LocalError
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.sandbox.records import with_payment
from halo_paylink.storage.paths import AppPaths

from .conftest import halo_client, settings, snapshot
from .contract import assert_contract

pytestmark = pytest.mark.anyio

FACT = FactId.CHANGES_MOVE_LAST_MODIFIED
OTHER_TEMPLATE = "https://pay.example.benjipays.com/pay/[Invoice No.]"


class WallClock:
    """The wall clock of the sandbox and of the runs alike, which a test moves on (days pass
    between two runs)."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead

    def days_pass(self, days: int = 3) -> None:
        self.ahead += dt.timedelta(days=days)


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


async def run(  # type: ignore[no-untyped-def]
    box: Sandbox,
    paths: AppPaths,
    clock: WallClock | None = None,
    *,
    contract: bool = True,
    **options: Any,
):
    """A run with the defaults for narrowed and incremental reads, on `clock`, held to the
    contract (unless told not to: the contract counts every save of the sandbox's life)."""
    before = snapshot(box)
    async with halo_client(box) as client:
        result = await run_backfill(
            client,
            settings(numbering=Numbering.HALO),
            paths,
            options=RunOptions(**{"batch_size": 100, **options}),
            now=clock,
        )
    if contract:
        assert_contract(box, result, paths, before)
    return result


def paid_ids(box: Sandbox, count: int) -> list[int]:
    found = [i for i, c in sorted(box.categories.items()) if c == seedmod.PAID]
    assert len(found) >= count
    return found[:count]


def owe_again(box: Sandbox, ids: list[int]) -> None:
    """These old paid invoices owe again, changed as Halo changes them (stamped)."""
    for invoice_id in ids:
        box.set_payment(invoice_id, False)


def owes_again_unstamped(box: Sandbox, invoice_id: int) -> None:
    """The invoice owes again, changed the way a Halo that does not stamp the change would."""
    with box.lock:
        box.invoices[invoice_id] = with_payment(box.invoices[invoice_id], 0.0, 0)


def linked_ids(box: Sandbox) -> set[int]:
    with box.lock:
        return {i for i, inv in box.invoices.items() if inv.get(facts.DEFAULT_LINK_FIELD)}


def notes(result: Any, start: str) -> list[str]:
    return [w for w in result.warnings if w.startswith(start)]


def fact(box: Sandbox, paths: AppPaths) -> Any:
    return load_tenant_facts(tenant_file(paths, box.url)).measured.get(FACT)


async def test_changes_halo_stamps_turn_reading_only_what_changed_on(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=11, stamp_changes=True, now=clock)
    first = await run(box, paths, clock)
    assert first.outcome is RunOutcome.COMPLETED
    assert fact(box, paths) is None and not notes(first, "Incremental run")

    clock.days_pass()
    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES))  # old invoices need the link again
    new = box.add_invoices(3, category=seedmod.UNPAID)  # new ones are no evidence
    second = await run(box, paths, clock)
    assert second.outcome is RunOutcome.COMPLETED
    assert second.counts.written == facts.MIN_CHANGE_SAMPLES + len(new)
    measured = fact(box, paths)
    assert measured is not None and measured.value is True, second.warnings
    assert f"{facts.MIN_CHANGE_SAMPLES} invoices older" in measured.how
    assert notes(second, "This Halo has shown that a read of only the changed")

    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES + 1)[-1:])
    third = await run(box, paths, clock)
    assert third.outcome is RunOutcome.COMPLETED and third.counts.written == 1
    (incremental,) = notes(third, "Incremental run")
    assert "measured on this Halo" in incremental
    assert third.counts.seen < len(box.invoices) / 2


async def test_changes_within_a_day_of_the_run_are_no_evidence(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    """Right after a run, a change cannot be told from that run's own saves (or from Halo
    writing its dates in another time zone): found, but not counted."""
    box: Sandbox = make_sandbox(invoices=300, seed=15, stamp_changes=True, now=clock)
    await run(box, paths, clock)
    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES + 2))
    second = await run(box, paths, clock)
    assert second.outcome is RunOutcome.COMPLETED
    assert second.counts.written == facts.MIN_CHANGE_SAMPLES + 2  # linked all the same
    assert fact(box, paths) is None


async def test_a_dry_run_and_the_run_count_each_invoice_once(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=16, stamp_changes=True, now=clock)
    await run(box, paths, clock)
    clock.days_pass()
    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES - 2))
    async with halo_client(box) as client:
        plan = await plan_backfill(
            client, settings(numbering=Numbering.HALO), paths=paths, now=clock
        )
    assert plan.outcome is RunOutcome.PLANNED
    await run(box, paths, clock)
    assert fact(box, paths) is None  # the same invoices twice are not twice the evidence
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    assert len(tenant.change_evidence) == facts.MIN_CHANGE_SAMPLES - 2
    lines = {line.topic: line for line in learned_lines(tenant)}
    shown = lines["Reading only the changed invoices misses none"]
    assert not shown.measured and f"{facts.MIN_CHANGE_SAMPLES - 2} of" in shown.finding


async def test_an_undo_leaves_no_run_to_read_from_nor_to_judge_by(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=17, stamp_changes=True, now=clock)
    first = await run(box, paths, clock)
    clock.days_pass()
    async with halo_client(box) as client:
        undone = await undo_run(client, paths, first.run_id)
    assert undone.outcome is RunOutcome.COMPLETED and undone.counts.written > 0
    assert load_tenant_facts(tenant_file(paths, box.url)).last_complete_run is None
    again = await run(box, paths, clock, contract=False)
    assert again.outcome is RunOutcome.COMPLETED and not notes(again, "Incremental run")
    # every invoice the undo changed needed the link again: none of it is evidence
    assert again.counts.written >= undone.counts.written and fact(box, paths) is None


async def test_a_change_halo_did_not_stamp_turns_it_off_and_says_so(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=12, stamp_changes=True, now=clock)
    assert (await run(box, paths, clock)).outcome is RunOutcome.COMPLETED
    clock.days_pass()
    stamped, unstamped = paid_ids(box, 2)
    owe_again(box, [stamped])
    owes_again_unstamped(box, unstamped)
    second = await run(box, paths, clock)
    assert second.outcome is RunOutcome.COMPLETED and second.counts.written == 2
    measured = fact(box, paths)
    assert measured is not None and measured.value is False
    assert f"invoice {unstamped} needed the link" in measured.how
    (said,) = notes(second, f"Invoice {unstamped} needed the link")
    assert "read every invoice from now on" in said
    # Neither a narrowed nor an incremental read is chosen by default any more.
    learning = TenantLearning(box, tenant_file(paths, box.url))  # type: ignore[arg-type]
    await learning.load()
    assert not learning.wants_narrow(None) and not learning.wants_incremental(None)
    assert learning.wants_narrow(True)  # the admin may still ask


async def test_evidence_never_outvotes_a_miss(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=400, seed=13, stamp_changes=True, now=clock)
    await run(box, paths, clock)
    clock.days_pass()
    owes_again_unstamped(box, paid_ids(box, 1)[0])
    await run(box, paths, clock)
    clock.days_pass()
    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES + 3)[1:])
    again = await run(box, paths, clock, incremental=False)
    assert again.outcome is RunOutcome.COMPLETED
    measured = fact(box, paths)
    assert measured is not None and measured.value is False


async def test_other_link_settings_read_everything_and_prove_nothing(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=14, stamp_changes=True, now=clock)
    await run(box, paths, clock)
    clock.days_pass()
    owe_again(box, paid_ids(box, facts.MIN_CHANGE_SAMPLES))
    await run(box, paths, clock)
    assert fact(box, paths).value is True
    # A new link for every linked invoice: none of them changed, but that is no miss.
    async with halo_client(box) as client:
        other = await run_backfill(
            client,
            settings(numbering=Numbering.HALO, template=OTHER_TEMPLATE, overwrite=True),
            paths,
            options=RunOptions(batch_size=100),
        )
    assert other.outcome is RunOutcome.COMPLETED and other.counts.written > 0
    (whole,) = notes(other, "Every posted invoice was read (not only the changed)")
    assert "link settings are not those of the last completed run" in whole
    assert fact(box, paths).value is True


#: small batches one at a time, progress at every step: a run can be stopped after a few
SLOW = RunOptions(batch_size=10, concurrency=1, progress_interval=0)


async def stopped_run(client: Any, box: Sandbox, paths: AppPaths, clock: WallClock) -> Any:
    """A run stopped once it has saved 10 links (Halo answers each save slowly)."""
    box.faults.add(delay=0.05, method="POST", path="/api/invoice", times=None)
    cancel = CancelToken()

    def on_progress(progress: Progress) -> None:
        if progress.written >= 10:
            cancel.cancel()

    result = await run_backfill(
        client,
        settings(numbering=Numbering.HALO),
        paths,
        options=SLOW,
        on_progress=on_progress,
        cancel=cancel,
        now=clock,
    )
    assert result.outcome is RunOutcome.CANCELLED
    return result


async def test_a_run_stopped_before_an_undo_is_not_resumed(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    """The stopped run recorded invoices as already linked that the undo then unlinked: a
    resume would say completed over them, so it is refused, and a new run links them."""
    box: Sandbox = make_sandbox(invoices=300, seed=18, stamp_changes=True, now=clock)
    done = await run(box, paths, clock)
    box.add_invoices(100, category=seedmod.UNPAID)
    async with halo_client(box) as client:
        stopped = await stopped_run(client, box, paths, clock)
        assert (await undo_run(client, paths, done.run_id)).outcome is RunOutcome.COMPLETED
        with pytest.raises(BackfillError, match="undid links on this Halo after it started"):
            await resume_run(client, paths, stopped.run_id)
    again = await run(box, paths, clock, contract=False)
    assert again.outcome is RunOutcome.COMPLETED
    assert box.open_invoice_ids() <= linked_ids(box)


async def test_a_resumed_run_counts_from_its_first_start(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=300, seed=19, stamp_changes=True, now=clock)
    async with halo_client(box) as client:
        stopped = await stopped_run(client, box, paths, clock)
        started = list_runs(paths)[0].started
        clock.days_pass(2)
        resumed = await resume_run(client, paths, stopped.run_id, now=clock)
    assert resumed.outcome is RunOutcome.COMPLETED
    assert load_tenant_facts(tenant_file(paths, box.url)).last_complete_run == started


async def test_our_own_saves_by_any_run_are_no_evidence(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    """Halo's own unpaid filter, another link: a run that keeps no tenant learning still saves
    invoices, and the next run must not take its saves for changes Halo made."""
    box: Sandbox = make_sandbox(invoices=300, seed=20, stamp_changes=True, now=clock)
    mine = settings(numbering=Numbering.HALO, overwrite=True)
    async with halo_client(box) as client:
        first = await run_backfill(client, mine, paths, options=RunOptions(), now=clock)
    assert first.outcome is RunOutcome.COMPLETED
    clock.days_pass()
    async with halo_client(box) as client:
        other = await run_backfill(
            client,
            settings(
                numbering=Numbering.HALO,
                template=OTHER_TEMPLATE,
                overwrite=True,
                server_filter=True,
            ),
            paths,
            options=RunOptions(batch_size=100),
            now=clock,
        )
    assert other.outcome is RunOutcome.COMPLETED
    assert other.counts.written >= facts.MIN_CHANGE_SAMPLES
    async with halo_client(box) as client:
        back = await run_backfill(client, mine, paths, options=RunOptions(), now=clock)
    assert back.outcome is RunOutcome.COMPLETED and back.counts.written >= other.counts.written
    assert fact(box, paths) is None


async def test_a_dry_run_does_not_bring_back_a_run_an_undo_forgot(
    make_sandbox, paths: AppPaths, clock: WallClock
) -> None:
    box: Sandbox = make_sandbox(invoices=200, seed=21, stamp_changes=True, now=clock)
    done = await run(box, paths, clock)
    path = tenant_file(paths, box.url)
    dry = TenantLearning(box, path, clock=clock)  # type: ignore[arg-type]
    await dry.load()  # a dry run's copy, taken before the undo
    async with halo_client(box) as client:
        await undo_run(client, paths, done.run_id)
    await dry.remember(None, read_whole_list=False)
    assert load_tenant_facts(path).last_complete_run is None


async def test_an_undo_whose_forgetting_cannot_be_saved_does_not_start(
    make_sandbox, paths: AppPaths, clock: WallClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from halo_paylink.core.backfill import tenant as tenantmod

    box: Sandbox = make_sandbox(invoices=200, seed=22, stamp_changes=True, now=clock)
    done = await run(box, paths, clock)
    posts = sum(box.post_counts().values())

    def full(path: Any, found: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tenantmod, "save_tenant_facts", full)
    async with halo_client(box) as client:
        with pytest.raises(LocalError) as refused:
            await undo_run(client, paths, done.run_id)
    assert refused.value.kind is ErrorKind.DISK_FULL
    assert sum(box.post_counts().values()) == posts  # nothing was undone
    assert [r.run_id for r in list_runs(paths)] == [done.run_id]  # no undo journal begun
