"""Bad input never reaches a traceback: addresses, run ids, damaged or deleted journals, and
Halo data with terminal control characters, met where the user meets them (the CLI)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill import RunOptions, run_backfill
from halo_paylink.core.backfill.journal import (
    JournalError,
    JournalLost,
    JournalWriter,
    is_run_id,
    journal_path,
)
from halo_paylink.core.backfill.model import new_run_id
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.core.backfill.runs import list_runs
from halo_paylink.storage.paths import AppPaths, program_command

from .cli_helpers import backfill_args, cli_env, run_cli
from .conftest import halo_client
from .conftest import settings as backfill_settings
from .test_one_run_at_a_time import GatedClient

EVIL = "Acme\x1b]0;pwned\x07\x1b[2J Ltd \u202egnp.exe\u202c\u2066x\u2069\u200f\x9b1m"


@pytest.mark.parametrize(
    "url", ["https://[::1", "https://999.1.1.1", "https://[x]", "https://a\u200b.com", "https://[]"]
)
def test_cli_bad_url_is_a_usage_message(url: str, tmp_path) -> None:
    done = run_cli(
        ["backfill", "--url", url, "--client-id", "c", "--link", "x"], cli_env(tmp_path, "s")
    )
    assert done.returncode == 2
    assert "That doesn't look like a Halo web address." in done.stderr
    assert "Traceback" not in done.stderr


# --- run ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_id",
    ["../x", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "..", " 20261201", "x.jsonl"],
)
def test_run_ids_from_the_command_line_stay_in_the_runs_folder(run_id: str, tmp_path) -> None:
    for flag in ("--undo", "--resume"):
        done = run_cli(
            ["backfill", flag, run_id, "--url", "https://acme.halopsa.com", "--client-id", "c"],
            cli_env(tmp_path, "s"),
        )
        assert done.returncode == 2, done.stderr
        assert f"{flag} needs a run id" in done.stderr
        assert f"`{program_command()} runs`" in done.stderr  # works as printed
        assert "Traceback" not in done.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_only_the_shape_new_run_id_makes_names_a_journal(text: str) -> None:
    folder = Path("/runs")
    if is_run_id(text):
        assert journal_path(folder, text).parent == folder
    else:
        with pytest.raises(JournalError):
            journal_path(folder, text)
    made = new_run_id()
    assert is_run_id(made) and journal_path(folder, made).parent == folder


# --- damaged journals ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_damaged_journal_is_listed_with_a_way_forward(make_sandbox, paths, tmp_path) -> None:
    box = make_sandbox(invoices=40, seed=4)
    async with halo_client(box) as client:
        result = await run_backfill(client, backfill_settings(), paths, options=RunOptions(5, 1))
    assert result.run_id and result.journal and result.report
    lines = result.journal.read_bytes().splitlines(keepends=True)
    assert len(lines) > 4
    lines[2] = b'{"t": "intents", "batch": 1, "ite\x00ms broken\n'
    result.journal.write_bytes(b"".join(lines))

    [info] = list_runs(paths)
    assert info.damaged and not info.resumable
    assert "journal damaged at line 3" in info.damage
    assert f"the report at {result.report.csv} still lists what was written" in info.damage
    assert info.run_id == result.run_id and info.web_url == box.url

    human = run_cli(["runs"], cli_env(Path(os.environ["HALO_PAYLINK_HOME"])))
    assert human.returncode == 0 and result.run_id in human.stdout
    assert "damaged" in human.stdout and "journal damaged at line 3" in human.stdout
    as_json = run_cli(["runs", "--json"], cli_env(Path(os.environ["HALO_PAYLINK_HOME"])))
    [row] = json.loads(as_json.stdout)["runs"]
    assert row["damaged"] is True and row["resumable"] is False
    assert row["report"] == str(result.report.csv)
    assert "line 3" in row["damage"]


def test_damaged_header_still_listed(paths: AppPaths) -> None:
    run_id = new_run_id()
    path = journal_path(paths.journals_dir, run_id)
    path.write_bytes(b'{"t": "header", "version": 99}\n{"t": "resume", "at": "x"}\n')
    [info] = list_runs(paths)
    assert info.damaged and info.run_id == run_id
    assert "no report was written" in info.damage


# --- a journal deleted during its run ------------------------------------------------------------


def test_writer_notices_its_file_is_gone(tmp_path) -> None:
    path = tmp_path / f"{new_run_id()}.jsonl"
    writer = JournalWriter(path, create=True)
    writer.write(b'{"t":"resume","at":"x"}\n')
    writer.sync()
    path.unlink()
    writer.write(b'{"t":"resume","at":"y"}\n')
    with pytest.raises(JournalLost, match="deleted"):
        writer.sync()
    path.write_bytes(b"someone else's file\n")  # a new file under the same name is not ours
    with pytest.raises(JournalLost, match=r"replaced|deleted"):
        writer.sync()
    writer.close()


@pytest.mark.allow_log_warnings(r"backfill: the journal failed")
def test_run_stops_when_its_journal_is_deleted(make_sandbox, paths) -> None:
    box = make_sandbox(invoices=60, seed=6)

    async def scenario() -> Any:
        async with halo_client(box, client_cls=GatedClient) as client:
            assert isinstance(client, GatedClient)
            client.entered, client.gate = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(
                run_backfill(client, backfill_settings(), paths, options=RunOptions(5, 1))
            )
            await client.entered.wait()  # the first batch's intents are on disk, its POST waits
            [journal] = list(paths.journals_dir.glob("*.jsonl"))
            journal.unlink()
            client.gate.set()
            return await task

    result = asyncio.run(scenario())
    assert result.outcome is RunOutcome.LOCAL_ERROR
    assert "deleted" in result.detail
    # Only the batch whose intents were durable before the deletion reached Halo.
    assert len(box.stats.invoices_written) == 5


# --- Halo's data on the terminal -----------------------------------------------------------------


def test_cli_output_neutralises_control_and_bidi_characters(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=30, seed=8)
    with box.lock:
        for invoice in box.invoices.values():
            invoice["client_name"] = EVIL
    args = backfill_args(box, "--dry-run")
    env = cli_env(tmp_path, box.config.client_secret)
    human = run_cli(args, env)
    assert human.returncode == 0, human.stderr
    assert "Acme\\x1b]0;pwned\\x07\\x1b[2J Ltd \\u202egnp.exe" in human.stdout
    _assert_clean(human.stdout + human.stderr)

    as_json = run_cli([*args, "--json"], env)
    _assert_clean(as_json.stdout)
    sample = json.loads(as_json.stdout)["sample"]
    assert sample and all(row["client"] == EVIL for row in sample)  # the data itself is intact


def _assert_clean(text: str) -> None:
    bad = [ch for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) < 0xA0]
    bad += [ch for ch in text if ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]
    bad += [ch for ch in text if ch in "\u200e\u200f"]
    assert not bad, bad
