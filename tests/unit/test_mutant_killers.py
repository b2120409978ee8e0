"""Tests aimed at mutants a mutation-testing pass found alive: each pins one rule that a small,
plausible change to the code would otherwise break without any test noticing.

- a keyring backend whose only tell is "file" in its name is refused;
- the CSV report defuses formula-looking cells in the file written to disk;
- a mixed https/http endpoint pair is refused before anything is sent;
- a 403 despite an `all` scope is a permission problem, not a missing scope;
- a server that caps the page size silently still gets every invoice read exactly once.
"""

from __future__ import annotations

import asyncio
import csv
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring.backends import chainer

from fakes import FakeClock, MemoryKeyring
from halo_paylink.core.backfill.replay import ReportRow
from halo_paylink.core.backfill.report import CSV_COLUMNS, CsvReport
from halo_paylink.errors import ErrorKind, HaloError, LocalError
from halo_paylink.halo.client import HaloClient
from halo_paylink.halo.models import Credentials, HaloEndpoints
from halo_paylink.halo.session import client_for
from halo_paylink.storage.secrets import KEYRING_SERVICE, KeyringSecretStore, describe_backend

CREDS = Credentials("client", "shh-secret-1")


def make_client(http: httpx.AsyncClient, endpoints: HaloEndpoints, clock: FakeClock) -> HaloClient:
    return client_for(
        http,
        endpoints,
        CREDS,
        rate_limit="unlimited",
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router


# --- a keyring backend named only "file" ---------------------------------------------------------


def backend_like(module: str, name: str) -> MemoryKeyring:
    return type(name, (MemoryKeyring,), {"__module__": module})()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("somevendor.store", "FileKeyring"),  # only the class name says "file"
        ("somevendor.file", "Keyring"),  # only the module says it
        ("SomeVendor.Stores", "EncryptedFILEBackend"),  # in any letter case
    ],
)
def test_a_backend_named_only_file_is_refused(module: str, name: str) -> None:
    backend = backend_like(module, name)
    store = KeyringSecretStore(backend)
    status = store.status()
    assert not status.secure
    assert "file on disk" in status.reason and "asked for each time" in status.reason
    with pytest.raises(LocalError) as caught:
        store.set("Acme", "never-in-a-file")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    assert backend.values == {}  # nothing reached the file store
    backend.values[(KEYRING_SERVICE, "Acme")] = "left-by-someone-else"
    with pytest.raises(LocalError):
        store.get("Acme")  # not even read


class FixedChainer(chainer.ChainerBackend):
    def __init__(self, rings: list[Any]) -> None:
        super().__init__()
        self._rings = rings

    @property
    def backends(self) -> list[Any]:  # type: ignore[override]
        return self._rings


def test_a_chainer_never_picks_a_file_backend() -> None:
    only_file = FixedChainer([backend_like("somevendor.store", "FileKeyring")])
    assert not describe_backend(only_file).secure
    mac = backend_like("keyring.backends.macOS", "Keyring")
    mixed = describe_backend(FixedChainer([backend_like("vendor.file", "Keyring"), mac]))
    assert mixed.secure and mixed.location == "macOS Keychain"


# --- CSV formula defusing, read back from disk ---------------------------------------------------

FORMULA_STARTS = "=+-@\t\r"

