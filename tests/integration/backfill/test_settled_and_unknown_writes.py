"""Resume and undo after a run stopped right after a POST that Halo applied but the journal never
heard back about (intents fsynced, no outcome), against the real sandbox over HTTP.

- resume decides every invoice once: its counts add up to the invoices in Halo, no invoice is
  POSTed twice, and the write that landed is recorded, not repeated;
- undo restores the writes whose outcome was unknown too, where they hold the run's link;
- resume and undo refuse a different Halo, and accept the same one however its address is
  spelled (letter case, a trailing slash).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from halo_paylink.core.backfill import (
    BackfillError,
    RunOptions,
    RunOutcome,
    resume_run,
    run_backfill,
    undo_run,
)
from halo_paylink.core.backfill.journal import journal_path
from halo_paylink.core.backfill.replay import replay
from halo_paylink.halo.client import HaloClient
from halo_paylink.sandbox import Sandbox
from halo_paylink.sandbox import seed as seedmod

from .conftest import LINK_FIELD, expected_link, halo_client, settings, snapshot

pytestmark = pytest.mark.anyio

ONE_AT_A_TIME = RunOptions(batch_size=10, concurrency=1, page_size=25, progress_interval=0.0)


class StopsAfterPost(HaloClient):
    """A client whose run task is cancelled just after POST number `stop_after` returned: Halo
    saved that batch, but the run never records the outcome (as if the app were killed then)."""

    stop_after = 2
    run_task: asyncio.Task[Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[set[int]] = []

    async def update_invoices(self, changes: Sequence[Mapping[str, Any]]) -> Any:
        result = await super().update_invoices(changes)
        self.batches.append({int(change["id"]) for change in changes})
        if len(self.batches) == self.stop_after and self.run_task is not None:
            # Halo saved the batch; the run stops before it hears so (the POST's own task ends
            # cancelled too, whichever task the engine sends it from).
            self.run_task.cancel()
            raise asyncio.CancelledError
        return result


def needing(box: Sandbox) -> set[int]:
    return {i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK}


async def stopped_run(box: Sandbox, paths: Any, *, stop_after: int = 2) -> tuple[str, set[int]]:
    """A backfill stopped right after its `stop_after`-th POST; returns its run id and the
    invoices of that last batch (in Halo with the new link, in the journal without outcome)."""
    async with halo_client(box, client_cls=StopsAfterPost) as client:
        assert isinstance(client, StopsAfterPost)
        client.stop_after = stop_after
        task = asyncio.create_task(run_backfill(client, settings(), paths, options=ONE_AT_A_TIME))
        client.run_task = task
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(client.batches) == stop_after
    assert set(box.stats.invoices_written) == set().union(*client.batches)
    runs = sorted(paths.journals_dir.glob("*.jsonl"))
    assert len(runs) == 1
    # the premise: the journal has the last batch's intents and no outcome for them
    assert set(replay(runs[0]).unknown) == client.batches[-1]
    return runs[0].name.removesuffix(".jsonl"), client.batches[-1]


async def test_resume_decides_every_invoice_once(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=80, seed=21)
    before = snapshot(box)
    run_id, last_batch = await stopped_run(box, paths, stop_after=3)
    for invoice_id in last_batch:  # the unrecorded write did land
        assert box.invoices[invoice_id][LINK_FIELD] == expected_link(before[invoice_id])
    async with halo_client(box) as client:
        resumed = await resume_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
    counts = resumed.counts
    in_halo = len(snapshot(box))
    # every invoice in exactly one bucket: the counts add up to the invoices Halo holds
    buckets = (
        counts.written
        + counts.failed
        + counts.conflicts
        + counts.skipped_total
        + counts.unknown
        + counts.not_written
    )
    assert buckets == in_halo, counts.to_json()
    assert counts.seen == in_halo, counts.to_json()
    assert counts.written == len(needing(box))
    assert counts.unknown == 0 and counts.not_written == 0
    # nothing POSTed twice, the landed batch included
    assert box.stats.written_more_than_once() == []
    assert set(box.stats.invoices_written) == needing(box)
    after = snapshot(box)
    for invoice_id in needing(box):
        assert after[invoice_id][LINK_FIELD] == expected_link(before[invoice_id])


async def test_undo_restores_writes_whose_outcome_was_unknown(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=80, seed=22)
    before = snapshot(box)
    run_id, last_batch = await stopped_run(box, paths, stop_after=2)
    touched = set(box.stats.invoices_written)
    assert last_batch < touched  # earlier batches have recorded outcomes, the last one not
    async with halo_client(box) as client:
        undo = await undo_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert undo.outcome is RunOutcome.COMPLETED, undo.detail
    assert undo.counts.written == len(touched), undo.counts.to_json()
    after = snapshot(box)
    for invoice_id in touched:  # the unknown batch too
        assert after[invoice_id][LINK_FIELD] == before[invoice_id][LINK_FIELD], invoice_id
    assert after == before


async def test_undo_leaves_an_unknown_write_that_did_not_land(make_sandbox, paths) -> None:
    """An unknown write Halo never applied: the invoice does not hold the run's link, so undo
    must not touch it (it is "changed since", not restored to a value it never lost)."""
    box = make_sandbox(invoices=80, seed=23)
    before = snapshot(box)
    run_id, last_batch = await stopped_run(box, paths, stop_after=2)
    lost = min(last_batch)
    with box.lock:  # as if this one write had never landed
        box.invoices[lost][LINK_FIELD] = before[lost][LINK_FIELD]
    async with halo_client(box) as client:
        undo = await undo_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert undo.outcome is RunOutcome.COMPLETED, undo.detail
    assert box.stats.invoices_written[lost] == 1  # only the backfill's write, no undo write
    assert snapshot(box) == before


# --- the same Halo, and only the same Halo -------------------------------------------------------


def respelled(client: HaloClient, web_url: str) -> None:
    client.endpoints = dataclasses.replace(client.endpoints, web_url=web_url)


async def test_resume_and_undo_refuse_a_different_halo(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=24)
    other = make_sandbox(invoices=60, seed=24)  # same data, another server
    run_id, _ = await stopped_run(box, paths)
    journal = journal_path(paths.journals_dir, run_id)
    recorded = journal.read_bytes()
    async with halo_client(other) as client:
        with pytest.raises(BackfillError) as resume_refused:
            await resume_run(client, paths, run_id, options=ONE_AT_A_TIME)
        with pytest.raises(BackfillError) as undo_refused:
            await undo_run(client, paths, run_id, options=ONE_AT_A_TIME)
    for refused in (resume_refused, undo_refused):
        assert box.url in str(refused.value) and other.url in str(refused.value)
    assert not other.stats.invoices_written
    assert journal.read_bytes() == recorded  # the run is untouched, still resumable
    assert sorted(p.name for p in paths.journals_dir.glob("*.jsonl")) == [journal.name]


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda url: url.upper(), id="upper-case"),
        pytest.param(lambda url: url + "/", id="trailing-slash"),
        pytest.param(lambda url: url.upper() + "/", id="both"),
    ],
)
async def test_resume_accepts_the_same_halo_spelled_differently(
    make_sandbox, paths, spelling
) -> None:
    box = make_sandbox(invoices=60, seed=25)
    run_id, _ = await stopped_run(box, paths)
    async with halo_client(box) as client:
        respelled(client, spelling(box.url))
        resumed = await resume_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
    assert box.stats.written_more_than_once() == []


async def test_undo_accepts_the_same_halo_spelled_differently(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=26)
    before = snapshot(box)
    run_id, _ = await stopped_run(box, paths)
    async with halo_client(box) as client:
        respelled(client, box.url.upper() + "/")
        undo = await undo_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert undo.outcome is RunOutcome.COMPLETED, undo.detail
    assert snapshot(box) == before


async def test_a_longer_path_is_a_different_halo(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=27)
    run_id, _ = await stopped_run(box, paths)
    async with halo_client(box) as client:
        respelled(client, box.url + "/halo")
        with pytest.raises(BackfillError):
            await resume_run(client, paths, run_id, options=ONE_AT_A_TIME)
        respelled(client, box.url)
        resumed = await resume_run(client, paths, run_id, options=ONE_AT_A_TIME)
    assert resumed.outcome is RunOutcome.COMPLETED, resumed.detail
