"""A build that does not know the newer listing filters ignores them silently, over real HTTP:
more rows come back, and a bad value is not refused."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from halo_paylink.sandbox import Sandbox, SandboxConfig

from ..sandbox_http import authorised_client
from ..sandbox_process import TIMEOUT, read_line, start
from .listing_http import SAFE, count, listing, rows, signed_in

NEWER = [
    {"paymentstatuses": "0,-1"},
    {"paymentstatuses": "2"},
    {"postedonly": "true"},
    {"includeinvoices": "true", "includecredits": "false"},
    {"includeinvoices": "false"},
    {"datesearch": "invoice_date", "start_date": "2025-05-01"},
    {"datesearch": "last_modified", "end_date": "2000-01-01"},
    SAFE,
    {**SAFE, "paymentstatuses": "0"},
]


@pytest.fixture(params=[True, False], ids=["new build", "older build"])
def http(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    config = SandboxConfig(invoices=300, seed=6, templates=3, honours_new_filters=request.param)
    with Sandbox(config) as box, authorised_client(box) as client:
        yield client


@pytest.mark.parametrize("params", NEWER)
def test_the_newer_filters_narrow_only_on_a_build_that_knows_them(
    http: httpx.Client, params: dict[str, str], request: pytest.FixtureRequest
) -> None:
    older = "older" in request.node.callspec.id
    found = count(http, **params)
    if older:
        assert found == count(http) == 303  # ignored: everything comes back
    else:
        assert found < 303


def test_an_older_build_refuses_no_bad_value_of_a_filter_it_does_not_know() -> None:
    config = SandboxConfig(invoices=50, seed=6, honours_new_filters=False)
    with Sandbox(config) as box, authorised_client(box) as http:
        for params in (
            {"paymentstatuses": "paid"},
            {"postedonly": "yes"},
            {"datesearch": "nonsense", "start_date": "yesterday"},
        ):
            response = listing(http, page_size=1, **params)
            assert response.status_code == 200, response.text
            assert response.json()["record_count"] == 50
        # The filters it does know still filter, and still refuse bad values.
        assert count(http, notpostedonly="true") < 50
        assert listing(http, notpostedonly="maybe").status_code == 400


def test_an_older_build_still_pages_and_counts_the_whole_list() -> None:
    config = SandboxConfig(invoices=250, seed=6, honours_new_filters=False)
    with Sandbox(config) as box, authorised_client(box) as http:
        listed = rows(http, **SAFE)
        assert len(listed) == 250 == count(http, **SAFE)
        assert any(row["total"] < 0 for row in listed)  # the credits came back
        assert any(not row["posted"] for row in listed)  # and the drafts
        assert sorted(row["id"] for row in listed) == sorted(box.invoices)


def test_the_command_can_play_an_older_build(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--json", "--invoices", "80", "--ignore-new-filters")
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info["url"], info["client_id"], info["client_secret"]) as http:
        assert count(http, paymentstatuses="2", **SAFE) == 80
    proc.terminate()
    proc.communicate(timeout=TIMEOUT)
