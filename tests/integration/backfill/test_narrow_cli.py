"""The narrowed read from the command line: by default a long, mostly paid list is linked without
reading its archive, and the run says what it rests on; `--no-narrow` and `--full-read` read every
invoice."""

from __future__ import annotations

import json

from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox

from .cli_helpers import backfill_args, cli_env, confirm_pilot, run_cli
from .test_narrowed_read import SIZE, make_old


def test_a_long_list_is_narrowed_unless_told_not_to(make_sandbox, tmp_path) -> None:
    box: Sandbox = make_sandbox(invoices=SIZE)
    make_old(box, paid_code=2)
    env = cli_env(tmp_path, box.config.client_secret)
    for flag in ("--no-narrow", "--full-read"):
        whole = json.loads(run_cli([*backfill_args(box, "--dry-run", flag), "--json"], env).stdout)
        assert whole["outcome"] == "planned"
        assert not any(w.startswith("Read narrowed") for w in whole["warnings"]), flag
    confirm_pilot(tmp_path, box)
    done = run_cli([*backfill_args(box), "--json"], env)
    result = json.loads(done.stdout)
    assert result["outcome"] == "completed", done.stderr
    assert any(w.startswith("Read narrowed") for w in result["warnings"]), result["warnings"]
    assert any(facts.NARROWED_READ_RESTS_ON in w for w in result["warnings"])
    assert result["requests"] < whole["requests"]
