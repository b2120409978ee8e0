"""A client named "Dvořák" on a Windows-style cp1252 console and in Excel.

The CLI runs as a real process with PYTHONIOENCODING=cp1252, which is how Python on Windows sets
up a redirected stdout (the ANSI code page); 'ř' is not in cp1252. The CSV report starts with a
UTF-8 byte-order mark, without which Excel reads it in the ANSI code page and garbles the name.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from halo_paylink.core.backfill import RunOptions, run_backfill

from .cli_helpers import backfill_args, cli_command, cli_env
from .conftest import halo_client, settings

NAME = "Dvořák Audio s.r.o."


def rename_clients(box) -> None:
    with box.lock:
        for invoice in box.invoices.values():
            invoice["client_name"] = NAME


def cp1252_env(home: Path, secret: str) -> dict[str, str]:
    return dict(cli_env(home, secret), PYTHONIOENCODING="cp1252", PYTHONUTF8="0")


def test_dry_run_on_a_cp1252_console(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=30)
    rename_clients(box)
    env = cp1252_env(tmp_path, box.config.client_secret)
    human = subprocess.run(
        cli_command(*backfill_args(box, "--dry-run")),
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert human.returncode == 0, human.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in human.stderr
    assert NAME.encode("utf-8") in human.stdout  # a pipe: UTF-8, whatever the locale says

    out = tmp_path / "out.json"
    with out.open("wb") as handle:  # `--json > out.json`
        done = subprocess.run(
            cli_command(*backfill_args(box, "--dry-run", "--json")),
            env=env,
            stdout=handle,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    data = json.loads(out.read_bytes().decode("utf-8"))
    assert data["outcome"] == "planned"
    assert NAME in out.read_text(encoding="utf-8")


@pytest.mark.anyio
async def test_csv_report_opens_in_excel(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=20, seed=5)
    rename_clients(box)
    options = RunOptions(batch_size=10, concurrency=2, page_size=25, progress_interval=0.0)
    async with halo_client(box) as client:
        result = await run_backfill(client, settings(), paths, options=options)
    assert result.report is not None
    raw = result.report.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfinvoice_id,")  # UTF-8 BOM, then the header
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert NAME.encode("utf-8") in raw
