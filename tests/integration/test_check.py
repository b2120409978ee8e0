"""`halo-paylink check` and core.checks against the sandbox over real loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from halo_paylink.cli import main
from halo_paylink.core.checks import CheckId, CheckState, run_checks
from halo_paylink.halo.models import Credentials
from halo_paylink.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=20, seed=7)) as box:
        yield box


def run_check(
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    client_id: str | None = None,
    secret: str | None = None,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, dict]:
    monkeypatch.setenv("HALO_CLIENT_SECRET", secret or sandbox.config.client_secret)
    code = main(
        [
            "check",
            "--url",
            sandbox.url,
            "--client-id",
            client_id or sandbox.config.client_id,
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def states(report: dict) -> dict[str, tuple[str, str | None]]:
    return {c["id"]: (c["state"], c["error"]) for c in report["checks"]}


def test_demo_credentials_pass_every_check(sandbox, capsys, monkeypatch):
    code, report = run_check(sandbox, capsys, monkeypatch=monkeypatch)
    assert code == 0
    assert report["ok"] is True
    assert all(state == "pass" for state, _ in states(report).values())
    assert report["endpoints"]["tenant"] == sandbox.config.tenant
    assert report["endpoints"]["resource_url"] == f"{sandbox.url}/api"


def test_check_changes_no_data(sandbox, capsys, monkeypatch):
    with sandbox.lock:
        before = json.dumps(sandbox.invoices, sort_keys=True, default=str)
    run_check(sandbox, capsys, monkeypatch=monkeypatch)
    with sandbox.lock:
        after = json.dumps(sandbox.invoices, sort_keys=True, default=str)
    assert before == after


def test_wrong_secret_is_named(sandbox, capsys, monkeypatch):
    code, report = run_check(sandbox, capsys, secret="not-the-secret", monkeypatch=monkeypatch)
    assert code == 1
    assert states(report)["token"] == ("fail", "invalid_secret")
    assert states(report)["read_invoices"][0] == "skipped"
    assert "not-the-secret" not in json.dumps(report)


def test_unknown_client_id_is_named(sandbox, capsys, monkeypatch):
    code, report = run_check(sandbox, capsys, client_id="nobody", monkeypatch=monkeypatch)
    assert code == 1
    assert states(report)["token"] == ("fail", "invalid_client_id")


def test_missing_edit_scope_names_the_permission(sandbox, capsys, monkeypatch):
    sandbox.add_application("reader", "reader-secret-123", allowed_scopes=["read:invoices"])
    code, report = run_check(
        sandbox, capsys, client_id="reader", secret="reader-secret-123", monkeypatch=monkeypatch
    )
    assert code == 1
    rows = states(report)
    assert rows["token"] == ("fail", "missing_scope")
    assert rows["read_invoices"] == ("pass", None)
    assert rows["edit_invoices"] == ("fail", "missing_scope")
    edit = next(c for c in report["checks"] if c["id"] == "edit_invoices")
    assert "edit:invoices" in edit["fix"]


def test_wrong_tenant_is_named(sandbox, capsys, monkeypatch):
    code, report = run_check(sandbox, capsys, "--tenant", "someone-else", monkeypatch=monkeypatch)
    assert code == 1
    assert states(report)["token"] == ("fail", "invalid_tenant")
    token = next(c for c in report["checks"] if c["id"] == "token")
    assert (
        "unverified" not in token["note"] and "HTTP 500" in token["note"]
    )  # says what it rests on


def test_agent_without_edit_rights_is_blamed_not_the_application(sandbox, capsys, monkeypatch):
    sandbox.add_application("ro-agent", "ro-agent-secret-1", agent_invoice_access="read")
    code, report = run_check(
        sandbox, capsys, client_id="ro-agent", secret="ro-agent-secret-1", monkeypatch=monkeypatch
    )
    assert code == 1
    rows = states(report)
    assert rows["token"][0] == "pass"
    assert rows["read_invoices"][0] == "pass"
    assert rows["edit_invoices"][0] == "fail"
    assert rows["agent_invoice_access"] == ("fail", "agent_lacks_invoice_permission")


def test_unreachable_address_is_named(capsys, monkeypatch):
    with Sandbox(SandboxConfig(invoices=1)) as box:
        url = box.url
    monkeypatch.setenv("HALO_CLIENT_SECRET", "x" * 12)
    code = main(["check", "--url", url, "--client-id", "demo-client", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert states(report)["discovery"] == ("fail", "refused")


@pytest.mark.anyio
async def test_rows_are_reported_live_in_order(sandbox):
    seen: list[tuple[CheckId, CheckState]] = []
    async with httpx.AsyncClient() as http:
        report = await run_checks(
            http,
            sandbox.url,
            Credentials(sandbox.config.client_id, sandbox.config.client_secret),
            on_update=lambda r: seen.append((r.id, r.state)),
        )
    assert report.all_passed
    busy_then_pass = [s for cid, s in seen if cid is CheckId.TOKEN]
    assert busy_then_pass == [CheckState.BUSY, CheckState.PASS]
    assert [cid for cid, s in seen if s is CheckState.PASS] == list(CheckId)


def check_process(
    env: dict[str, str], url: str, client_id: str, secret: str, *extra: str
) -> tuple[int, dict]:
    """`python -m halo_paylink check --json` as a real process; its exit code and report."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "halo_paylink",
            "check",
            "--url",
            url,
            "--client-id",
            client_id,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(env, HALO_CLIENT_SECRET=secret),
    )
    return done.returncode, json.loads(done.stdout)


