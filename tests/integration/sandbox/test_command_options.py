"""`halo-paylink sandbox` playing the tenant, as a real subprocess: what it says it plays, the
portal page it names, and changes that move the stamps."""

from __future__ import annotations

import json
import re
import signal
import subprocess

import httpx

from ..sandbox_process import TIMEOUT, read_line, start
from .listing_http import rows, signed_in


def test_the_plain_output_says_what_it_plays(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--mix", "old", "--status-codes", "paid=7", "--ignore-new-filters")
    processes.append(proc)
    lines: list[str] = []
    while not lines or "Ctrl-C" not in lines[-1]:
        line = read_line(proc)
        assert line, "the sandbox exited early"
        lines.append(line)
    text = "".join(lines)
    assert "an old tenant's mix" in text
    assert "Payment status codes: unpaid=0,unsynced=-1,part=1,paid=7" in text
    assert "the newer list filters are ignored" in text
    portal = re.search(r"(http://127\.0\.0\.1:\d+/portal/invoice/\d+)", text)
    assert portal, text
    page = httpx.get(portal.group(1), timeout=10)
    assert page.status_code == 200 and "Amount due" in page.text
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err


def test_stamp_changes_moves_last_modified_on_a_save(
    processes: list[subprocess.Popen[str]],
) -> None:
    proc = start("--json", "--invoices", "30", "--stamp-changes")
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info["url"], info["client_id"], info["client_secret"]) as http:
        first = next(row for row in rows(http) if row["last_synced"])
        link = "https://www.benjipays.com/portal/demo-msp/pay/?InvoiceNumber=1"
        saved = http.post(
            "/api/Invoice",
            json=[{"id": first["id"], "generic_online_invoice_payment_url": link}],
        ).json()[0]
    assert saved["last_modified"] > first["last_modified"]
    assert saved["last_synced"] == saved["last_modified"]
    proc.terminate()
    proc.communicate(timeout=TIMEOUT)
