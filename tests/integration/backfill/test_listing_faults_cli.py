"""The CLI under a listing that never settles: exit code 6, the words for the user, `runs` lists
the run as resumable, and `--resume` completes once the listing settles."""

from __future__ import annotations

import json
import re
from pathlib import Path

from halo_paylink.core.backfill import RunOutcome
from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox

from .cli_helpers import backfill_args, cli_env, confirm_pilot, resume_args, run_cli
from .conftest import snapshot
from .contract import assert_all_linked, assert_no_duplicate_or_forbidden_writes

MISSING = re.compile(r"\b\d+ open invoices? may be missing: run again later")


def _runs(home: Path, secret: str) -> list[dict]:
    listing = run_cli(["runs", "--json"], cli_env(home, secret))
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)["runs"]


def test_cli_unsettled_listing_exits_6_and_resumes(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=240, seed=41)
    secret = box.config.client_secret
    before = snapshot(box)
    box.shift_rows(after_page=2, rows=3, passes=None)
    confirm_pilot(tmp_path, box)
    args = [*backfill_args(box, "--numbering", "halo"), "--batch-size", "10"]
    first = run_cli(args, cli_env(tmp_path, secret))
    output = first.stdout + first.stderr
    assert first.returncode == RunOutcome.INCOMPLETE.exit_code == 6, output
    assert MISSING.search(output), output
    assert "Traceback" not in output
    runs = _runs(tmp_path, secret)
    assert [r["status"] for r in runs] == ["incomplete"]
    assert_no_duplicate_or_forbidden_writes(box)

    box.clear_listing_faults()
    resumed = run_cli(resume_args(box), cli_env(tmp_path, secret))
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    summary = json.loads(resumed.stdout)
    assert summary["outcome"] == "completed"
    assert summary["run_id"] == runs[0]["run_id"]
    assert_all_linked(box, before, numbering=Numbering.HALO)
    assert_no_duplicate_or_forbidden_writes(box)
    assert [r["status"] for r in _runs(tmp_path, secret)] == ["completed"]
