"""Running the `halo-paylink` CLI as a real process, for the backfill tests that meet the user
where the user meets them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from halo_paylink.sandbox import DEMO_BENJI_TEMPLATE, Sandbox


def cli_env(home: Path, secret: str | None = None) -> dict[str, str]:
    """The environment for a CLI process: its own home, unbuffered output, and the client secret
    when one is given (an empty string sets it empty; None leaves it as inherited)."""
    env = dict(os.environ)
    env.update(HALO_PAYLINK_HOME=str(home), PYTHONUNBUFFERED="1")
    if secret is not None:
        env["HALO_CLIENT_SECRET"] = secret
    return env


def cli_command(*args: str) -> list[str]:
    """The command line for `halo-paylink ARGS` in this interpreter (`python -m halo_paylink`)."""
    return [sys.executable, "-m", "halo_paylink", *args]


def backfill_args(box: Sandbox, *extra: str) -> list[str]:
    """`backfill` arguments for a run against the sandbox with the demo link, then EXTRA."""
    return [
        "backfill",
        "--url",
        box.url,
        "--client-id",
        box.config.client_id,
        "--link",
        DEMO_BENJI_TEMPLATE,
        *extra,
    ]


def resume_args(box: Sandbox) -> list[str]:
    """`backfill --resume --json` arguments for the latest run against the sandbox."""
    return [
        "backfill",
        "--resume",
        "--json",
        "--url",
        box.url,
        "--client-id",
        box.config.client_id,
    ]


def run_cli(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs `halo-paylink ARGS` to the end with no stdin, its output captured as text."""
    return subprocess.run(
        cli_command(*args),
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def confirm_pilot(home: Path, box: Sandbox) -> None:
    """Record, for the CLI process whose home is `home`, that a pilot on `box` showed the Pay
    button: a later bulk run there starts without a pilot, as on a confirmed profile."""
    from halo_paylink.core.backfill.pilot import record_pay_button
    from halo_paylink.storage.paths import AppPaths

    paths = AppPaths.default({"HALO_PAYLINK_HOME": str(home)})
    record_pay_button(paths, box.url, True, invoice="a pilot invoice")
