"""The `backfill` and `runs` subcommands as real processes against an in-test sandbox."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from halo_paylink.sandbox import seed as seedmod

from .cli_helpers import (
    backfill_args,
    cli_command,
    cli_env,
    confirm_pilot,
    resume_args,
    run_cli,
)
from .conftest import LINK_FIELD, expected_link, snapshot


def test_killed_process_then_resume_writes_each_invoice_once(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=300, seed=11)
    before = snapshot(box)
    wanted = {i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK}
    secret = box.config.client_secret
    confirm_pilot(tmp_path, box)
    # Slow every write down so the process can be killed while writing.
    box.faults.add(delay=0.15, method="POST", path="/api/invoice", times=None)
    proc = subprocess.Popen(
        cli_command(*backfill_args(box, "--json"), "--batch-size", "10", "--concurrency", "3"),
        env=cli_env(tmp_path, secret),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(box.stats.invoices_written) < 30:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    written_before_kill = set(box.stats.invoices_written)
    assert 0 < len(written_before_kill) < len(wanted)
    box.faults.clear()

    listing = run_cli(["runs", "--json"], cli_env(tmp_path, secret))
    runs = json.loads(listing.stdout)["runs"]
    assert [r["status"] for r in runs] == ["interrupted"]
    # Killed mid-write: some writes were sent without a recorded result (resume must settle them).
    assert runs[0]["counts"]["unknown"] > 0

    resumed = run_cli(resume_args(box), cli_env(tmp_path, secret))
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    summary = json.loads(resumed.stdout)
    assert summary["outcome"] == "completed"
    assert summary["run_id"] == runs[0]["run_id"]
    assert summary["counts"]["written"] == len(wanted)
    assert summary["counts"]["unknown"] == 0
    # Zero duplicates, zero misses.
    assert set(box.stats.invoices_written) == wanted
    assert box.stats.written_more_than_once() == []
    after = snapshot(box)
    for i in wanted:
        assert after[i][LINK_FIELD] == expected_link(before[i])

    # A re-run writes nothing; `runs` shows both runs completed.
    posts = box.stats.invoice_posts
    again = run_cli(backfill_args(box, "--json"), cli_env(tmp_path, secret))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"]["written"] == 0
    assert box.stats.invoice_posts == posts
    listing = run_cli(["runs", "--json"], cli_env(tmp_path, secret))
    assert [r["status"] for r in json.loads(listing.stdout)["runs"]] == ["completed"] * 2


def test_cli_dry_run_json_and_human_summary(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=60)
    secret = box.config.client_secret
    before = snapshot(box)
    result = run_cli(backfill_args(box, "--dry-run", "--json"), cli_env(tmp_path, secret))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert data["outcome"] == "planned" and data["ok"] is True
    assert data["to_write"] == sum(
        1 for c in box.categories.values() if c in seedmod.OPEN_NEEDING_LINK
    )
    assert snapshot(box) == before
    assert secret not in result.stdout + result.stderr
    human = run_cli(backfill_args(box, "--dry-run"), cli_env(tmp_path, secret))
    assert human.returncode == 0
    assert "would write" in human.stdout
    assert "\r" not in human.stderr  # no progress bar when stderr is not a terminal
    for report in (tmp_path / "state" / "reports").iterdir():
        assert secret not in report.read_text(encoding="utf-8")


def test_cli_named_failure_exit_code_and_no_secret(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=40)
    secret = box.config.client_secret
    box.faults.add(status=403, method="POST", path="/api/invoice", times=None)
    confirm_pilot(tmp_path, box)
    result = run_cli(backfill_args(box, "--json"), cli_env(tmp_path, secret))
    data = json.loads(result.stdout)
    assert data["outcome"] == "permission_denied"
    assert result.returncode == 12
    journals = list((tmp_path / "state" / "runs").iterdir())
    assert len(journals) == 1
    assert secret not in journals[0].read_text(encoding="utf-8")


def test_cli_without_secret_does_not_prompt(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=10)
    result = run_cli(backfill_args(box), cli_env(tmp_path, ""))
    assert result.returncode == 2
    assert "HALO_CLIENT_SECRET" in result.stderr
