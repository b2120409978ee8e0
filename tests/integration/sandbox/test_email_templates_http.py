"""The sandbox's EmailTemplate and CustomButton endpoints, over HTTP: seed, scope, POST rules."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from halo_paylink.halo import facts
from halo_paylink.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=3)) as box:
        yield box


@contextlib.contextmanager
def client(sandbox: Sandbox, scope: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as http:
        token = http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sandbox.config.client_id,
                "client_secret": sandbox.config.client_secret,
                "scope": scope,
            },
        )
        assert token.status_code == 200, token.text
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http


def test_seeded_templates_look_like_halo(sandbox: Sandbox) -> None:
    with client(sandbox, facts.TEMPLATE_SCOPE) as http:
        rows = http.get("/api/EmailTemplate").json()
    by_name = {row["name"]: row for row in rows}
    invoice = by_name[facts.INVOICE_EMAIL_TEMPLATE]
    assert invoice["id"] < 0
    assert "<p>" in invoice["body_html"] and "<" not in invoice["body_text"]
    assert sum(1 for row in rows if row["id"] < 0) >= 4 and any(row["id"] > 0 for row in rows)


@pytest.mark.parametrize(("refusal", "status", "body"), [("401", 401, b""), ("403", 403, None)])
def test_a_token_without_the_scope_is_refused(
    refusal: str, status: int, body: bytes | None
) -> None:
    with Sandbox(SandboxConfig(invoices=1, admin_refusal=refusal)) as box:
        with client(box, "read:invoices edit:invoices") as http:
            for method, path in (("GET", "/api/EmailTemplate"), ("GET", "/api/CustomButton")):
                answer = http.request(method, path)
                assert answer.status_code == status
                if body is not None:
                    assert answer.content == body
            post = http.post("/api/EmailTemplate", json=[{"id": -12, "body_text": "x"}])
            assert post.status_code == status
        with box.lock:
            assert box.email_templates.records[-12]["body_text"] != "x"


def test_problem_applications_may_not_use_the_scope(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url, timeout=10) as http:
        answer = http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-read-only",
                "client_secret": "demo-read-only-secret-0000",
                "scope": facts.TEMPLATE_SCOPE,
            },
        )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_post_takes_an_array_and_changes_only_what_is_sent(sandbox: Sandbox) -> None:
    with client(sandbox, facts.TEMPLATE_SCOPE) as http:
        before = http.get("/api/EmailTemplate/-12").json()
        bare = http.post("/api/EmailTemplate", json={"id": -12, "body_text": "x"})
        assert bare.status_code == 400 and "array" in bare.text
        unknown = http.post("/api/EmailTemplate", json=[{"id": -999, "body_text": "x"}])
        assert unknown.status_code == 400 and unknown.json()["Message"]
        saved = http.post("/api/EmailTemplate", json=[{"id": -12, "body_text": "new"}])
        assert saved.status_code == 201
        after = http.get("/api/EmailTemplate/-12").json()
    assert after["body_text"] == "new"
    assert {k: v for k, v in after.items() if k != "body_text"} == {
        k: v for k, v in before.items() if k != "body_text"
    }


def test_an_agent_without_the_template_right_may_read_not_save(sandbox: Sandbox) -> None:
    with sandbox.lock:
        sandbox.email_templates.without_right.add(sandbox.config.client_id)
    with client(sandbox, facts.TEMPLATE_SCOPE) as http:
        assert http.get("/api/EmailTemplate").status_code == 200
        answer = http.post("/api/EmailTemplate", json=[{"id": -12, "body_text": "x"}])
    assert answer.status_code == 403 and "email templates" in answer.json()["Message"]


def test_custom_button_create_read_delete(sandbox: Sandbox) -> None:
    button = {
        "usage": facts.CLIENT_BUTTON_USAGE,
        "name": "Benji",
        "label": "Pay",
        "url": "https://x",
    }
    with client(sandbox, facts.TEMPLATE_SCOPE) as http:
        created = http.post("/api/CustomButton", json=[button])
        assert created.status_code == 201
        bid = created.json()["id"]
        assert http.get(f"/api/CustomButton/{bid}").json()["usage"] == 2
        assert bid in {row["id"] for row in http.get("/api/CustomButton").json()}
        assert http.delete(f"/api/CustomButton/{bid}").status_code == 200
        assert http.get(f"/api/CustomButton/{bid}").status_code == 404
        assert http.delete(f"/api/CustomButton/{bid}").status_code == 404


def test_custom_button_url_longer_than_halo_stores_is_refused(sandbox: Sandbox) -> None:
    long_url = "https://x.example/" + "a" * facts.CUSTOM_BUTTON_URL_MAX
    with client(sandbox, facts.TEMPLATE_SCOPE) as http:
        answer = http.post("/api/CustomButton", json=[{"usage": 2, "name": "B", "url": long_url}])
        bare = http.post("/api/CustomButton", json={"usage": 2, "name": "B", "url": "https://x"})
        count = len(http.get("/api/CustomButton").json())
    assert answer.status_code == 400
    assert "500" in answer.json()["errors"]["[0].url"][0]
    assert bare.status_code == 400
    assert count == 2  # the seeded ones only
