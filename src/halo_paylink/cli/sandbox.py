"""`halo-paylink sandbox`: run the built-in Halo sandbox in the foreground.

Prints the web address and the demo credentials in plain language, or with `--json` exactly one
JSON line `{"url", "tenant", "client_id", "client_secret"}` once the server is listening (for
scripts and tests), then serves until Ctrl-C or SIGTERM, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from halo_paylink.sandbox.state import (
    MIXES,
    PAGE_SIZE_ECHOES,
    UPDATE_ANSWERS,
    StatusCodes,
    parse_rate_limit,
    parse_status_codes,
)

if TYPE_CHECKING:
    from halo_paylink.sandbox import Sandbox
    from halo_paylink.sandbox.benji import BenjiSandbox


def _rate_limit(text: str) -> tuple[int, float] | None:
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _status_codes(text: str) -> StatusCodes:
    try:
        return parse_status_codes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0-65535)")
    return value


def add_parser(subparsers: Any) -> None:
    """Register the `sandbox` subcommand on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Halo look-alike with demo data (for trying the assistant out)",
        description="Run the built-in Halo sandbox on 127.0.0.1 until Ctrl-C. It answers like "
        "HaloPSA's API, with seeded demo invoices and demo credentials.",
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default: any free port)"
    )
    parser.add_argument(
        "--invoices", type=_non_negative, default=120, help="how many demo invoices (default 120)"
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="REQ/SECONDS",
        help="limit each client like hosted Halo, e.g. 300/300 (or 'hosted'); default: unlimited",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed for the demo data (same seed, same data)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON line with the address and credentials, nothing else",
    )
    parser.add_argument(
        "--no-retry-after",
        action="store_true",
        help="answer rate-limited requests without a Retry-After header",
    )
    parser.add_argument(
        "--forbid-editing-posted",
        action="store_true",
        help="refuse edits to posted invoices, like Halo's 'do not allow editing posted invoices'",
    )
    parser.add_argument(
        "--templates",
        type=_non_negative,
        default=0,
        metavar="N",
        help="also list N recurring-invoice templates (negative ids that look open; default 0)",
    )
    parser.add_argument(
        "--odd-records",
        action="store_true",
        help="also list one record of each odd shape a backfill must skip as unreadable "
        "(a text id, NaN amounts, custom fields that are not a list, missing fields, ...)",
    )
    parser.add_argument(
        "--page-cap",
        type=_positive,
        default=100,
        metavar="ROWS",
        help="serve at most ROWS invoices per page, silently, like Halo (default 100)",
    )
    parser.add_argument(
        "--page-size-echo",
        choices=PAGE_SIZE_ECHOES,
        default="served",
        help="what a page's page_size says: the rows really served (default), the size asked "
        "for (Halo's echo is not evidence), or nothing",
    )
    parser.add_argument(
        "--status-codes",
        type=_status_codes,
        default=StatusCodes(),
        metavar="MEANING=CODE,...",
        help="the paymentstatus code of each meaning, e.g. paid=7,unpaid=3 (meanings: unpaid, "
        f"unsynced, part, paid; default {StatusCodes().spec()})",
    )
    parser.add_argument(
        "--mix",
        choices=MIXES,
        default="default",
        help="the demo invoices: a busy tenant, most invoices open (default), or an old one "
        "with eight years of history, about 96%% long paid, and a few recurring templates",
    )
    parser.add_argument(
        "--ignore-new-filters",
        action="store_true",
        help="behave like an older Halo build that silently ignores datesearch, start_date, "
        "end_date, paymentstatuses, postedonly and includecredits (more rows come back)",
    )
    parser.add_argument(
        "--stamp-changes",
        action="store_true",
        help="move an invoice's last_modified on every change, and its last_synced when a save "
        "changes a synced invoice (as if each save is pushed to the accounting tool)",
    )
    parser.add_argument(
        "--update-answer",
        choices=UPDATE_ANSWERS,
        default="list",
        help="how a batch POST /Invoice is answered: every invoice as saved (list, default) or "
        "one object, the last invoice saved (one), as Halo's 2026 API description gives it; the "
        "assistant then reads the rest back",
    )
    add_benji_arguments(parser)


