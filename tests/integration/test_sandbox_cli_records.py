"""`halo-paylink sandbox` with templates, odd records and a silent page cap, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from halo_paylink.sandbox import seed as seedmod

from .sandbox_process import TIMEOUT, read_line, start


@contextmanager
def signed_in(info: dict[str, Any], scope: str) -> Iterator[httpx.Client]:
    """An HTTP client on the sandbox that `info` (its --json line) describes, with a token."""
    with httpx.Client(base_url=info["url"], timeout=10) as http:
        token = http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "scope": scope,
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def test_templates_odd_records_and_page_cap(processes: list[subprocess.Popen[str]]) -> None:
    proc = start(
        "--json",
        "--invoices",
        "30",
        "--templates",
        "4",
        "--odd-records",
        "--page-cap",
        "7",
        "--page-size-echo",
        "requested",
    )
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info, "read:invoices") as http:
        body = http.get(
            "/api/Invoice", params={"pageinate": "true", "page_size": 100, "page_no": 1}
        ).json()
    assert body["page_size"] == 100 and len(body["invoices"]) == 7
    assert body["record_count"] == 30 + 4 + len(seedmod.ODD_KINDS)
    assert [row["id"] for row in body["invoices"][:4]] == [-4, -3, -2, -1]


@pytest.mark.parametrize(
    ("value", "words"),
    [("0", "0 is not at least 1"), ("-3", "-3 is negative"), ("many", "'many' is not a whole")],
)
def test_bad_page_cap_is_explained(value: str, words: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "halo_paylink", "sandbox", "--page-cap", value],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert "--page-cap" in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr


def test_a_batch_save_can_be_answered_with_one_object(
    processes: list[subprocess.Popen[str]],
) -> None:
    proc = start("--json", "--invoices", "10", "--update-answer", "one")
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info, "edit:invoices") as http:
        listed = http.get(
            "/api/Invoice", params={"pageinate": "true", "page_size": 100, "page_no": 1}
        ).json()["invoices"]
        ids = [row["id"] for row in listed[:2]]
        saved = http.post(
            "/api/Invoice",
            json=[{"id": i, "generic_online_invoice_payment_url": f"https://x/{i}"} for i in ids],
        )
    assert saved.status_code in (200, 201), saved.text
    answer = saved.json()
    assert isinstance(answer, dict) and answer["id"] == ids[-1]


def test_an_unknown_update_answer_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "halo_paylink", "sandbox", "--update-answer", "all"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2 and "--update-answer" in result.stderr
    assert "Traceback" not in result.stderr