#: Text a spreadsheet might run: any text, often starting with a formula character.
cell_text = st.one_of(
    st.text(),
    st.builds(lambda first, rest: first + rest, st.sampled_from(FORMULA_STARTS), st.text()),
    st.sampled_from(['=HYPERLINK("http://x","pay")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]),
)
row_values = st.tuples(
    st.integers(min_value=1, max_value=10**9),
    cell_text,
    cell_text,
    st.sampled_from(["written", "skipped", "conflict", "failed"]),
    cell_text,
    st.one_of(st.none(), cell_text, st.integers(), st.floats(allow_nan=False)),
    st.one_of(st.none(), cell_text),
)


def _expected_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] and text[0] in FORMULA_STARTS else text


def _read_back(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row_values, min_size=1, max_size=8), one_by_one=st.booleans())
def test_csv_on_disk_has_every_formula_cell_defused(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[Any, ...]], one_by_one: bool
) -> None:
    path = tmp_path_factory.mktemp("report") / "run.csv"
    report = CsvReport(path)
    report_rows = [ReportRow(*row) for row in rows]
    if one_by_one:
        for row in report_rows:
            report.add(row)
    else:
        report.add_rows(report_rows)
    report.close()
    written = _read_back(path)
    assert written[0] == list(CSV_COLUMNS)
    assert len(written) == len(rows) + 1
    for row, on_disk in zip(report_rows, written[1:], strict=True):
        invoice_id, number, client, outcome, reason, old, new = on_disk
        assert invoice_id == str(row.id)
        assert outcome == row.outcome
        assert number == _expected_cell(row.number)
        assert client == _expected_cell(row.client)
        assert reason == (_expected_cell(row.reason) if row.reason else "")
        assert old == _expected_cell(row.old)
        assert new == _expected_cell(row.new)
        for text in (number, client, reason, old, new):
            assert not (text[:1] and text[0] in FORMULA_STARTS), f"live formula cell {text!r}"


@pytest.mark.parametrize("start", list(FORMULA_STARTS))
def test_csv_every_formula_start_is_defused_in_the_file(tmp_path: Path, start: str) -> None:
    path = tmp_path / "run.csv"
    report = CsvReport(path)
    value = f"{start}cmd|' /C calc'!A0"
    report.add_rows([ReportRow(7, value, value, "written", value, value, value)])
    report.add(ReportRow(8, value, value, "written", value, value, value))
    report.close()
    for on_disk in _read_back(path)[1:]:
        assert on_disk[1:3] == ["'" + value] * 2 and on_disk[4:] == ["'" + value] * 3


def test_csv_plain_text_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    report = CsvReport(path)
    plain = string.ascii_letters + " 1-2"
    report.add_rows([ReportRow(1, plain, plain, "skipped", plain, plain, plain)])
    report.close()
    assert _read_back(path)[1] == ["1", plain, plain, "skipped", plain, plain, plain]


# --- https on both endpoints ----------------------------------------------------------------------

MIXED_PAIRS = [
    pytest.param(
        HaloEndpoints(
            web_url="https://halo.example.com",
            auth_url="https://halo.example.com/auth",
            resource_url="http://halo.example.com/api",
            tenant=None,
            hosted=False,
        ),
        "halo.example.com",
        id="auth-https-resource-http",
    ),
    pytest.param(
        HaloEndpoints(
            web_url="https://halo.example.com",
            auth_url="http://login.example.com/auth",
            resource_url="https://halo.example.com/api",
            tenant=None,
            hosted=False,
        ),
        "login.example.com",
        id="auth-http-resource-https",
    ),
    pytest.param(
        HaloEndpoints(
            web_url="http://127.0.0.1:5555",
            auth_url="http://127.0.0.1:5555/auth",
            resource_url="http://127.0.0.1.example.com/api",  # not loopback, only looks like it
            tenant=None,
            hosted=False,
        ),
        "127.0.0.1.example.com",
        id="loopback-look-alike-resource",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("endpoints", "host"), MIXED_PAIRS)
async def test_a_mixed_https_http_pair_is_refused_before_sending(
    mock: respx.MockRouter, clock: FakeClock, endpoints: HaloEndpoints, host: str
) -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, endpoints, clock)
        for call in (
            lambda: client.get_invoice(1),
            lambda: client.update_invoices([{"id": 1, "x": "y"}]),
            lambda: client.agent_me(),
        ):
            with pytest.raises(HaloError) as info:
                await call()
            assert info.value.kind is ErrorKind.INSECURE_ADDRESS
            assert host in info.value.detail and "https" in info.value.detail
    assert not mock.calls  # neither the secret nor a bearer token went anywhere


