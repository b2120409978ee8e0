"""halo.scopes: one scope model for the client, the connection checks and the sandbox."""

from __future__ import annotations

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.checks import CheckId, CheckState, run_checks
from halo_paylink.errors import ErrorKind
from halo_paylink.halo import facts
from halo_paylink.halo.models import Credentials
from halo_paylink.halo.scopes import scope_allows, scopes_allowing
from halo_paylink.sandbox import state as sandbox_state

AREAS = ("invoices", "tickets", "customers")
SCOPES = st.sampled_from(
    [
        *(f"{verb}:{area}" for verb in ("read", "edit") for area in AREAS),
        *("all", "all:standard", "all:teams", "admin", "admin:webhooks", "allx"),
    ]
)


@pytest.mark.parametrize(
    ("granted", "needed", "allowed"),
    [
        ({"read:invoices"}, "read:invoices", True),
        ({"edit:invoices"}, "read:invoices", True),  # edit:X implies read:X (the facts)
        ({"read:invoices"}, "edit:invoices", False),
        ({"edit:tickets"}, "read:invoices", False),
        ({"all"}, "edit:invoices", True),
        ({"all:standard"}, "read:invoices", True),
        ({"all:teams"}, "read:invoices", False),
        ({"allx"}, "read:invoices", False),
        ({"all"}, "admin", False),  # broad scopes cover the read/edit area scopes only
        ({"admin"}, "admin", True),
        (set(), "read:invoices", False),
    ],
)
def test_scope_allows(granted: set[str], needed: str, allowed: bool) -> None:
    assert scope_allows(granted, needed) is allowed


def test_the_model_rests_on_the_facts() -> None:
    assert facts.EDIT_IMPLIES_READ is True
    assert scopes_allowing("read:invoices") == {"read:invoices", "edit:invoices"} | set(
        facts.BROAD_SCOPES
    )
    assert scopes_allowing("edit:invoices") == {"edit:invoices"} | set(facts.BROAD_SCOPES)


@given(st.frozensets(SCOPES), st.frozensets(SCOPES), SCOPES)
def test_more_scopes_never_allow_less(granted: frozenset[str], more: frozenset[str], needed: str):
    if scope_allows(granted, needed):
        assert scope_allows(granted | more, needed)
    assert scope_allows(granted | {needed}, needed)


@given(st.frozensets(SCOPES), SCOPES)
def test_the_sandbox_enforces_the_same_model(granted: frozenset[str], needed: str) -> None:
    assert sandbox_state.scope_allows(granted, needed) is scope_allows(granted, needed)


# --- the connection checks blame the same party as the client ------------------------------------

WEB = "https://halo.example.com"
CREDS = Credentials("client", "shh-secret-1")


@pytest.mark.anyio
@pytest.mark.parametrize("granted", ["edit:invoices", "all:standard"])
async def test_a_403_despite_a_scope_that_allows_reading_blames_the_agent(granted: str) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{WEB}/api/authinfo").respond(404)
        mock.post(url__startswith=f"{WEB}/auth/token").respond(
            200, json={"access_token": "tok", "token_type": "Bearer", "scope": granted}
        )
        mock.get(f"{WEB}/api/Agent/me").respond(200, json={"id": 3, "name": "PayLink"})
        mock.get(url__startswith=f"{WEB}/api/Invoice").respond(403, text="Forbidden")
        async with httpx.AsyncClient() as http:
            report = await run_checks(http, WEB, CREDS)
    assert report.get(CheckId.READ_INVOICES).error is ErrorKind.FORBIDDEN
    agent = report.get(CheckId.AGENT_INVOICE_ACCESS)
    assert agent.state is CheckState.FAIL
    assert agent.error is ErrorKind.AGENT_LACKS_INVOICE_PERMISSION
