"""`halo-paylink template` and `button` as real processes against the sandbox over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, Sandbox, SandboxConfig

from .backfill.cli_helpers import cli_env, run_cli

INVOICE_TEMPLATE = -12


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=2)) as box:
        yield box


def args(box: Sandbox, command: str, action: str, *extra: str) -> list[str]:
    return [command, action, "--url", box.url, "--client-id", box.config.client_id, *extra]


def body(box: Sandbox) -> dict[str, object]:
    with box.lock:
        return dict(box.email_templates.records[INVOICE_TEMPLATE])


def test_show_insert_undo(sandbox: Sandbox, tmp_path: Path) -> None:
    env = cli_env(tmp_path, sandbox.config.client_secret)
    original = body(sandbox)
    link = ("--link", DEMO_BENJI_TEMPLATE)

    shown = run_cli(args(sandbox, "template", "show", *link), env)
    assert shown.returncode == 0, shown.stderr
    assert "'Invoice Email Subject' (#-12)" in shown.stdout and "+<p><a href=" in shown.stdout
    assert body(sandbox) == original

    unconfirmed = run_cli(args(sandbox, "template", "insert", *link), env)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    assert body(sandbox) == original  # never without confirmation

    inserted = run_cli(args(sandbox, "template", "insert", *link, "--yes", "--json"), env)
    assert inserted.returncode == 0, inserted.stdout + inserted.stderr
    result = json.loads(inserted.stdout)["result"]
    assert result["confirmed"] and Path(result["backup"]).is_file()
    assert "$THIRDPARTYINVOICENUMBER" in str(body(sandbox)["body_text"])

    again = run_cli(args(sandbox, "template", "insert", *link, "--yes", "--json"), env)
    plan = json.loads(again.stdout)["plan"]
    assert again.returncode == 0 and plan["changed"] is False  # never twice

    undone = run_cli(args(sandbox, "template", "undo"), env)
    assert undone.returncode == 0, undone.stderr
    assert body(sandbox) == original
    nothing = run_cli(args(sandbox, "template", "undo", "--json"), env)
    assert nothing.returncode == 2
    assert "no change" in json.loads(nothing.stdout)["error"]["headline"]


def test_missing_scope_says_what_to_add_and_changes_nothing(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(invoices=1)) as box:
        box.set_allowed_scopes(box.config.client_id, ["read:invoices", "edit:invoices"])
        env = cli_env(tmp_path, box.config.client_secret)
        original = body(box)
        answer = run_cli(
            args(box, "template", "insert", "--link", DEMO_BENJI_TEMPLATE, "--yes", "--json"), env
        )
        assert answer.returncode == 1
        refusal = json.loads(answer.stdout)["not_permitted"]
        assert "tick 'admin'" in refusal["fix"] and "copy and paste" in refusal["fix"]
        human = run_cli(args(box, "button", "create", "--link", DEMO_BENJI_TEMPLATE), env)
        assert human.returncode == 1 and "Not permitted" in human.stderr
        assert "Traceback" not in human.stderr
        assert body(box) == original


def test_bad_marker_and_unknown_template_are_usage_errors(sandbox: Sandbox, tmp_path: Path) -> None:
    env = cli_env(tmp_path, sandbox.config.client_secret)
    link = ("--link", DEMO_BENJI_TEMPLATE)
    marker = run_cli(args(sandbox, "template", "show", *link, "--after", "Cheers!"), env)
    assert marker.returncode == 2 and "Cheers!" in marker.stderr
    unknown = run_cli(args(sandbox, "template", "show", *link, "--template", "Nope"), env)
    assert unknown.returncode == 2 and "Invoice Email Subject" in unknown.stderr
    no_link = run_cli(args(sandbox, "template", "show"), env)
    assert no_link.returncode == 2 and "--link" in no_link.stderr


def test_button_create_then_remove(sandbox: Sandbox, tmp_path: Path) -> None:
    env = cli_env(tmp_path, sandbox.config.client_secret)
    link = ("--link", DEMO_BENJI_TEMPLATE)
    shown = run_cli(args(sandbox, "button", "show", *link, "--json"), env)
    assert json.loads(shown.stdout)["plan"]["existing"] is None
    made = run_cli(args(sandbox, "button", "create", *link, "--yes", "--json"), env)
    assert made.returncode == 0, made.stdout + made.stderr
    button_id = json.loads(made.stdout)["result"]["id"]
    with sandbox.lock:
        assert sandbox.custom_buttons.records[button_id]["usage"] == 2
    twice = run_cli(args(sandbox, "button", "create", *link, "--yes", "--json"), env)
    assert json.loads(twice.stdout)["plan"]["existing"] == button_id
    removed = run_cli(args(sandbox, "button", "remove"), env)
    assert removed.returncode == 0, removed.stderr
    with sandbox.lock:
        assert button_id not in sandbox.custom_buttons.records
