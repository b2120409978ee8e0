"""The `halo-paylink` command: the window by default, and the same operations without one.

Subcommands live one per module in this package, each with `add_parser(subparsers)` and
`run(args) -> int`; they are imported only when used, so `halo-paylink --help` stays fast and the
window's start-up imports nothing it does not need.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from halo_paylink import __version__
from halo_paylink.cli.terminal import make_output_safe

if TYPE_CHECKING:
    from halo_paylink.storage.paths import AppPaths

#: subcommand name -> module in this package that implements it
SUBCOMMANDS: dict[str, str] = {
    "check": "halo_paylink.cli.check",
    "sandbox": "halo_paylink.cli.sandbox",
    "backfill": "halo_paylink.cli.backfill",
    "runs": "halo_paylink.cli.backfill",
    "benji": "halo_paylink.cli.benji",
}


def build_parser(modules: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser, with subcommands from `modules` (all of them for `--help`)."""
    parser = argparse.ArgumentParser(
        prog="halo-paylink",
        description="Halo PayLink Assistant: connect HaloPSA to Benji Pays. "
        "Without a subcommand, opens the assistant window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the window on the built-in Halo sandbox with demo credentials",
    )
    parser.add_argument("--profile", help="open the window on this saved profile")
    if modules:
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
        for module_name in dict.fromkeys(modules):
            importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    make_output_safe()
    args_list = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in args_list if a in SUBCOMMANDS), None)
    if named is not None:
        modules: Sequence[str] = [SUBCOMMANDS[named]]
    elif any(a in ("-h", "--help") for a in args_list):
        modules = list(SUBCOMMANDS.values())
    else:
        modules = []
    args = build_parser(modules).parse_args(args_list)
    command = getattr(args, "command", None)
    if command:
        from halo_paylink.storage.logs import setup_logging, shutdown_logging
        from halo_paylink.storage.paths import AppPaths

        paths = AppPaths.default()
        try:
            setup_logging(paths)  # redacted, rotating, in the platformdirs log dir
        except OSError as exc:  # a read-only or full log folder: a message, not a traceback
            return _log_folder_failed(paths, exc, json_mode=bool(getattr(args, "json", False)))
        logging.getLogger(__name__).info("halo-paylink %s %s", __version__, command)
        try:
            module = importlib.import_module(SUBCOMMANDS[command])
            return int(module.run(args))
        finally:
            shutdown_logging()
    from halo_paylink.ui.app import run_app  # Qt is imported only when the window is wanted

    return run_app(demo=args.demo, profile=args.profile)


def _log_folder_failed(paths: AppPaths, exc: OSError, *, json_mode: bool) -> int:
    """Explain a log folder that cannot be written; the exit code of a local error."""
    from halo_paylink.cli.common import print_cli_error
    from halo_paylink.core.backfill.outcome import RunOutcome
    from halo_paylink.storage.preflight import folder_error

    print_cli_error(folder_error(paths.log_dir, exc, what="log"), json_mode)
    return RunOutcome.LOCAL_ERROR.exit_code
