"""Facts measured on the tenant over real HTTP, each remembered with its date and how it was
learned: the server's real page cap, which list filters it honours (from the rows that come
back), whether the dry run's validate-only check saved nothing (a re-read), and the dry run's
account of exactly what it sent."""

from __future__ import annotations

import json

import pytest

from halo_paylink.core.backfill import RunOptions, plan_backfill, run_backfill
from halo_paylink.core.backfill.tenant import FactId, load_tenant_facts, tenant_file
from halo_paylink.sandbox import Sandbox
from halo_paylink.storage.paths import AppPaths

from .cli_helpers import cli_env, run_cli
from .conftest import halo_client, settings

pytestmark = pytest.mark.anyio

FILTERS = (
    FactId.FILTER_POSTEDONLY,
    FactId.FILTER_INCLUDECREDITS,
    FactId.FILTER_DATESEARCH,
)


async def test_the_page_cap_is_measured_and_shown_by_check(
    make_sandbox, paths: AppPaths, tmp_path
) -> None:
    box: Sandbox = make_sandbox(invoices=300, max_page_size=50)
    async with halo_client(box) as client:
        await run_backfill(client, settings(), paths)
    found = load_tenant_facts(tenant_file(paths, box.url)).measured[FactId.PAGE_CAP]
    assert found.value == 50 and found.how == "asked for 100 rows a page, Halo sent 50"
    env = cli_env(paths.config_dir.parent, box.config.client_secret)
    check = run_cli(["check", "--url", box.url, "--client-id", box.config.client_id, "--json"], env)
    learned = {line["topic"]: line for line in json.loads(check.stdout)["learned"]}
    assert learned["Largest page"]["finding"] == "50" and learned["Largest page"]["measured"]
    assert learned["Largest page"]["source"].startswith("measured ")


@pytest.mark.parametrize("honours", [True, False])
async def test_which_filters_this_build_honours(
    make_sandbox, paths: AppPaths, honours: bool
) -> None:
    box: Sandbox = make_sandbox(invoices=300, stamp_changes=True, honours_new_filters=honours)
    options = RunOptions(incremental=True)
    async with halo_client(box) as client:
        await run_backfill(client, settings(), paths, options=options)
        box.add_invoices(3)
        await run_backfill(client, settings(), paths, options=options)  # sends the filters
    tenant = load_tenant_facts(tenant_file(paths, box.url))
    if honours:  # the incremental read sent them, and no row they keep out came back
        for fact in FILTERS:
            assert tenant.value(fact) is True, (fact, tenant.measured.get(fact))
        assert "none that it keeps out" in tenant.measured[FactId.FILTER_POSTEDONLY].how
    else:  # the change-date check showed it ignored; nothing is claimed honoured
        assert tenant.value(FactId.FILTER_DATESEARCH) is False
        assert all(tenant.value(fact) is not True for fact in FILTERS)


async def test_rows_a_filter_keeps_out_show_it_ignored(make_sandbox, paths: AppPaths) -> None:
    """A build that ignores the filters, once remembered as honouring the change date (say,
    before a downgrade): the incremental read's rows show every filter ignored, and the run
    still reads every invoice it must."""
    from halo_paylink.core.backfill.tenant import save_tenant_facts

    box: Sandbox = make_sandbox(invoices=300, stamp_changes=True, honours_new_filters=False)
    options = RunOptions(incremental=True)
    async with halo_client(box) as client:
        await run_backfill(client, settings(), paths, options=options)
        path = tenant_file(paths, box.url)
        tenant = load_tenant_facts(path)
        tenant.measure(FactId.FILTER_DATESEARCH, True, on="2026-01-01", how="an older check")
        save_tenant_facts(path, tenant)
        new = box.add_invoices(3)
        second = await run_backfill(client, settings(), paths, options=options)
    assert second.counts.written == len(new)
    tenant = load_tenant_facts(path)
    for fact in FILTERS:
        assert tenant.value(fact) is False, (fact, tenant.measured.get(fact))
    assert "came back although" in tenant.measured[FactId.FILTER_POSTEDONLY].how


async def test_the_dry_run_says_what_it_sent_and_rereads_the_check(
    make_sandbox, paths: AppPaths
) -> None:
    box: Sandbox = make_sandbox(invoices=60)
    async with halo_client(box) as client:
        plan = await plan_backfill(client, settings(), paths=paths)
    assert "sent one validate-only edit of invoice" in plan.sent
    assert plan.sent.endswith("read again afterwards, it was unchanged.")
    assert box.stats.validate_only == 1 and box.post_counts() == {}
    found = load_tenant_facts(tenant_file(paths, box.url)).measured
    assert found[FactId.VALIDATE_ONLY_SAVES_NOTHING].value is True
    assert (
        "read before and after a validate-only edit"
        in found[FactId.VALIDATE_ONLY_SAVES_NOTHING].how
    )
    summary = json.loads(plan.report.json.read_text()) if plan.report else {}
    assert summary["sent"] == plan.sent
