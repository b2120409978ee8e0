"""Insert -> read back -> undo of the email template, and the client button, over HTTP against
the sandbox (no mocks): byte-identical undo, a missing scope, a template changed meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halo_paylink.core import client_button, email_template
from halo_paylink.core.admin_steps import not_permitted
from halo_paylink.core.links import email_snippet
from halo_paylink.core.template_body import Action, Placement
from halo_paylink.domain import Numbering
from halo_paylink.errors import ErrorKind, HaloError, UsageError
from halo_paylink.halo.discovery import discover
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.session import client_for
from halo_paylink.halo.templates import HaloAdminClient, admin_client_for
from halo_paylink.sandbox import Sandbox, SandboxConfig

LINK = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=[Invoice No.]"
SNIPPET = email_snippet(LINK, Numbering.ACCOUNTING)
INVOICE_TEMPLATE = -12


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=2)) as box:
        yield box


async def admin_for(
    http: httpx.AsyncClient, sandbox: Sandbox, client_id: str = "", secret: str = ""
) -> HaloAdminClient:
    creds = Credentials(
        client_id or sandbox.config.client_id, secret or sandbox.config.client_secret
    )
    endpoints = await discover(http, sandbox.url)
    return admin_client_for(http, client_for(http, endpoints, creds), creds)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def stored(sandbox: Sandbox, tid: int = INVOICE_TEMPLATE) -> dict[str, object]:
    with sandbox.lock:
        return dict(sandbox.email_templates.records[tid])


@pytest.mark.anyio
async def test_insert_read_back_undo_is_byte_identical(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    original = stored(sandbox)
    admin = await admin_for(http, sandbox)
    chosen = email_template.find_template(await admin.email_templates())
    plan = email_template.plan_template(chosen, SNIPPET)
    backup = tmp_path / "backup.json"
    result = await email_template.insert(admin, plan, backup, web_url=sandbox.url)
    assert result.confirmed and result.saved
    now = stored(sandbox)
    assert SNIPPET.link in str(now["body_text"]) and "Pay now" in str(now["body_html"])
    assert now["header_text"] == original["header_text"]
    saved_backup = json.loads(backup.read_text(encoding="utf-8"))
    assert saved_backup["original"]["body_html"] == original["body_html"]

    again = email_template.plan_template(await admin.email_template(INVOICE_TEMPLATE), SNIPPET)
    assert not again.changed  # never twice
    assert {c.action for c in again.changes} == {Action.ALREADY_THERE}

    undone = await email_template.undo(admin, backup)
    assert undone.confirmed and not backup.exists()
    assert stored(sandbox) == original


@pytest.mark.anyio
async def test_undo_refuses_a_template_changed_since_the_save(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    original = stored(sandbox)
    admin = await admin_for(http, sandbox)
    plan = email_template.plan_template(await admin.email_template(INVOICE_TEMPLATE), SNIPPET)
    backup = tmp_path / "b.json"
    await email_template.insert(admin, plan, backup, web_url=sandbox.url)
    with sandbox.lock:
        sandbox.email_templates.records[INVOICE_TEMPLATE]["body_text"] += "\nP.S. edited"
    with pytest.raises(UsageError, match="changed after the assistant saved it"):
        await email_template.undo(admin, backup)
    assert "P.S. edited" in str(stored(sandbox)["body_text"]) and backup.exists()
    forced = await email_template.undo(admin, backup, force=True)
    assert forced.confirmed and stored(sandbox) == original


@pytest.mark.anyio
async def test_insert_refuses_a_template_changed_since_the_preview(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_for(http, sandbox)
    plan = email_template.plan_template(await admin.email_template(INVOICE_TEMPLATE), SNIPPET)
    with sandbox.lock:
        sandbox.email_templates.records[INVOICE_TEMPLATE]["body_html"] = "<p>new</p>"
    with pytest.raises(UsageError, match="changed since the preview"):
        await email_template.insert(admin, plan, tmp_path / "b.json", web_url=sandbox.url)
    assert not (tmp_path / "b.json").exists()
    assert stored(sandbox)["body_html"] == "<p>new</p>"


@pytest.mark.anyio
@pytest.mark.parametrize("refusal", ["401", "403"])
async def test_missing_scope_is_not_permitted_and_changes_nothing(
    http: httpx.AsyncClient, tmp_path: Path, refusal: str
) -> None:
    with Sandbox(SandboxConfig(invoices=1, admin_refusal=refusal)) as box:
        before = stored(box)
        # the application may use the scope, but the token was asked without it
        endpoints = await discover(http, box.url)
        creds = Credentials(box.config.client_id, box.config.client_secret)
        main = client_for(http, endpoints, creds)
        admin = admin_client_for(http, main, creds, scopes=("read:invoices",))
        with pytest.raises(HaloError) as info:
            await admin.email_templates()
        refused = not_permitted(info.value, "edit the email template")
        assert refused is not None and "'admin'" in refused.fix
        # an application that may not use the scope at all: refused at the token endpoint
        other = await admin_for(http, box, "demo-read-only", "demo-read-only-secret-0000")
        with pytest.raises(HaloError) as token_refusal:
            await other.email_templates()
        assert token_refusal.value.kind is ErrorKind.MISSING_SCOPE
        assert not_permitted(token_refusal.value, "x") is not None
        assert stored(box) == before


@pytest.mark.anyio
async def test_an_agent_without_the_right_cannot_save_and_the_backup_says_so(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with sandbox.lock:
        sandbox.email_templates.without_right.add(sandbox.config.client_id)
    before = stored(sandbox)
    admin = await admin_for(http, sandbox)
    plan = email_template.plan_template(await admin.email_template(INVOICE_TEMPLATE), SNIPPET)
    with pytest.raises(HaloError) as info:
        await email_template.insert(admin, plan, tmp_path / "b.json", web_url=sandbox.url)
    assert not_permitted(info.value, "edit the email template") is not None
    assert stored(sandbox) == before


bodies = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200).filter(
    lambda b: "://" not in b
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(html_body=bodies, text_body=bodies)
def test_any_body_comes_back_exactly_after_undo(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, html_body: str, text_body: str
) -> None:
    with sandbox.lock:
        record = sandbox.email_templates.records[INVOICE_TEMPLATE]
        record["body_html"], record["body_text"] = html_body, text_body
    original = stored(sandbox)
    backup = tmp_path_factory.mktemp("undo") / "b.json"

    async def flow() -> None:
        async with httpx.AsyncClient() as http:
            admin = await admin_for(http, sandbox)
            template = await admin.email_template(INVOICE_TEMPLATE)
            try:
                plan = email_template.plan_template(template, SNIPPET, Placement.END)
            except UsageError:
                assert not html_body and not text_body
                return
            result = await email_template.insert(admin, plan, backup, web_url=sandbox.url)
            assert result.confirmed
            after = stored(sandbox)
            for name in ("body_html", "body_text"):
                body = str(after[name])
                assert (
                    body == "" or body.count("Pay now") - str(original[name]).count("Pay now") == 1
                )
            assert (await email_template.undo(admin, backup)).confirmed

    asyncio.run(flow())
    assert stored(sandbox) == original


@pytest.mark.anyio
async def test_client_button_create_read_back_remove(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_for(http, sandbox)
    plan = await client_button.plan_button(admin, LINK)
    assert plan.url == "https://www.benjipays.com/portal/acme/" and plan.existing is None
    record = tmp_path / "button.json"
    made = await client_button.create(admin, plan, record, web_url=sandbox.url)
    assert made.confirmed and made.button is not None
    with sandbox.lock:
        assert sandbox.custom_buttons.records[made.button.id]["usage"] == 2
    assert json.loads(record.read_text(encoding="utf-8"))["button_id"] == made.button.id
    second = await client_button.plan_button(admin, LINK)
    assert second.existing is not None  # never created twice
    gone = await client_button.remove(admin, record)
    assert gone.confirmed and not record.exists()
    with sandbox.lock:
        assert made.button.id not in sandbox.custom_buttons.records
        assert set(sandbox.custom_buttons.records) == {1, 4}
    with pytest.raises(UsageError, match="has not created"):
        await client_button.remove(admin, record)


@pytest.mark.anyio
async def test_a_server_error_on_create_is_not_repeated_and_the_list_is_checked(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await admin_for(http, sandbox)
    plan = await client_button.plan_button(admin, LINK)
    sandbox.faults.add(status=502, method="POST", path="/api/CustomButton")
    lists_before = sandbox.stats.count("GET", "custom_button_list")
    with pytest.raises(HaloError) as info:
        await client_button.create(admin, plan, tmp_path / "r.json", web_url=sandbox.url)
    assert info.value.kind is ErrorKind.SERVER_ERROR and info.value.maybe_applied
    assert sandbox.stats.count("POST", "custom_button_post") == 1  # never repeated
    assert sandbox.stats.count("GET", "custom_button_list") == lists_before + 1  # looked for it
    assert not (tmp_path / "r.json").exists()
    with sandbox.lock:
        assert sandbox.custom_buttons.created == []
