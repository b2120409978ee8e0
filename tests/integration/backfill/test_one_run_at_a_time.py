"""One run at a time per Halo: a second backfill, resume or undo refuses and names the running run.

In-process tests hold the first run at its first POST (a gated client), so the second attempt
meets a run that is certainly still running; the CLI test uses two real processes.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from halo_paylink.core.backfill import plan_backfill, resume_run, run_backfill, undo_run
from halo_paylink.core.backfill.lock import RunLockedError, lock_key, normalise_web_url
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.halo.client import HaloClient

from .cli_helpers import backfill_args, cli_command, cli_env, confirm_pilot, run_cli
from .conftest import halo_client, settings


class GatedClient(HaloClient):
    """Holds every POST until the test opens the gate; says when the first POST arrived."""

    entered: asyncio.Event
    gate: asyncio.Event

    async def update_invoices(self, changes: Sequence[Mapping[str, Any]]) -> list[Any]:
        self.entered.set()
        await self.gate.wait()
        return await super().update_invoices(changes)


@pytest.mark.anyio
async def test_second_run_resume_and_undo_refuse_while_a_run_runs(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=3)
    async with (
        halo_client(box, client_cls=GatedClient) as first_client,
        halo_client(box) as other,
    ):
        assert isinstance(first_client, GatedClient)
        first_client.entered, first_client.gate = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(run_backfill(first_client, settings(), paths))
        await first_client.entered.wait()
        [journal] = list(paths.journals_dir.glob("*.jsonl"))
        running_id = journal.stem

        with pytest.raises(RunLockedError) as second:
            await run_backfill(other, settings(), paths)
        message = str(second.value)
        assert f"Run {running_id} is running against {box.url}" in message
        assert "(started " in message and "wait for it or stop it" in message

        with pytest.raises(RunLockedError) as resumed:
            await resume_run(other, paths, running_id)
        assert f"Run {running_id} is still running" in str(resumed.value)
        with pytest.raises(RunLockedError, match=running_id):
            await resume_run(other, paths)
        with pytest.raises(RunLockedError, match=running_id):
            await undo_run(other, paths, running_id)

        # A dry run writes nothing to Halo: it takes no lock and runs alongside.
        plan = await plan_backfill(other, settings(), paths=paths)
        assert plan.outcome is RunOutcome.PLANNED

        first_client.gate.set()
        done = await first
        assert done.outcome is RunOutcome.COMPLETED
        # The lock went with the run: the next run starts (and has nothing left to write).
        again = await run_backfill(other, settings(), paths)
        assert again.outcome is RunOutcome.COMPLETED
        assert again.counts.written == 0
        assert (await undo_run(other, paths, running_id)).outcome is RunOutcome.COMPLETED


@pytest.mark.anyio
async def test_lock_is_released_when_the_run_fails_to_start(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=5, seed=1)
    async with halo_client(box) as client:
        with pytest.raises(Exception, match="No run"):
            await undo_run(client, paths, "20260101-000000-000abcd")
        result = await run_backfill(client, settings(), paths)
    assert result.outcome is RunOutcome.COMPLETED


def test_spellings_of_one_halo_share_a_lock_and_other_halos_do_not() -> None:
    same = ["https://acme.halopsa.com", "https://ACME.halopsa.com/", "acme.halopsa.com/api"]
    assert {normalise_web_url(s) for s in same} == {"https://acme.halopsa.com"}
    assert len({lock_key(s) for s in same}) == 1
    assert lock_key("https://acme.halopsa.com") != lock_key("https://other.halopsa.com")


def test_cli_second_process_is_refused_until_the_first_dies(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=200, seed=5)
    secret = box.config.client_secret
    # 40 POSTs of 5, a second each: the first run is still going while the two refused
    # processes start, even on a busy machine
    box.faults.add(delay=1.0, method="POST", path="/api/invoice", times=None)
    confirm_pilot(tmp_path, box)
    first = subprocess.Popen(
        cli_command(*backfill_args(box, "--json"), "--batch-size", "5", "--concurrency", "1"),
        env=cli_env(tmp_path, secret),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not box.stats.invoices_written:
            assert first.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.02)
        [journal] = list((tmp_path / "state" / "runs").glob("*.jsonl"))

        second = run_cli(backfill_args(box), cli_env(tmp_path, secret))
        assert first.poll() is None  # still running: the refusal was not an accident of timing
        assert second.returncode == 7
        assert f"Run {journal.stem} is running against {box.url}" in second.stderr
        assert "Traceback" not in second.stderr

        as_json = run_cli(
            [*backfill_args(box, "--json"), "--resume", journal.stem], cli_env(tmp_path, secret)
        )
        assert as_json.returncode == 7
        error = json.loads(as_json.stdout)["error"]
        assert f"Run {journal.stem} is still running" in error["headline"]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    box.faults.clear()
    # The OS dropped the lock with the killed process: the run can be resumed at once.
    resumed = run_cli(
        [*backfill_args(box, "--json"), "--resume", journal.stem], cli_env(tmp_path, secret)
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["outcome"] == "completed"


@pytest.mark.anyio
async def test_runs_against_different_halos_do_not_wait_for_each_other(make_sandbox, paths) -> None:
    first_box, other_box = make_sandbox(invoices=20, seed=1), make_sandbox(invoices=20, seed=2)
    async with (
        halo_client(first_box, client_cls=GatedClient) as first_client,
        halo_client(other_box) as other,
    ):
        assert isinstance(first_client, GatedClient)
        first_client.entered, first_client.gate = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(run_backfill(first_client, settings(), paths))
        await first_client.entered.wait()
        [journal] = list(paths.journals_dir.glob("*.jsonl"))
        elsewhere = await run_backfill(other, settings(), paths)
        assert elsewhere.outcome is RunOutcome.COMPLETED and elsewhere.counts.written > 0
        # Resuming the running run through another Halo's lock still meets the run itself.
        with pytest.raises(RunLockedError, match=f"Run {journal.stem} is still running"):
            await resume_run(other, paths, journal.stem)
        first_client.gate.set()
        assert (await first).outcome is RunOutcome.COMPLETED
