"""The window's start where there is no usable display, and demo mode's folders: a display that
is set but dead is explained like a missing one (not Qt's abort), the explanation names commands
that work as printed, and a demo session leaves nothing in the user's real folders."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from halo_paylink.storage.paths import program_command
from halo_paylink.ui.app import display_reachable, missing_display


def _env_without_display(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "HALO_PAYLINK_HOME")
    }
    env["HALO_PAYLINK_HOME"] = str(tmp_path / "app-home")
    return env


def _free_display_number() -> int:
    """A display number no X server listens on here (neither socket nor TCP port)."""
    for number in range(4711, 4800):
        if not display_reachable("x11", f":{number}", {}) and not display_reachable(
            "x11", f"127.0.0.1:{number}", {}, timeout=0.2
        ):
            return number
    raise AssertionError("every display number from 4711 to 4799 answers")


def test_a_set_but_dead_display_is_explained_like_a_missing_one(tmp_path) -> None:
    number = _free_display_number()
    env = _env_without_display(tmp_path)
    env["DISPLAY"] = f":{number}"
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "needs a desktop session" in done.stderr
    assert f"DISPLAY=:{number} is set, but no display server answers there" in done.stderr
    assert "qt.qpa" not in done.stderr and "could not connect" not in done.stderr
    # Every command the explanation names works as printed.
    commands = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert len(commands) == 4
    for command in commands:
        ran = subprocess.run(
            shlex.split(command), env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, (command, ran.stderr)


def test_a_listening_display_counts_and_a_silent_one_does_not(tmp_path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "X7"))
        server.listen()
        assert display_reachable("x11", ":7", {}, x11_dir=tmp_path)
        assert display_reachable("x11", "unix:7.0", {}, x11_dir=tmp_path)
        assert not display_reachable("x11", ":8", {}, x11_dir=tmp_path)
        assert not display_reachable("x11", "not a display", {}, x11_dir=tmp_path)
        runtime = {"XDG_RUNTIME_DIR": str(tmp_path)}
        assert display_reachable("wayland", "X7", runtime)
        assert not display_reachable("wayland", "wayland-9", runtime)
    problem = missing_display({"DISPLAY": ":8", "WAYLAND_DISPLAY": "w"}, "linux", program="hp")
    assert problem is not None
    assert "WAYLAND_DISPLAY=w and DISPLAY=:8 are set, but no display server answers" in problem


def test_the_program_is_named_as_it_can_be_started(tmp_path) -> None:
    python = str(tmp_path / "venv" / "bin" / "python")
    assert (
        program_command(which=lambda name: None, executable=python) == f"{python} -m halo_paylink"
    )
    beside = str(tmp_path / "venv" / "bin" / "halo-paylink")
    assert program_command(which=lambda name: beside, executable=python) == "halo-paylink"
    elsewhere = "/usr/local/bin/halo-paylink"
    assert program_command(which=lambda name: elsewhere, executable=python).endswith(
        " -m halo_paylink"
    )
    spaced = str(tmp_path / "my venv" / "python")
    assert shlex.split(program_command(which=lambda n: None, executable=spaced))[0] == spaced


def test_demo_mode_leaves_nothing_in_the_users_folders(tmp_path) -> None:
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = _env_without_display(tmp_path)
    del env["HALO_PAYLINK_HOME"]
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        TMPDIR=str(temp),
        QT_QPA_PLATFORM="offscreen",
        HALO_PAYLINK_SMOKE_TEST="1",  # closes the window once its first page has painted
    )
    done = subprocess.run(
        [sys.executable, "-m", "halo_paylink", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "first page painted after" in done.stdout
    written = [p for p in home.rglob("*") if "halo" in p.name.lower() or p.name == "window.ini"]
    assert written == []
    assert list(temp.iterdir()) == []  # the demo's own folder is gone too
