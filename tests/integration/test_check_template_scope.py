"""`halo-paylink check`'s optional row: the email-template scope, asked for only on opt-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from halo_paylink.cli import main
from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=3)) as box:
        yield box


def check(
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
    client: tuple[str, str] | None = None,
) -> tuple[int, dict]:
    client_id, secret = client or (sandbox.config.client_id, sandbox.config.client_secret)
    monkeypatch.setenv("HALO_CLIENT_SECRET", secret)
    code = main(["check", "--url", sandbox.url, "--client-id", client_id, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def optional(report: dict) -> dict:
    (row,) = report["optional"]
    assert row["id"] == "template_scope"
    return row


def token_scopes_asked(sandbox: Sandbox) -> int:
    return sandbox.stats.count("GET", "email_template_list")


def test_without_opt_in_the_scope_is_not_asked_for(sandbox, capsys, monkeypatch) -> None:
    code, report = check(sandbox, capsys, monkeypatch)
    row = optional(report)
    assert code == 0 and report["ok"]
    assert row["state"] == "skipped" and "--template-scope" in row["message"]
    assert token_scopes_asked(sandbox) == 0


def test_opted_in_and_granted(sandbox, capsys, monkeypatch) -> None:
    code, report = check(sandbox, capsys, monkeypatch, "--template-scope")
    row = optional(report)
    assert code == 0 and row["state"] == "pass"
    assert row["note"] == facts.UNVERIFIED_NOTES["template_scope"]
    assert token_scopes_asked(sandbox) == 1


def test_opted_in_but_not_allowed_says_what_to_add(sandbox, capsys, monkeypatch) -> None:
    sandbox.set_allowed_scopes(sandbox.config.client_id, ["read:invoices", "edit:invoices"])
    code, report = check(sandbox, capsys, monkeypatch, "--template-scope")
    row = optional(report)
    assert code == 0 and report["ok"]  # optional: the invoices still work, copy-and-paste stays
    assert row["state"] == "fail" and row["error"] == "missing_scope"
    assert f"tick '{facts.TEMPLATE_SCOPE}'" in row["fix"]


def test_human_output_shows_the_optional_row(sandbox, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HALO_CLIENT_SECRET", sandbox.config.client_secret)
    main(["check", "--url", sandbox.url, "--client-id", sandbox.config.client_id])
    out = capsys.readouterr().out
    assert "[SKIP] Optional: permission admin" in out