@pytest.mark.anyio
async def test_loopback_http_pair_is_allowed(mock: respx.MockRouter, clock: FakeClock) -> None:
    base = "http://127.0.0.1:5555"
    endpoints = HaloEndpoints(base, f"{base}/auth", f"{base}/api", None, False)
    mock.post(url__startswith=f"{base}/auth/token").respond(
        200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
    )
    mock.get(f"{base}/api/Invoice/1").respond(200, json={"id": 1})
    async with httpx.AsyncClient() as http:
        invoice = await make_client(http, endpoints, clock).get_invoice(1)
    assert invoice.id == 1


# --- a 403 although the token has an all-encompassing scope --------------------------------------

API = "https://acme.halopsa.com/api"
HOSTED = HaloEndpoints(
    web_url="https://acme.halopsa.com",
    auth_url="https://acme.halopsa.com/auth",
    resource_url=API,
    tenant="acme",
    hosted=True,
)


async def _refused_with_403(
    mock: respx.MockRouter, clock: FakeClock, granted: str, method: str, text: str
) -> pytest.ExceptionInfo[HaloError]:
    """A hosted token granting GRANTED, then a 403 (body TEXT) to a GET or POST of invoices:
    the error the client raises."""
    mock.post(url__startswith=f"{HOSTED.auth_url}/token").respond(
        200,
        json={"access_token": "tok", "token_type": "Bearer", "expires_in": 3600, "scope": granted},
    )
    mock.route(
        method=method, url=f"{API}/Invoice/1" if method == "GET" else f"{API}/Invoice"
    ).respond(403, text=text)
    async with httpx.AsyncClient() as http:
        client = make_client(http, HOSTED, clock)
        with pytest.raises(HaloError) as info:
            if method == "GET":
                await client.get_invoice(1)
            else:
                await client.update_invoices([{"id": 1, "x": "y"}])
    return info


