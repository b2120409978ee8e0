"""Every command the `backfill` CLI prints, run exactly as printed (a real process against the
sandbox), doing what it says: the resume after a failure or a Ctrl-C, the dry run again after a
stopped dry run, and the pilot's Pay-button and undo commands."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import time
from collections.abc import Callable

from halo_paylink.domain import Numbering
from halo_paylink.sandbox import Sandbox, SandboxConfig
from halo_paylink.sandbox import seed as seedmod
from halo_paylink.storage.paths import program_command

from .cli_helpers import backfill_args, cli_command, cli_env, confirm_pilot, run_cli
from .conftest import LINK_FIELD, expected_link, snapshot

#: How the CLI names itself in what it prints (`halo-paylink`, or this Python `-m halo_paylink`).
PROGRAM = shlex.split(program_command())
#: Long enough for any stop that does not wait for Halo's minutes-long rate-limit window.
GUARD_SECONDS = 30


def printed_command(output: str, label: str) -> list[str]:
    """The command printed after `label` (e.g. "resume with:"), split as a shell would."""
    lines = [line for line in output.splitlines() if label in line]
    assert len(lines) == 1, output
    return shlex.split(lines[0].split(label, 1)[1])


def run_printed(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )


def wanted_ids(box: Sandbox) -> set[int]:
    return {i for i, c in box.categories.items() if c in seedmod.OPEN_NEEDING_LINK}


def test_the_printed_resume_command_finishes_a_failed_run(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=80, seed=5)
    env = cli_env(tmp_path, box.config.client_secret)
    confirm_pilot(tmp_path, box)
    before = snapshot(box)
    box.faults.add(status=403, method="POST", path="/api/invoice", times=None)
    failed = run_cli(backfill_args(box, "--batch-size", "5"), env)
    assert failed.returncode == 12, failed.stdout + failed.stderr  # permission_denied
    resume = printed_command(failed.stdout, "resume with:")
    assert box.config.client_secret not in failed.stdout + " ".join(resume)
    box.faults.clear()
    bare = run_cli(["backfill", "--resume", resume[resume.index("--resume") + 1]], env)
    assert bare.returncode == 2
    assert "without a saved connection" in bare.stderr and f"--url {box.url}" in bare.stderr

    resumed = run_printed(resume, env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.startswith("Resumed run: completed")
    assert set(box.stats.invoices_written) == wanted_ids(box)
    assert box.stats.written_more_than_once() == []
    after = snapshot(box)
    assert all(after[i][LINK_FIELD] == expected_link(before[i]) for i in wanted_ids(box))


def _interrupt_during_wait(
    args: list[str], env: dict[str, str], limited: Callable[[], bool]
) -> tuple[subprocess.Popen[str], str, str, float]:
    """Start `halo-paylink ARGS`, press Ctrl-C once Halo's rate limit holds it off (`limited`);
    returns the finished process, its output, and how long the stop took."""
    proc = subprocess.Popen(
        cli_command(*args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + GUARD_SECONDS
    while not limited():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never met the rate limit"
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the wait (Halo asked for minutes)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=GUARD_SECONDS)
    return proc, out, err, time.monotonic() - started


def test_ctrl_c_during_a_rate_limit_wait_stops_and_prints_the_resume(tmp_path) -> None:
    box = Sandbox(SandboxConfig(invoices=600, rate_limit=(5, 300)))
    box.start()
    try:
        env = cli_env(tmp_path, box.config.client_secret)
        confirm_pilot(tmp_path, box)
        proc, out, err, took = _interrupt_during_wait(
            backfill_args(box), env, lambda: box.stats.rate_limited > 0
        )
    finally:
        box.stop()
    # Without the CLI's stop the process sits out Halo's 300-second window.
    assert took < GUARD_SECONDS
    assert proc.returncode == 4, out + err  # cancelled
    assert "Traceback" not in err and "Error" not in out + err
    assert "Stopping..." in err
    assert out.startswith("Backfill: stopped, as you asked (run ")
    runs = json.loads(run_cli(["runs", "--json"], env).stdout)["runs"]
    assert [(r["status"], r["resumable"]) for r in runs] == [("cancelled", True)]
    resume = printed_command(out, "resume with:")
    assert resume == [
        *PROGRAM,
        "backfill",
        "--resume",
        runs[0]["run_id"],
        "--url",
        box.url,
        "--client-id",
        box.config.client_id,
    ]


def test_ctrl_c_in_a_dry_run_offers_the_same_dry_run_again(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=150)
    env = cli_env(tmp_path, box.config.client_secret)
    # Halo's rate limit answers the second page with a long hold-off (no Retry-After).
    fault = box.faults.add(status=429, method="GET", path="/api/invoice", after=1, times=None)
    args = backfill_args(box, "--numbering", "halo", "--dry-run")
    proc, out, err, took = _interrupt_during_wait(args, env, lambda: fault.fired > 0)
    assert took < GUARD_SECONDS
    assert proc.returncode == 4, out + err
    assert out.startswith("Dry run: stopped, as you asked")
    assert "Nothing was changed in Halo." in out
    assert "resume" not in (out + err).lower()
    again = printed_command(out, "run it again with:")
    assert again == [*PROGRAM, *args]
    box.faults.clear()

    rerun = run_printed(again, env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.startswith("Dry run: done; nothing was changed")
    assert box.post_counts() == {}


def test_the_pilots_printed_commands_record_and_undo(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=60)
    env = cli_env(tmp_path, box.config.client_secret)
    before = snapshot(box)
    pilot = run_cli([*backfill_args(box, "--numbering", "halo"), "--pilot"], env)
    assert pilot.returncode == 0, pilot.stdout + pilot.stderr
    (invoice_id,) = box.post_counts()
    assert snapshot(box)[invoice_id][LINK_FIELD] == expected_link(
        before[invoice_id], Numbering.HALO
    )
    lines = pilot.stdout.splitlines()
    missing = next(shlex.split(line) for line in lines if line.endswith("--pay-button missing"))
    recorded = run_printed(missing, env)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "did not show the Pay button" in recorded.stdout
    undo = printed_command(recorded.stdout.replace("\n  ", " "), "To undo the pilot:")
    assert undo == printed_command(pilot.stdout.replace("\n  ", " "), "To undo the pilot alone:")

    undone = run_printed(undo, env)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert undone.stdout.startswith("Undo: completed")
    assert not snapshot(box)[invoice_id].get(LINK_FIELD)
