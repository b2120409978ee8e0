"""The pilot from the CLI, as a real process: one invoice written and read back, the admin's
Pay-button answer recorded, `check` showing it, and the pilot undone on its own."""

from __future__ import annotations

import json

from halo_paylink.domain import Numbering
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox

from .cli_helpers import backfill_args, cli_env, confirm_pilot, run_cli
from .conftest import LINK_FIELD, expected_link, snapshot


def test_cli_pilot_then_pay_button_then_check(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=120)
    env = cli_env(tmp_path, box.config.client_secret)
    before = snapshot(box)
    pilot = run_cli([*backfill_args(box, "--numbering", "halo"), "--pilot"], env)
    assert pilot.returncode == 0, pilot.stdout + pilot.stderr
    assert "Traceback" not in pilot.stderr
    lines = pilot.stdout
    assert "Pilot: invoice" in lines and "Halo's customer portal" in lines
    assert "--pay-button seen" in lines and "--undo " in lines
    (invoice_id,) = box.post_counts()
    assert snapshot(box)[invoice_id][LINK_FIELD] == expected_link(
        before[invoice_id], Numbering.HALO
    )

    as_json = run_cli([*backfill_args(box, "--numbering", "halo"), "--pilot", "--json"], env)
    data = json.loads(as_json.stdout)["pilot"]
    assert data["invoice_id"] != invoice_id  # the first pilot's invoice has its link now
    assert data["after"] == expected_link(before[data["invoice_id"]], Numbering.HALO)

    recorded = run_cli([*backfill_args(box), "--pay-button", "seen"], env)
    assert recorded.returncode == 0 and "Later runs on this Halo skip the pilot" in recorded.stdout
    check = run_cli(["check", "--url", box.url, "--client-id", box.config.client_id, "--json"], env)
    learned = {line["topic"]: line for line in json.loads(check.stdout)["learned"]}
    assert learned["The portal shows the Pay button"]["measured"] is True

    undo = run_cli([*backfill_args(box), "--undo", data["run_id"], "--json"], env)
    assert undo.returncode == 0, undo.stderr
    assert not snapshot(box)[data["invoice_id"]].get(LINK_FIELD)


def test_cli_pilot_refuses_a_bad_invoice_id_without_a_traceback(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=20)
    env = cli_env(tmp_path, box.config.client_secret)
    bad = run_cli([*backfill_args(box), "--pilot", "INV-7"], env)
    assert bad.returncode == 2 and "takes an invoice id" in bad.stderr
    gone = run_cli([*backfill_args(box), "--pilot", "999999"], env)
    assert gone.returncode == 2 and "Halo has no invoice 999999" in gone.stderr
    assert "Traceback" not in bad.stderr + gone.stderr and box.post_counts() == {}


def test_cli_bulk_run_needs_a_confirmed_pilot_first(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=30)
    env = cli_env(tmp_path, box.config.client_secret)
    refused = run_cli(backfill_args(box), env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "No pilot with the link in generic_online_invoice_payment_url on this Halo yet" in (
        refused.stderr
    )
    assert "--pilot" in refused.stderr
    assert "Traceback" not in refused.stderr and box.post_counts() == {}
    planned = run_cli(backfill_args(box, "--dry-run"), env)  # a dry run needs no pilot
    assert planned.returncode == 0, planned.stderr

    assert run_cli([*backfill_args(box), "--pilot"], env).returncode == 0
    assert run_cli([*backfill_args(box), "--pay-button", "missing"], env).returncode == 0
    no_button = run_cli(backfill_args(box), env)
    assert no_button.returncode == 2 and "no Pay button" in no_button.stderr
    assert "--link-field custom:NAME" in no_button.stderr and len(box.post_counts()) == 1

    assert run_cli([*backfill_args(box), "--pay-button", "seen"], env).returncode == 0
    # The answer is about the field the pilot wrote: another field is piloted first.
    other = run_cli(backfill_args(box, "--link-field", "custom:CFPayLink"), env)
    assert other.returncode == 2 and "link in custom:CFPayLink" in other.stderr
    done = run_cli(backfill_args(box, "--json"), env)  # confirmed: no pilot again
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "completed"


def test_cli_says_what_a_run_will_cost_before_it_starts(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=250)
    env = cli_env(tmp_path, box.config.client_secret)
    planned = run_cli([*backfill_args(box, "--dry-run"), "--rate-limit", "30/60"], env)
    assert planned.returncode == 0, planned.stderr
    first = planned.stderr.splitlines()[0]  # said before the run, beside its progress
    assert first.startswith("Before the dry run: This run needs about ")
    assert "3 pages of 250 invoices" in first
    assert planned.stdout.startswith("Dry run: done")
    assert "budget of 30 requests per 60 s" in first
    confirm_pilot(tmp_path, box)
    done = run_cli([*backfill_args(box, "--json"), "--rate-limit", "unlimited"], env)
    data = json.loads(done.stdout)
    assert data["estimate"]["invoices"] == 250 and "No request budget" in data["estimate"]["text"]
    assert data["estimate"]["requests"] >= 4


def test_the_printed_answer_is_about_the_field_the_pilot_wrote(make_sandbox, tmp_path) -> None:
    import shlex

    from halo_paylink.sandbox import seed as seedmod

    box: Sandbox = make_sandbox(invoices=60)
    env = cli_env(tmp_path, box.config.client_secret)
    custom = f"custom:{seedmod.PAYMENT_LINK_CUSTOM_FIELD}"
    pilot = run_cli([*backfill_args(box, "--link-field", custom), "--pilot"], env)
    assert pilot.returncode == 0, pilot.stdout + pilot.stderr
    (seen,) = [line.strip() for line in pilot.stdout.splitlines() if "--pay-button seen" in line]
    assert f"--link-field {custom}" in seen
    printed = shlex.split(seen)
    # The printed command as typed (the program as this process was started, then its words).
    recorded = run_cli(printed[printed.index("backfill") :], env)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    done = run_cli([*backfill_args(box, "--link-field", custom), "--json"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    refused = run_cli(backfill_args(box), env)  # the default field was never piloted
    assert refused.returncode == 2 and f"link in {facts.DEFAULT_LINK_FIELD}" in refused.stderr
