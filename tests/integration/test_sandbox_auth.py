"""The sandbox's discovery and token endpoints, and bearer/scope enforcement, over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from fakes import FakeClock
from halo_paylink.sandbox import Sandbox, SandboxConfig

SCOPES = "read:invoices edit:invoices"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(invoices=30, token_ttl=600), clock=clock) as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


def token_request(
    http: httpx.Client,
    sandbox: Sandbox,
    *,
    client_id: str | None = None,
    secret: str | None = None,
    scope: str | None = SCOPES,
    tenant: str | None = "demo",
    grant_type: str = "client_credentials",
) -> httpx.Response:
    form = {
        "grant_type": grant_type,
        "client_id": client_id or sandbox.config.client_id,
        "client_secret": secret if secret is not None else sandbox.config.client_secret,
    }
    if scope is not None:
        form["scope"] = scope
    params = {"tenant": tenant} if tenant is not None else {}
    return http.post("/auth/token", params=params, data=form)


def bearer(http: httpx.Client, sandbox: Sandbox, **kwargs: object) -> dict[str, str]:
    response = token_request(http, sandbox, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def jwt_claims(token: str) -> dict[str, object]:
    parts = token.split(".")
    assert len(parts) == 3
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def test_authinfo_needs_no_token(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.get("/api/authinfo")
    assert response.status_code == 200
    assert response.json() == {"auth_url": f"{sandbox.url}/auth", "tenant_id": "demo"}


def test_authinfo_can_be_switched_off() -> None:
    with Sandbox(SandboxConfig(invoices=0, authinfo=False)) as sb:
        assert httpx.get(f"{sb.url}/api/authinfo").status_code == 404


def test_path_prefix_serves_below_the_prefix() -> None:
    with Sandbox(SandboxConfig(invoices=0, path_prefix="/halo")) as sb:
        assert sb.url.endswith("/halo")
        info = httpx.get(f"{sb.url}/api/authinfo").json()
        assert info["auth_url"] == f"{sb.url}/auth"
        root = sb.url.removesuffix("/halo")
        assert httpx.get(f"{root}/api/authinfo").status_code == 404


def test_token_success_shape_and_jwt_claims(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == SCOPES
    claims = jwt_claims(body["access_token"])
    assert claims["scope"] == SCOPES
    assert claims["client_id"] == "demo-client"
    assert int(str(claims["agent_id"])) > 0
    assert response.headers["Cache-Control"] == "no-store"


def test_token_without_tenant_query_works(http: httpx.Client, sandbox: Sandbox) -> None:
    assert token_request(http, sandbox, tenant=None).status_code == 200


def test_wrong_tenant_is_a_server_error(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, tenant="someone-else")
    assert response.status_code == 500


def test_unknown_client_id(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, client_id="nobody")
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "The specified 'client_id' is invalid.",
    }


def test_wrong_secret(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"] == "The specified client credentials are invalid."


def test_basic_client_authentication_is_accepted(http: httpx.Client, sandbox: Sandbox) -> None:
    raw = f"{sandbox.config.client_id}:{sandbox.config.client_secret}".encode()
    response = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": SCOPES},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert response.status_code == 200


def test_scope_not_allowed_for_the_application(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, scope="read:invoices edit:tickets")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "This client application is not allowed to use the specified scope.",
    }


def test_unknown_scope(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, scope="read:invoices fly:rockets")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_wrong_grant_type(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_grant_type(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.post("/auth/token", data={"client_id": "demo-client"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_json_body_is_refused(http: httpx.Client, sandbox: Sandbox) -> None:
    response = http.post(
        "/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": sandbox.config.client_id,
            "client_secret": sandbox.config.client_secret,
            "scope": SCOPES,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "Content-Type" in response.json()["error_description"]


def test_get_on_token_endpoint_is_refused(http: httpx.Client) -> None:
    assert http.get("/auth/token").status_code == 405


def test_token_without_scope_gets_401_everywhere(http: httpx.Client, sandbox: Sandbox) -> None:
    response = token_request(http, sandbox, scope=None)
    assert response.status_code == 200
    assert "scope" not in response.json()
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert http.get("/api/Agent/me", headers=headers).status_code == 401
    assert http.get("/api/Invoice", headers=headers).status_code == 401


def test_api_needs_a_bearer_token(http: httpx.Client) -> None:
    assert http.get("/api/Invoice").status_code == 401
    assert http.get("/api/Invoice", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert http.get("/api/Agent/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_forged_claims_do_not_help(http: httpx.Client, sandbox: Sandbox) -> None:
    token = bearer(http, sandbox, scope="read:invoices")["Authorization"].split()[1]
    header, _, sig = token.split(".")
    claims = base64.urlsafe_b64encode(json.dumps({"scope": "all"}).encode()).rstrip(b"=").decode()
    forged = {"Authorization": f"Bearer {header}.{claims}.{sig}"}
    assert http.get("/api/Invoice", headers=forged).status_code == 401


def test_agent_me(http: httpx.Client, sandbox: Sandbox) -> None:
    headers = bearer(http, sandbox)
    response = http.get("/api/agent/ME", headers=headers)
    assert response.status_code == 200
    agent = response.json()
    assert agent["name"] == sandbox.config.agent_name
    assert agent["isapiagent"] is True
    claims = jwt_claims(headers["Authorization"].split()[1])
    assert str(agent["id"]) == claims["agent_id"]


def test_token_expires_with_time(http: httpx.Client, sandbox: Sandbox, clock: FakeClock) -> None:
    headers = bearer(http, sandbox)
    assert http.get("/api/Agent/me", headers=headers).status_code == 200
    clock.now += 599
    assert http.get("/api/Agent/me", headers=headers).status_code == 200
    clock.now += 2
    assert http.get("/api/Agent/me", headers=headers).status_code == 401


def test_expire_tokens_on_demand(http: httpx.Client, sandbox: Sandbox) -> None:
    headers = bearer(http, sandbox)
    sandbox.expire_tokens()
    assert http.get("/api/Agent/me", headers=headers).status_code == 401
    assert http.get("/api/Agent/me", headers=bearer(http, sandbox)).status_code == 200


def test_revoke_application(http: httpx.Client, sandbox: Sandbox) -> None:
    headers = bearer(http, sandbox)
    sandbox.revoke(sandbox.config.client_id)
    assert http.get("/api/Invoice", headers=headers).status_code == 401
    assert token_request(http, sandbox).status_code == 401


def test_scope_enforcement_on_invoices(http: httpx.Client, sandbox: Sandbox) -> None:
    read_only = bearer(http, sandbox, scope="read:invoices")
    edit_only = bearer(http, sandbox, scope="edit:invoices")
    body = [{"id": 1001, "_validateonly": True}]
    assert http.get("/api/Invoice", headers=read_only).status_code == 200
    forbidden = http.post("/api/Invoice", headers=read_only, json=body)
    assert forbidden.status_code == 403
    assert "edit:invoices" in forbidden.text
    assert http.get("/api/Invoice", headers=edit_only).status_code == 200  # edit implies read
    assert http.post("/api/Invoice", headers=edit_only, json=body).status_code == 200


def test_scope_all_covers_invoices(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.add_application("everything", "s3cret", allowed_scopes=("all",))
    headers = bearer(http, sandbox, client_id="everything", secret="s3cret", scope="all")
    assert http.get("/api/Invoice", headers=headers).status_code == 200
    body = [{"id": 1001, "_validateonly": True}]
    assert http.post("/api/Invoice", headers=headers, json=body).status_code == 200


def test_scope_removed_mid_run_gives_403(http: httpx.Client, sandbox: Sandbox) -> None:
    headers = bearer(http, sandbox)
    assert http.get("/api/Invoice", headers=headers).status_code == 200
    sandbox.set_allowed_scopes(sandbox.config.client_id, ["read:tickets"])
    assert http.get("/api/Invoice", headers=headers).status_code == 403
    assert token_request(http, sandbox).json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("access", "get_status", "post_status"),
    [("none", 403, 403), ("read", 200, 403), ("edit", 200, 200)],
)
def test_agent_invoice_access(
    http: httpx.Client, sandbox: Sandbox, access: str, get_status: int, post_status: int
) -> None:
    sandbox.add_application("agent-app", "pw", agent_invoice_access=access)
    headers = bearer(http, sandbox, client_id="agent-app", secret="pw")
    assert http.get("/api/Invoice/1001", headers=headers).status_code == get_status
    listing = http.get("/api/Invoice", headers=headers)
    assert listing.status_code == get_status
    post = http.post("/api/Invoice", headers=headers, json=[{"id": 1001, "_validateonly": True}])
    assert post.status_code == post_status
    if post_status == 403:
        assert "agent" in post.text.lower()
    assert http.get("/api/Agent/me", headers=headers).status_code == 200


def test_add_application_validates_arguments(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.add_application("x", "y", agent_invoice_access="write")
    with pytest.raises(ValueError):
        sandbox.add_application("x", "y", allowed_scopes=("fly:rockets",))


def test_unknown_api_path_is_404(http: httpx.Client, sandbox: Sandbox) -> None:
    headers = bearer(http, sandbox)
    assert http.get("/api/Nonsense", headers=headers).status_code == 404
    assert http.get("/elsewhere").status_code == 404
