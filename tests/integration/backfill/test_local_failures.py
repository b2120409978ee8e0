"""Local failures are messages, found before the first write to Halo, never tracebacks.

Read-only folders are simulated by making the probe's `os.open` fail with EROFS/EACCES (the
tests may run as root, whom permissions do not stop) or by a file standing where a folder
belongs; a full disk by making `os.write` fail with ENOSPC, or `disk_usage` report no room.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from halo_paylink.cli import main
from halo_paylink.core.backfill import run_backfill
from halo_paylink.errors import ErrorCategory, ErrorKind, LocalError
from halo_paylink.storage import preflight
from halo_paylink.storage.paths import AppPaths

from .cli_helpers import backfill_args, cli_command, cli_env, run_cli
from .conftest import halo_client, settings, snapshot


def _fail_open_in(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    real_open = os.open

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == folder and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(preflight.os, "open", fake_open)


def _fail_writes(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def fake_write(fd: int, data: Any) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(preflight.os, "write", fake_write)


@pytest.mark.parametrize(
    ("folder", "code", "words"),
    [
        ("journals_dir", errno.EROFS, "read-only"),
        ("reports_dir", errno.EACCES, "may not write"),
        ("log_dir", errno.EPERM, "may not write"),
    ],
)
def test_unwritable_folder_is_named(monkeypatch, folder: str, code: int, words: str) -> None:
    paths = AppPaths.default()
    target = getattr(paths, folder)
    _fail_open_in(monkeypatch, target, code)
    with pytest.raises(LocalError) as info:
        preflight.check_folders(paths)
    assert info.value.kind is ErrorKind.FOLDER_NOT_WRITABLE
    assert info.value.kind.category is ErrorCategory.LOCAL
    assert str(target) in info.value.detail and words in info.value.detail
    assert "HALO_PAYLINK_HOME" in info.value.next_step


def test_full_disk_on_write_and_too_little_space(monkeypatch) -> None:
    paths = AppPaths.default()
    _fail_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(LocalError) as info:
        preflight.check_folders(paths)
    assert info.value.kind is ErrorKind.DISK_FULL
    assert str(paths.journals_dir) in info.value.detail
    assert "Free some space" in info.value.next_step
    monkeypatch.undo()

    usage = shutil.disk_usage(paths.state_dir.parent)
    monkeypatch.setattr(
        preflight.shutil, "disk_usage", lambda _p: usage._replace(free=5 * 1024 * 1024)
    )
    with pytest.raises(LocalError) as info:
        preflight.check_folders(paths)
    assert info.value.kind is ErrorKind.DISK_FULL
    assert "Only 5 MB are free" in info.value.detail
    # The probe files are gone whatever happened.
    assert not list(paths.journals_dir.glob(".write-check-*"))


def test_probe_leaves_nothing_behind() -> None:
    paths = AppPaths.default()
    preflight.check_folders(paths)
    for folder, _ in preflight.run_folders(paths):
        assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.anyio
async def test_run_refuses_before_the_first_write_to_halo(make_sandbox, monkeypatch) -> None:
    box = make_sandbox(invoices=30, seed=2)
    before = snapshot(box)
    paths = AppPaths.default()
    _fail_writes(monkeypatch, errno.ENOSPC)
    async with halo_client(box) as client:
        with pytest.raises(LocalError) as info:
            await run_backfill(client, settings(), paths)
    assert info.value.kind is ErrorKind.DISK_FULL
    assert snapshot(box) == before and not box.stats.invoices_written
    assert not paths.journals_dir.exists() or not list(paths.journals_dir.glob("*.jsonl"))


# --- the CLI, where the user meets these ---------------------------------------------------------


def test_cli_log_folder_that_cannot_be_created(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=5, seed=1)
    (tmp_path / "logs").write_text("a file where the log folder belongs")
    done = run_cli(backfill_args(box), cli_env(tmp_path, box.config.client_secret))
    assert done.returncode == 17
    assert "cannot be written" in done.stderr and str(tmp_path / "logs") in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not box.stats.invoices_written


def test_cli_state_folder_that_cannot_be_written(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=5, seed=1)
    before = snapshot(box)
    (tmp_path / "state").write_text("a file where the state folder belongs")
    done = run_cli(backfill_args(box, "--json"), cli_env(tmp_path, box.config.client_secret))
    assert done.returncode == 17
    assert '"kind": "folder_not_writable"' in done.stdout
    assert str(tmp_path / "state") in done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert snapshot(box) == before


def test_cli_full_disk_is_a_message(make_sandbox, monkeypatch, capsys) -> None:
    box = make_sandbox(invoices=5, seed=1)
    monkeypatch.setenv("HALO_CLIENT_SECRET", box.config.client_secret)
    _fail_writes(monkeypatch, errno.ENOSPC)
    code = main(backfill_args(box))
    out = capsys.readouterr()
    assert code == 17
    assert "The disk is (nearly) full." in out.err and "Free some space" in out.err
    assert "Traceback" not in out.err + out.out
    assert not box.stats.invoices_written


def test_cli_secret_that_is_not_utf8(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=5, seed=1)
    env = {k.encode(): v.encode() for k, v in cli_env(tmp_path).items()}
    env[b"HALO_CLIENT_SECRET"] = b"s3cr\xff\xfe-raw"
    done = subprocess.run(
        cli_command(*backfill_args(box)),
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2
    assert "The client secret is not valid text." in err
    assert "HALO_CLIENT_SECRET holds bytes that are not UTF-8 text" in err
    assert "Traceback" not in err and b"s3cr" not in done.stderr + done.stdout
    assert box.stats.requests == 0  # refused before anything was sent


def test_cli_unreadable_ca_file_is_a_local_problem(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=5, seed=1)
    missing = tmp_path / "company-ca.pem"
    done = run_cli(
        backfill_args(box, "--ca-file", str(missing)),
        cli_env(tmp_path, box.config.client_secret),
    )
    assert done.returncode == 1
    assert "The CA certificate file could not be used." in done.stderr
    assert str(missing) in done.stderr
    assert "certificate could not be verified" not in done.stderr
    assert "Traceback" not in done.stderr
