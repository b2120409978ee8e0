"""`halo-paylink benji check|numbers` and `backfill --dry-run` with a Benji key, as real processes
against both sandboxes over HTTP; and `halo-paylink sandbox --benji`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, Sandbox
from halo_paylink.sandbox.benji import DEMO_BENJI_API_KEY, BenjiSandbox, BenjiSandboxConfig

from ..sandbox_process import TIMEOUT, read_line, start
from .cli_helpers import backfill_args, cli_env, confirm_pilot, run_cli


@pytest.fixture
def halo(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox(invoices=60)


@pytest.fixture
def benji(halo: Sandbox) -> Iterator[BenjiSandbox]:
    with BenjiSandbox.for_halo(halo) as server:
        yield server


def _env(tmp_path: Path, halo: Sandbox, benji: BenjiSandbox, key: str | None) -> dict[str, str]:
    env = cli_env(tmp_path / "home", halo.config.client_secret)
    env["HALO_PAYLINK_BENJI_URL"] = benji.url
    env.pop("BENJI_API_KEY", None)
    if key is not None:
        env["BENJI_API_KEY"] = key
    return env


def _numbers_args(halo: Sandbox, numbering: str) -> list[str]:
    return [
        "benji",
        "numbers",
        "--json",
        "--url",
        halo.url,
        "--client-id",
        halo.config.client_id,
        "--link",
        DEMO_BENJI_TEMPLATE,
        "--numbering",
        numbering,
    ]


def test_check_reports_each_setting_with_its_fix_and_the_link(
    tmp_path: Path, halo: Sandbox, benji: BenjiSandbox
) -> None:
    done = run_cli(["benji", "check", "--json"], _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY))
    assert done.returncode == 1, done.stderr  # the demo merchant allows the generic form
    report = json.loads(done.stdout)
    checks = {c["code"]: c for c in report["checks"]}
    assert checks["amount_must_match"]["passed"] is True
    assert checks["invoice_must_exist"]["passed"] is False
    assert "turn on" in checks["invoice_must_exist"]["fix"]
    assert report["link"]["template"] == DEMO_BENJI_TEMPLATE
    assert report["key_source"] == "environment"
    assert any("not been checked" in note for note in report["notes"])
    assert DEMO_BENJI_API_KEY not in done.stdout + done.stderr
    human = run_cli(["benji", "check"], _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY))
    assert "[FAIL] Do not allow payment" in human.stdout and "Fix: In Benji" in human.stdout
    assert f"Pay-now link (from the portal address): {DEMO_BENJI_TEMPLATE}" in human.stdout


def test_check_passes_when_benji_is_set_up(tmp_path: Path, halo: Sandbox) -> None:
    config = BenjiSandboxConfig(disable_generic_payment_link=True, custom_domain="pay.acme.test")
    with BenjiSandbox.for_halo(halo, config) as benji:
        done = run_cli(["benji", "check"], _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "https://pay.acme.test/pay/?InvoiceNumber=[Invoice No.]" in done.stdout
    assert "set up as the guide asks" in done.stdout


def test_a_wrong_or_missing_key_is_explained(
    tmp_path: Path, halo: Sandbox, benji: BenjiSandbox
) -> None:
    wrong = "wrong-benji-key-0042"
    done = run_cli(["benji", "check", "--json"], _env(tmp_path, halo, benji, wrong))
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert (error["kind"], error["status"]) == ("benji_bad_key", 401)
    assert wrong not in done.stdout + done.stderr
    missing = run_cli(["benji", "check"], _env(tmp_path, halo, benji, None))
    assert missing.returncode == 2
    assert "No Benji Pays API key is available" in missing.stderr
    assert "BENJI_API_KEY" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize(("numbering", "code"), [("accounting", 0), ("halo", 1)])
def test_numbers_catch_the_wrong_numbering(
    tmp_path: Path, halo: Sandbox, benji: BenjiSandbox, numbering: str, code: int
) -> None:
    done = run_cli(_numbers_args(halo, numbering), _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY))
    assert done.returncode == code, done.stdout + done.stderr
    numbers = json.loads(done.stdout)["numbers"]
    assert numbers["blocks"] is (numbering == "halo")
    assert numbers["checked"] > 0
    assert numbers["found"] == (numbers["checked"] if numbering == "accounting" else 0)
    assert not halo.stats.invoices_written  # a dry run: nothing saved


def test_the_dry_run_reports_the_number_check_when_a_key_is_configured(
    tmp_path: Path, halo: Sandbox, benji: BenjiSandbox
) -> None:
    args = backfill_args(halo, "--dry-run", "--json", "--numbering", "halo")
    with_key = run_cli(args, _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY))
    assert with_key.returncode == 0, with_key.stderr
    numbers = json.loads(with_key.stdout)["benji_numbers"]
    assert numbers["blocks"] is True and numbers["found"] == 0
    without = run_cli(args, _env(tmp_path, halo, benji, None))
    assert "benji_numbers" not in json.loads(without.stdout)
    human = run_cli(
        backfill_args(halo, "--dry-run"), _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY)
    )
    assert "Benji number check (accounting numbering): Benji found" in human.stdout


def test_the_sandbox_command_serves_benji_too(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--json", "--invoices", "10", "--benji")
    processes.append(proc)
    info = json.loads(read_line(proc))
    headers = {"x-api-key": info["benji_api_key"]}
    with httpx.Client(timeout=10) as http:
        settings = http.get(info["benji_url"] + "/settings", headers=headers)
        assert settings.status_code == 200 and settings.json()["portalName"] == "demo-msp"
        assert http.get(info["benji_url"] + "/invoices/20000", headers=headers).status_code == 200
        assert http.get(info["benji_url"] + "/invoices/1001", headers=headers).status_code == 404
    proc.terminate()
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out == ""  # one JSON line, nothing after it


def test_a_blocking_number_check_stops_the_live_run_until_confirmed(
    tmp_path: Path, halo: Sandbox, benji: BenjiSandbox
) -> None:
    env = _env(tmp_path, halo, benji, DEMO_BENJI_API_KEY)
    dry = run_cli(backfill_args(halo, "--dry-run", "--numbering", "halo"), env)
    assert dry.returncode == 0 and "Benji found 0 of" in dry.stdout
    refused = run_cli(backfill_args(halo, "--numbering", "halo"), env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "number check blocks this run: Benji found 0 of" in refused.stderr
    assert "--numbering accounting" in refused.stderr and "--confirm-numbering" in refused.stderr
    assert not halo.stats.invoices_written
    other = run_cli(backfill_args(halo, "--dry-run", "--json", "--numbering", "accounting"), env)
    assert json.loads(other.stdout)["benji_numbers"]["blocks"] is False
    confirm_pilot(tmp_path / "home", halo)
    confirmed = run_cli(backfill_args(halo, "--numbering", "halo", "--confirm-numbering"), env)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert halo.stats.invoices_written
