"""`halo-paylink sandbox` as a real subprocess: the --json line, plain output, signals, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from .sandbox_process import TIMEOUT, read_line, start


def test_json_line_then_sigterm(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--port", "0", "--json", "--invoices", "25", "--seed", "3")
    processes.append(proc)
    info = json.loads(read_line(proc))
    assert set(info) == {"url", "tenant", "client_id", "client_secret"}
    assert info["url"].startswith("http://127.0.0.1:")
    with httpx.Client(base_url=info["url"], timeout=10) as http:
        assert http.get("/api/authinfo").json()["tenant_id"] == info["tenant"]
        token = http.post(
            "/auth/token",
            params={"tenant": info["tenant"]},
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "scope": "read:invoices edit:invoices",
            },
        ).json()["access_token"]
        listing = http.get(
            "/api/Invoice",
            params={"pageinate": "true", "page_size": 100},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert listing["record_count"] == 25
    proc.terminate()
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line on stdout, nothing after it


def test_plain_output_and_ctrl_c(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--rate-limit", "300/300", "--forbid-editing-posted", "--no-retry-after")
    processes.append(proc)
    lines = []
    while not lines or "Ctrl-C" not in lines[-1]:
        line = read_line(proc)
        assert line, "the sandbox exited early"
        lines.append(line)
    text = "".join(lines)
    assert "http://127.0.0.1:" in text
    assert "demo-client" in text and "Tenant" in text and "Client secret" in text
    assert "300 requests per 300 seconds" in text
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "words"), [("5", "REQUESTS/SECONDS"), ("0/60", "at least 1"), ("10/soon", "seconds")]
)
def test_bad_rate_limit_is_explained(value: str, words: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink", "sandbox", "--rate-limit", value],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 2
    assert "--rate-limit" in done.stderr and words in done.stderr
    assert done.stdout == ""
