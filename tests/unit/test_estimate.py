"""A run's cost before it starts: requests from the pages, the batches and sign-in, and the
least time a request budget allows for them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.backfill.estimate import batches_for, estimate
from halo_paylink.core.backfill.tenant import CodeTally, FactId, TenantFacts


def test_the_old_tenant_under_a_hosted_budget() -> None:
    found = estimate(20_000, to_write=560, max_requests=300, window_seconds=300)
    assert (found.pages, found.batches, found.sign_in) == (201, 7, 1)  # 50, then 100s
    assert found.requests == 209 and found.seconds == 0
    assert "209 requests" in found.text() and "fits within the budget" in found.text()
    slow = estimate(20_000, to_write=560, max_requests=60, window_seconds=60)
    assert slow.seconds == 180 and "takes at least 3 min" in slow.text()


def test_the_tenant_facts_give_the_page_cap_and_the_writes() -> None:
    tenant = TenantFacts(codes={0: CodeTally(unpaid=40), 2: CodeTally(paid=900)})
    tenant.codes_on = "2026-11-01"
    tenant.measure(FactId.PAGE_CAP, 50, on="2026-11-01", how="asked for 100, got 50")
    found = estimate(1_000, tenant=tenant)
    assert found.pages == 21 and found.to_write == 40 and found.batches == 1
    assert "last full read, 2026-11-01" in found.text()
    unknown = estimate(1_000)
    assert unknown.to_write == 1_000 and "at most" in unknown.text()
    assert "No request budget" in unknown.text()


def test_no_count_is_said() -> None:
    assert "not known" in estimate(None).text()


@given(st.integers(min_value=0, max_value=100_000))
def test_batches_cover_every_write_at_most_one_hundred_each(to_write: int) -> None:
    n = batches_for(to_write)
    assert n * 100 >= to_write and (n == 0) == (to_write == 0)
    assert n <= to_write // 100 + 2


@given(
    st.integers(min_value=0, max_value=50_000),
    st.integers(min_value=1, max_value=400),
    st.floats(min_value=1, max_value=900),
)
def test_the_budget_time_is_the_windows_past_the_first(
    invoices: int, budget: int, window: float
) -> None:
    found = estimate(invoices, to_write=0, max_requests=budget, window_seconds=window)
    seconds = found.seconds
    assert seconds is not None and seconds >= 0
    assert (seconds == 0) == (found.requests <= budget)


def test_a_read_that_may_leave_pages_unread_is_an_upper_bound() -> None:
    tenant = TenantFacts(codes={0: CodeTally(unpaid=40), 2: CodeTally(paid=100)})
    tenant.codes_on = "2026-11-01"
    narrowed = estimate(20_000, tenant=tenant)
    assert "needs at most" in narrowed.text()
    assert "payment status 2, proven paid here, are left unread" in narrowed.text()
    assert "needs about" in estimate(1_000, tenant=tenant).text()  # too short to narrow
    tenant.measure(FactId.CHANGES_MOVE_LAST_MODIFIED, False, on="2026-11-02", how="a miss")
    assert "needs about" in estimate(20_000, tenant=tenant).text()  # no narrowing any more
    tenant.measure(FactId.CHANGES_MOVE_LAST_MODIFIED, True, on="2026-11-02", how="shown")
    tenant.last_complete_run = dt.datetime.now(dt.UTC).isoformat()
    tenant.last_full_scan = tenant.last_complete_run
    assert "only the invoices changed since" in estimate(500, tenant=tenant).text()
    assert "needs about" in estimate(500, tenant=tenant, dry_run=True).text()  # never for a plan
    tenant.measure(FactId.FILTER_DATESEARCH, False, on="2026-11-02", how="ignored")
    assert "needs about" in estimate(500, tenant=tenant).text()  # this Halo cannot


def test_the_estimate_follows_what_this_run_was_told() -> None:
    from halo_paylink.core.backfill.model import RunOptions

    tenant = TenantFacts(codes={0: CodeTally(unpaid=40), 2: CodeTally(paid=100)})
    tenant.codes_on = "2026-11-01"
    tenant.last_full_scan = dt.datetime.now(dt.UTC).isoformat()
    assert "needs at most" in estimate(20_000, tenant=tenant).text()
    for told in (RunOptions(full_read=True), RunOptions(narrow=False)):
        assert "needs about" in estimate(20_000, tenant=tenant, options=told).text(), told
    tenant.last_complete_run = tenant.last_full_scan
    asked = estimate(500, tenant=tenant, options=RunOptions(incremental=True)).text()
    assert "only the invoices changed since" in asked
    tenant.runs_since_full = 10  # the safety net: this run reads everything
    assert "needs about" in estimate(20_000, tenant=tenant).text()