def test_sandbox_and_check_as_real_processes(tmp_path: Path):
    """The issue's own recipe: `halo-paylink sandbox --json` then `check --json` in a shell."""
    env = dict(os.environ, HALO_PAYLINK_HOME=str(tmp_path))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "halo_paylink",
            "sandbox",
            "--port",
            "0",
            "--invoices",
            "15",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert set(info) == {"url", "tenant", "client_id", "client_secret"}
        url, client_id, secret = info["url"], info["client_id"], info["client_secret"]

        code, report = check_process(env, url, client_id, secret)
        assert code == 0 and report["ok"] is True, report

        code, report = check_process(env, url, client_id, "wrong-secret-value")
        assert code == 1 and states(report)["token"] == ("fail", "invalid_secret")

        code, report = check_process(env, url, client_id, secret, "--tenant", "not-demo")
        assert code == 1 and states(report)["token"] == ("fail", "invalid_tenant")

        # the sandbox ships applications with one problem each, so a shell can see them fail
        for app_id, app_secret, row, cause in (
            ("demo-read-only", "demo-read-only-secret-0000", "edit_invoices", "missing_scope"),
            (
                "demo-agent-read-only",
                "demo-agent-read-only-secret-0000",
                "agent_invoice_access",
                "agent_lacks_invoice_permission",
            ),
        ):
            code, report = check_process(env, url, app_id, app_secret)
            assert code == 1 and states(report)[row] == ("fail", cause)
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
    logs = list((tmp_path / "logs").glob("*.log"))
    assert logs, "the check should have written a log"
    assert "HTTP Request" in logs[0].read_text()  # the log holds real traffic, not nothing
    leaked = [
        p for p in tmp_path.rglob("*") if p.is_file() and secret in p.read_text(errors="ignore")
    ]
    assert leaked == []


def test_a_mistyped_address_is_reported_before_the_secret_is_asked_for(capsys):
    code = main(["check", "--url", "acme halo", "--client-id", "x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Halo web address" in err
    assert "secret" not in err.lower()
    assert "Halo said" not in err  # our own finding, not Halo's words


@pytest.mark.anyio
async def test_endpoints_already_found_are_checked_without_discovering_again(sandbox):
    from halo_paylink.halo.discovery import discover
    from halo_paylink.sandbox.server import AUTHINFO

    async with httpx.AsyncClient() as http:
        endpoints = await discover(http, sandbox.url)
        asked = sandbox.stats.count("GET", AUTHINFO)
        report = await run_checks(
            http,
            endpoints,
            Credentials(sandbox.config.client_id, sandbox.config.client_secret),
        )
    assert report.all_passed and report.endpoints is endpoints
    assert sandbox.stats.count("GET", AUTHINFO) == asked == 1


def test_check_says_what_was_learned_about_this_halo(sandbox, capsys, monkeypatch):
    """Before anything is measured every line says it rests on the model; a measured fact
    (here the admin's Pay-button answer) says when and how it was learned."""
    from halo_paylink.core.backfill.pilot import record_pay_button
    from halo_paylink.storage.paths import AppPaths

    code, report = run_check(sandbox, capsys, monkeypatch=monkeypatch)
    assert code == 0
    learned = {line["topic"]: line for line in report["learned"]}
    assert not any(line["measured"] for line in learned.values())
    assert learned["Payment status codes"]["source"].startswith("model (unverified)")
    record_pay_button(AppPaths.default(), sandbox.url, True, invoice="INV-7")
    code, report = run_check(sandbox, capsys, monkeypatch=monkeypatch)
    button = {line["topic"]: line for line in report["learned"]}["The portal shows the Pay button"]
    assert button["measured"] and button["finding"] == "yes, the admin saw it"
    assert "INV-7" in button["source"]
    monkeypatch.setenv("HALO_CLIENT_SECRET", sandbox.config.client_secret)
    main(["check", "--url", sandbox.url, "--client-id", sandbox.config.client_id])
    text = capsys.readouterr().out
    assert "What we learned about your Halo:" in text and "yes, the admin saw it" in text
