"""The "old tenant" mix over real HTTP: years of history, nearly all of it long paid, dated in id
order, with a few recurring-invoice templates among the invoices."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import Counter

from halo_paylink.sandbox import Sandbox, SandboxConfig, StatusCodes, seed_invoices
from halo_paylink.sandbox.seed import (
    CATEGORY_WEIGHTS,
    OLD_MIX_TEMPLATES,
    OPEN_NEEDING_LINK,
    PAID,
)

from ..sandbox_http import authorised_client
from ..sandbox_process import TIMEOUT, read_line, start
from .listing_http import SAFE, count, rows, signed_in


def test_an_old_tenant_is_mostly_long_paid() -> None:
    codes = StatusCodes(unpaid=3, unsynced=-1, part=0, paid=7)
    with Sandbox(SandboxConfig(invoices=5000, seed=2, mix="old", status_codes=codes)) as box:
        shares = Counter(box.categories.values())
        assert 0.94 <= shares[PAID] / 5000 <= 0.98
        assert {name for name, _ in CATEGORY_WEIGHTS} <= set(shares)  # every kind is there
        open_ids = box.open_invoice_ids()
        assert 40 <= len(open_ids) <= 250
        assert sum(shares[c] for c in OPEN_NEEDING_LINK) <= len(open_ids)
        with authorised_client(box) as http:
            safe = count(http, **SAFE)
            assert count(http, paymentstatuses=7, **SAFE) / safe >= 0.95
            assert count(http) == 5000 + OLD_MIX_TEMPLATES


def test_an_old_tenant_spans_years_in_id_order() -> None:
    with (
        Sandbox(SandboxConfig(invoices=1200, seed=5, mix="old")) as box,
        authorised_client(box) as http,
    ):
        listed = [row for row in rows(http) if row["id"] > 0]
    dates = [dt.date.fromisoformat(row["invoice_date"][:10]) for row in listed]
    assert dates == sorted(dates)
    assert (dates[-1] - dates[0]).days >= 7 * 365
    # Paid long ago: the open invoices are spread over the years too, not only recent.
    open_dates = [d for d, row in zip(dates, listed, strict=True) if row["amountdue"] > 0]
    assert min(open_dates) < dates[0] + dt.timedelta(days=4 * 365)


def test_an_old_tenant_lists_recurring_templates() -> None:
    with Sandbox(SandboxConfig(invoices=300, seed=1, mix="old", templates=2)) as box:
        with authorised_client(box) as http:
            templates = [row for row in rows(http) if row["id"] <= 0]
        assert sorted(row["id"] for row in templates) == list(range(-OLD_MIX_TEMPLATES - 2, 0))
        assert all(row["posted"] and row["amountdue"] > 0 for row in templates)  # they look open
        assert not {row["id"] for row in templates} & box.open_invoice_ids()


def test_the_default_mix_is_the_seed_it_always_was() -> None:
    assert seed_invoices(300, 5).invoices == seed_invoices(300, 5, mix="default").invoices
    old = seed_invoices(300, 5, mix="old")
    assert old.invoices == seed_invoices(300, 5, mix="old").invoices
    assert old.invoices != seed_invoices(300, 5).invoices


def test_the_command_seeds_an_old_tenant(processes: list[subprocess.Popen[str]]) -> None:
    proc = start("--json", "--invoices", "400", "--mix", "old")
    processes.append(proc)
    info = json.loads(read_line(proc))
    with signed_in(info["url"], info["client_id"], info["client_secret"]) as http:
        listed = rows(http)
    assert len(listed) == 400 + OLD_MIX_TEMPLATES
    assert sum(1 for row in listed if row["id"] < 0) == OLD_MIX_TEMPLATES
    paid = sum(1 for row in listed if row["id"] > 0 and row["amountdue"] == 0)
    assert paid / 400 >= 0.9
    proc.terminate()
    proc.communicate(timeout=TIMEOUT)