def add_benji_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the Benji Pays sandbox served beside the Halo sandbox (`--benji`)."""
    group = parser.add_argument_group(
        "Benji Pays sandbox",
        "With --benji, a Benji Pays look-alike is served too: its settings, and invoice look-up "
        "by the accounting tool's number (never Halo's own), with a demo API key.",
    )
    group.add_argument("--benji", action="store_true", help="also serve the Benji Pays sandbox")
    group.add_argument(
        "--benji-429-every",
        type=_non_negative,
        default=0,
        metavar="N",
        help="answer every N-th Benji request 429 (default 0: never)",
    )
    group.add_argument(
        "--benji-custom-domain", metavar="HOST", help="the merchant's own portal domain"
    )
    group.add_argument(
        "--benji-generic-allowed",
        choices=("yes", "no"),
        default="yes",
        help="whether Benji allows payment when the invoice is not found (default yes: the "
        "check fails, as on a fresh Benji account)",
    )


def _benji_sandbox(args: argparse.Namespace, halo: Sandbox) -> BenjiSandbox | None:
    """The Benji sandbox `--benji` asks for (not started), knowing `halo`'s invoices; or None."""
    if not getattr(args, "benji", False):
        return None
    from halo_paylink.sandbox.benji import BenjiSandbox, BenjiSandboxConfig

    return BenjiSandbox.for_halo(
        halo,
        BenjiSandboxConfig(
            custom_domain=args.benji_custom_domain or None,
            disable_generic_payment_link=args.benji_generic_allowed == "no",
            rate_limit_every=args.benji_429_every,
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Start the sandbox, announce it, and serve until interrupted (main thread only)."""
    from halo_paylink.sandbox import Sandbox, SandboxConfig
    from halo_paylink.sandbox.seed import FIRST_INVOICE_ID
    from halo_paylink.sandbox.state import DEMO_PROBLEM_APPLICATIONS

    config = SandboxConfig(
        invoices=args.invoices,
        seed=args.seed,
        rate_limit=args.rate_limit,
        send_retry_after=not args.no_retry_after,
        port=args.port,
        forbid_editing_posted=args.forbid_editing_posted,
        templates=args.templates,
        odd_records=args.odd_records,
        max_page_size=args.page_cap,
        page_size_echo=args.page_size_echo,
        status_codes=args.status_codes,
        mix=args.mix,
        honours_new_filters=not args.ignore_new_filters,
        stamp_changes=args.stamp_changes,
        update_answer=args.update_answer,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    sandbox = Sandbox(config)
    benji = _benji_sandbox(args, sandbox)
    try:
        try:
            url = sandbox.start()
        except OSError as exc:
            print(
                f"Could not start the sandbox on port {args.port}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        benji_url = benji.start() if benji is not None else ""
        if args.json:
            line = {
                "url": url,
                "tenant": config.tenant,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
            }
            if benji is not None:
                line |= {"benji_url": benji_url, "benji_api_key": benji.config.api_key}
            print(json.dumps(line), flush=True)
        else:
            posted = "refused" if config.forbid_editing_posted else "allowed"
            limit = (
                f"{config.rate_limit[0]} requests per {config.rate_limit[1]:g} seconds per client"
                if config.rate_limit
                else "none"
            )
            print(
                f"The Halo sandbox is running at {url}\n"
                f"It has {config.invoices} demo invoices (seed {config.seed}"
                + (", an old tenant's mix" if config.mix == "old" else "")
                + ")"
                + (f", {config.templates} recurring templates" if config.templates else "")
                + (", and odd records to skip" if config.odd_records else "")
                + f"; at most {config.max_page_size} per page.\n"
                f"Payment status codes: {config.status_codes.spec()}"
                + ("; the newer list filters are ignored" if args.ignore_new_filters else "")
                + ".\n"
                "\n"
                "Connect the assistant to it with these demo credentials:\n"
                f"  Halo address:   {url}\n"
                f"  Tenant:         {config.tenant}\n"
                f"  Client ID:      {config.client_id}\n"
                f"  Client secret:  {config.client_secret}\n"
                "\n"
                "To see the checks fail, these applications each have one problem:\n"
                + "".join(
                    f"  {demo.client_id} / {demo.client_secret}: {demo.problem}\n"
                    for demo in DEMO_PROBLEM_APPLICATIONS
                )
                + "\n"
                "A customer sees an invoice (and its Pay button, once linked) at\n"
                f"  {sandbox.portal_url(FIRST_INVOICE_ID)} (any invoice id)\n"
                "\n"
                f"Rate limit: {limit}. "
                f"Editing posted invoices: {posted}.\n"
                + (
                    f"\nThe Benji Pays sandbox is running at {benji_url}\n"
                    f"  Benji API key:  {benji.config.api_key}\n"
                    if benji is not None
                    else ""
                )
                + "Press Ctrl-C to stop.",
                flush=True,
            )
        # Waiting in short slices keeps the main thread responsive to signals everywhere.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if benji is not None:
            benji.stop()
        sandbox.stop()
        signal.signal(signal.SIGTERM, previous)
    if not args.json:
        print("The Halo sandbox has stopped.", flush=True)
    return 0
