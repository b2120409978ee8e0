"""core.backfill.census: a read narrowed by payment status only when the counts prove it safe."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halo_paylink.core.backfill.census import (
    Census,
    choose_scope,
    plan_scope,
    recheck,
    sample_code,
    take_census,
)
from halo_paylink.core.backfill.selection import closed_reason
from halo_paylink.core.backfill.tenant import StatusLearner, TenantFacts
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice, InvoicePage

pytestmark = pytest.mark.anyio


class FakeHalo:
    """Invoices behind `invoice_pages`, honouring (or ignoring) the status filter."""

    def __init__(self, invoices: list[Invoice], *, honours_status: bool = True) -> None:
        self.invoices = invoices
        self.honours_status = honours_status
        self.requests = 0

    async def invoice_pages(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = 100,
        start_page: int = 1,
    ) -> AsyncGenerator[InvoicePage, None]:
        rows = [i for i in self.invoices if self._matches(i, filters or {})]
        rows.sort(key=lambda i: -i.id)
        page_no = start_page
        while True:
            self.requests += 1
            chunk = rows[(page_no - 1) * page_size : page_no * page_size]
            yield InvoicePage(page_no, page_size, len(rows), tuple(chunk))
            if len(chunk) < page_size:
                return
            page_no += 1

    def _matches(self, invoice: Invoice, filters: Mapping[str, str]) -> bool:
        raw = invoice.raw
        if filters.get("postedonly") == "true" and not raw["posted"]:
            return False
        if filters.get("includecredits") == "false" and raw["total"] < 0:
            return False
        since = filters.get("start_date")
        changed = raw.get("last_modified", "2020-01-01")
        if filters.get("datesearch") == "last_modified" and since and changed < since:
            return False
        codes = filters.get("paymentstatuses")
        if codes and self.honours_status:
            return raw["paymentstatus"] in {int(c) for c in codes.split(",")}
        return True

    async def get_invoice(self, invoice_id: int) -> Invoice:
        raise NotImplementedError

    async def update_invoices(self, changes: Sequence[Mapping[str, Any]]) -> list[Any]:
        raise NotImplementedError

    async def validate_invoice_edit(self, invoice_id: int) -> None:
        raise NotImplementedError


def make(invoice_id: int, code: int, *, paid: bool, total: float = 100.0) -> Invoice:
    amount_paid = total if paid else 0.0
    return Invoice(
        invoice_id,
        {
            "id": invoice_id,
            "posted": True,
            "voided": False,
            "total": total,
            "amountpaid": amount_paid,
            "amountdue": total - amount_paid,
            "paymentstatus": code,
        },
    )


def old_tenant(paid: int = 300, unpaid: int = 30, part: int = 5) -> list[Invoice]:
    """Mostly paid (code 4), some unpaid (0, -1) and part-paid (2)."""
    rows = [make(n, 4, paid=True) for n in range(1, paid + 1)]
    rows += [make(paid + n, 0 if n % 2 else -1, paid=False) for n in range(1, unpaid + 1)]
    base = paid + unpaid
    rows += [
        Invoice(
            base + n, {**make(base + n, 2, paid=False).raw, "amountpaid": 40.0, "amountdue": 60.0}
        )
        for n in range(1, part + 1)
    ]
    return rows


async def test_an_old_tenant_is_read_without_its_paid_archive() -> None:
    halo = FakeHalo(old_tenant())
    census = await take_census(halo, facts.CANDIDATE_PAYMENT_STATUSES)
    assert census.adds_up and census.present() == {-1: 15, 0: 15, 2: 5, 4: 300}
    learner = StatusLearner()
    assert await sample_code(halo, 4, learner) == 100
    tenant = TenantFacts()
    tenant.learn_codes(learner, "2026-12-01")
    scope = plan_scope(census, tenant.proven_paid_codes(), since="2026-12-01")
    assert scope.read_codes == {-1, 0, 2} and scope.left_out == {4: 300}
    assert scope.filters["paymentstatuses"] == "-1,0,2"
    assert scope.changed is not None and scope.changed["paymentstatuses"] == "4"
    assert scope.changed["datesearch"] == "last_modified"
    assert scope.changed["start_date"] == "2026-12-01"
    assert "300 invoices with payment status 4 are left unread" in scope.reason
    assert plan_scope(census, tenant.proven_paid_codes()).read_codes is None  # no date: all
    assert halo.requests == len(facts.CANDIDATE_PAYMENT_STATUSES) + 1 + 1


async def test_a_build_that_ignores_the_status_filter_reads_everything() -> None:
    halo = FakeHalo(old_tenant(), honours_status=False)
    census = await take_census(halo, facts.CANDIDATE_PAYMENT_STATUSES)
    assert not census.honoured and not census.adds_up
    scope = plan_scope(census, frozenset({4}))
    assert scope.read_codes is None and "paymentstatuses" not in scope.filters
    assert "does not filter by payment status" in scope.reason


async def test_a_code_outside_the_candidates_means_reading_everything() -> None:
    halo = FakeHalo([*old_tenant(), make(9999, 17, paid=False)])
    census = await take_census(halo, facts.CANDIDATE_PAYMENT_STATUSES)
    assert not census.adds_up
    assert plan_scope(census, frozenset({4})).read_codes is None


def test_recheck_names_what_changed_under_the_run() -> None:
    before = Census(10, {0: 2, 4: 8}, 3)
    scope = plan_scope(before, frozenset({4}), since="2026-12-01")
    assert scope.read_codes == {0} and scope.left_out == {4: 8}
    assert recheck(scope, Census(10, {4: 8}, 2), rows_read=2) is None
    assert recheck(scope, Census(9, {4: 8}, 2), rows_read=2) is None  # one was deleted
    assert recheck(scope, Census(11, {4: 8}, 2), rows_read=2) == (
        "1 invoice appeared in the payment statuses read, after their part of the list was read"
    )
    assert recheck(scope, Census(10, {4: 7}, 2), rows_read=2) == (
        "invoices left payment status 4 during the run"
    )
    assert "did not say" in (recheck(scope, Census(None, {}, 1), rows_read=2) or "")
    whole = plan_scope(before, frozenset())
    assert recheck(whole, Census(99, {}, 1), rows_read=2) is None  # its own audit decides


async def test_choose_scope_reads_a_short_list_whole_for_one_request() -> None:
    halo = FakeHalo(old_tenant(paid=300))
    scope = await choose_scope(halo, TenantFacts(), today="2026-12-01")
    assert scope.read_codes is None and halo.requests == 1


async def test_choose_scope_samples_the_archive_and_leaves_it_unread() -> None:
    halo = FakeHalo(old_tenant(paid=facts.NARROW_FROM_INVOICES + 500, unpaid=500))
    tenant = TenantFacts()
    scope = await choose_scope(halo, tenant, today="2026-12-01")
    assert scope.read_codes == {-1, 0, 2} and set(scope.left_out) == {4}
    # one count, one per candidate code, one sample page per large code without proof, and
    # one to see that Halo filters by change date
    assert halo.requests == 1 + len(facts.CANDIDATE_PAYMENT_STATUSES) + 3 + 1
    assert tenant.codes[4].paid == 100 and tenant.codes[0].unpaid == 100
    halo.requests = 0
    again = await choose_scope(halo, tenant, today="2026-12-02")  # proof remembered
    assert again.left_out == scope.left_out
    assert halo.requests == 1 + len(facts.CANDIDATE_PAYMENT_STATUSES) + 1 + 1  # spot check


async def test_a_spot_check_that_finds_something_due_reads_the_code_again() -> None:
    invoices = old_tenant(paid=facts.NARROW_FROM_INVOICES + 500, unpaid=500)
    halo = FakeHalo(invoices)
    tenant = TenantFacts()
    assert (await choose_scope(halo, tenant, today="2026-12-01")).left_out.keys() == {4}
    newest_paid = max(i.id for i in invoices if i.raw["paymentstatus"] == 4)
    invoices[:] = [
        make(i.id, 4, paid=False) if i.id == newest_paid else i for i in invoices
    ]  # code 4 now also means "something due"
    scope = await choose_scope(halo, tenant, today="2026-12-02")
    assert scope.read_codes is None or 4 in scope.read_codes
    assert tenant.contradicted == {4} and 4 not in tenant.proven_paid_codes()


POPULATION = st.lists(
    st.tuples(st.sampled_from([-1, 0, 1, 2, 3, 4, 9]), st.booleans(), st.booleans()),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(POPULATION, st.booleans())
async def test_no_open_invoice_is_ever_left_unread(rows: list, honours: bool) -> None:
    """Proven codes from full knowledge (every invoice with the code paid): whatever the mix,
    the planned read covers every open invoice."""
    invoices = [
        make(n + 1, code, paid=paid, total=100.0 if posted else -10.0)
        for n, (code, paid, posted) in enumerate(rows)
    ]
    halo = FakeHalo(invoices, honours_status=honours)
    census = await take_census(halo, facts.CANDIDATE_PAYMENT_STATUSES)
    all_paid = {
        code
        for code in {i.raw["paymentstatus"] for i in invoices}
        if all(closed_reason(i) is not None for i in invoices if i.raw["paymentstatus"] == code)
    }
    scope = plan_scope(census, frozenset(all_paid), since="2026-12-01")
    read = {i.id for i in invoices if halo._matches(i, scope.filters)}
    if scope.changed is not None:
        read |= {i.id for i in invoices if halo._matches(i, scope.changed)}
    for one in invoices:
        if closed_reason(one) is None:
            assert one.id in read