@pytest.mark.anyio
@pytest.mark.parametrize("granted", ["all", "all:standard", "read:tickets all", "all:standard x"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_403_with_an_all_scope_is_forbidden_not_missing_scope(
    mock: respx.MockRouter, clock: FakeClock, granted: str, method: str
) -> None:
    info = await _refused_with_403(mock, clock, granted, method, "The agent has no invoice rights")
    assert info.value.kind is ErrorKind.FORBIDDEN, info.value.detail
    assert info.value.status == 403
    assert "no invoice rights" in info.value.detail


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("granted", "method"),
    [("all:teams", "GET"), ("admin", "POST"), ("read:invoices", "POST"), ("allx", "GET")],
)
async def test_403_with_only_other_scopes_is_missing_scope(
    mock: respx.MockRouter, clock: FakeClock, granted: str, method: str
) -> None:
    info = await _refused_with_403(mock, clock, granted, method, "Forbidden")
    assert info.value.kind is ErrorKind.MISSING_SCOPE


# --- a server that caps the page size silently ---------------------------------------------------


class CappingServer:
    """`GET /Invoice` over `total` invoices (ids 1..total), serving at most `cap` rows a page
    whatever was asked, and echoing `echo` as page_size (None: no page_size at all).

    Where a page starts is unverified for a capping server: from the size asked
    (`offset_by="asked"`, the worst case: a client that keeps asking 100 skips rows) or from the
    size served (`offset_by="served"`). A client must read everything once under both.
    """

    def __init__(
        self, total: int, cap: int, echo: int | None, offset_by: str, count: bool = True
    ) -> None:
        self.total = total
        self.count = count
        self.cap = cap
        self.echo = echo
        self.offset_by = offset_by
        self.asked: list[tuple[int, int]] = []  # (page_size, page_no) of each request

    def __call__(self, request: httpx.Request) -> httpx.Response:
        size = int(request.url.params["page_size"])
        page_no = int(request.url.params["page_no"])
        self.asked.append((size, page_no))
        served = min(size, self.cap)
        start = (page_no - 1) * (size if self.offset_by == "asked" else served)
        ids = range(start + 1, min(start + served, self.total) + 1)
        body: dict[str, Any] = {"invoices": [{"id": i, "invoicenumber": f"INV{i}"} for i in ids]}
        if self.count:
            body["record_count"] = self.total
        if self.echo is not None:
            body["page_size"] = self.echo
        return httpx.Response(200, json=body)


@pytest.mark.anyio
@pytest.mark.parametrize("offset_by", ["asked", "served"])
@pytest.mark.parametrize("echo", [100, None], ids=["echoes-100", "echoes-nothing"])
@pytest.mark.parametrize("total", [49, 50, 51, 100, 149, 150, 237])
async def test_a_silent_page_cap_still_reads_every_invoice_once(
    mock: respx.MockRouter, clock: FakeClock, echo: int | None, total: int, offset_by: str
) -> None:
    server = CappingServer(total, cap=50, echo=echo, offset_by=offset_by)
    mock.post(url__startswith=f"{HOSTED.auth_url}/token").respond(
        200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
    )
    mock.get(f"{API}/Invoice").mock(side_effect=server)
    async with httpx.AsyncClient() as http:
        client = make_client(http, HOSTED, clock)
        pages = [page async for page in client.invoice_pages(page_size=100)]
    ids = [invoice.id for page in pages for invoice in page.invoices]
    assert sorted(ids) == list(range(1, total + 1)), "an invoice was missed or read twice"
    assert server.asked[0] == (100, 1)
    # no page is asked twice, and no more pages than the capped size needs (+1 to see the end
    # when the total is an exact multiple)
    assert len({page_no for _, page_no in server.asked}) == len(server.asked)
    assert len(server.asked) <= -(-total // 50) + 1


@pytest.mark.anyio
@pytest.mark.parametrize("offset_by", ["asked", "served"])
@pytest.mark.parametrize("total", [49, 50, 51, 100, 237])
async def test_a_silent_page_cap_without_record_count_or_page_size_reads_everything_once(
    mock: respx.MockRouter, clock: FakeClock, total: int, offset_by: str
) -> None:
    """Neither `record_count` nor `page_size`: a short page may be the cap, not the end."""
    server = CappingServer(total, cap=50, echo=None, offset_by=offset_by, count=False)
    mock.post(url__startswith=f"{HOSTED.auth_url}/token").respond(
        200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
    )
    mock.get(f"{API}/Invoice").mock(side_effect=server)
    async with httpx.AsyncClient() as http:
        client = make_client(http, HOSTED, clock)
        pages = [page async for page in client.invoice_pages(page_size=100)]
    ids = [invoice.id for page in pages for invoice in page.invoices]
    assert sorted(ids) == list(range(1, total + 1)), "an invoice was missed or read twice"
    assert len({page_no for _, page_no in server.asked}) == len(server.asked)
    assert len(server.asked) <= -(-total // 50) + 1


@st.composite
def capping_servers(draw: st.DrawFn) -> CappingServer:
    total = draw(st.integers(min_value=0, max_value=400))
    cap = draw(st.integers(min_value=1, max_value=120))
    count = draw(st.booleans())
    # Without record_count, a page_size echo that lies (100 while serving fewer) makes a short
    # page look like the end; only truthful or absent echoes are drawn then.
    echoes = [None, min(cap, 100), 100] if count else [None, min(cap, 100)]
    echo = draw(st.sampled_from(echoes))
    offset_by = draw(st.sampled_from(["asked", "served"]))
    return CappingServer(total, cap=cap, echo=echo, offset_by=offset_by, count=count)


@settings(max_examples=150)
@given(server=capping_servers())
def test_any_page_cap_reads_every_invoice_exactly_once(server: CappingServer) -> None:
    async def read_all() -> list[int]:
        with respx.mock(assert_all_mocked=True) as router:
            router.post(url__startswith=f"{HOSTED.auth_url}/token").respond(
                200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
            )
            router.get(f"{API}/Invoice").mock(side_effect=server)
            async with httpx.AsyncClient() as http:
                client = make_client(http, HOSTED, FakeClock())
                return [i.id async for page in client.invoice_pages() for i in page.invoices]

    ids = asyncio.run(read_all())
    assert sorted(ids) == list(range(1, server.total + 1))
    served = min(server.cap, 100)
    assert len(server.asked) <= -(-server.total // served) + 1
    assert len({page_no for _, page_no in server.asked}) == len(server.asked)
