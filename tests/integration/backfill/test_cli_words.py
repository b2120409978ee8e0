"""The CLI's human output in people's words: an error leads with its real cause, and no
internal name (a skip reason's or an outcome's value, an enum's repr) reaches a person; `--json`
keeps them."""

from __future__ import annotations

import json
import re

from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.selection import SkipReason

from .cli_helpers import backfill_args, cli_env, confirm_pilot, run_cli

#: Every machine name a person should never have to read.
INTERNAL = re.compile(
    "|".join(
        [r"RunOutcome\.", r"SkipReason\.", r"Phase\."]
        + [rf"\b{re.escape(v.value)}\b" for v in (*SkipReason, *RunOutcome) if "_" in v.value]
    )
)


def test_a_bad_link_leads_with_what_is_wrong_with_it(tmp_path) -> None:
    env = cli_env(tmp_path, "not-used")
    args = ["backfill", "--url", "https://acme.halopsa.com", "--client-id", "abc"]
    for link, cause in (
        ("http://www.benjipays.com/pay/?InvoiceNumber=[Invoice No.]", "https://"),
        ("https://www.benjipays.com/pay/?InvoiceNumber=", "[Invoice No.]"),
    ):
        result = run_cli([*args, "--link", link, "--dry-run"], env)
        assert result.returncode == 2, result.stderr
        first = result.stderr.splitlines()[0]
        assert first.startswith("Error: The link ") and cause in first, result.stderr
        assert "settings cannot be used" not in result.stderr


def test_human_output_uses_words_and_json_keeps_the_names(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=80, seed=3)
    env = cli_env(tmp_path, box.config.client_secret)
    confirm_pilot(tmp_path, box)
    plan = run_cli(backfill_args(box, "--dry-run"), env)
    assert plan.returncode == 0, plan.stderr
    assert "not yet synced to the accounting tool" in plan.stdout
    box.faults.add(status=403, method="POST", path="/api/invoice", times=None)
    refused = run_cli(backfill_args(box), env)
    assert refused.returncode == 12
    assert refused.stdout.startswith("Backfill: stopped: Halo refused permission (run ")
    table = run_cli(["runs"], env)
    assert "permission denied" in table.stdout
    for output in (plan.stdout, plan.stderr, refused.stdout, refused.stderr, table.stdout):
        assert not INTERNAL.search(output), output

    as_json = json.loads(run_cli(backfill_args(box, "--dry-run", "--json"), env).stdout)
    assert "not_synced" in as_json["counts"]["skipped"]
    runs = json.loads(run_cli(["runs", "--json"], env).stdout)["runs"]
    assert runs[-1]["status"] == "permission_denied"
