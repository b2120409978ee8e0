"""core.backfill.tenant: codes learned from amounts, proven paid only on evidence, sound JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.backfill.selection import closed_reason
from halo_paylink.core.backfill.tenant import (
    AmountState,
    FactId,
    StatusLearner,
    TenantFacts,
    amount_state,
)
from halo_paylink.core.backfill.witnesses import ChangeWitness
from halo_paylink.halo import facts
from halo_paylink.halo.models import Invoice

ENOUGH = facts.MIN_STATUS_SAMPLES


def invoice(
    invoice_id: int = 1, *, code: object = 0, total: float = 100.0, paid: float = 0.0, **raw: Any
) -> Invoice:
    data = {
        "id": invoice_id,
        "posted": True,
        "voided": False,
        "total": total,
        "amountpaid": paid,
        "amountdue": total - paid,
        "paymentstatus": code,
    }
    data.update(raw)
    return Invoice(invoice_id, data)


def test_amounts_decide_the_state_not_the_code() -> None:
    assert amount_state(invoice(code=0, paid=100)) is AmountState.PAID
    assert amount_state(invoice(code=2, paid=40)) is AmountState.PART_PAID
    assert amount_state(invoice(code=2, paid=0)) is AmountState.UNPAID
    # No evidence: drafts, voided, credits, zero totals, templates, odd records.
    assert amount_state(invoice(posted=False)) is None
    assert amount_state(invoice(voided=True)) is None
    assert amount_state(invoice(total=-5, paid=0)) is None
    assert amount_state(invoice(total=0)) is None
    assert amount_state(invoice(-3)) is None
    assert amount_state(invoice(amountdue="NaN")) is None


def test_a_code_is_proven_paid_only_with_enough_fully_paid_samples() -> None:
    learner = StatusLearner()
    learner.observe_all(invoice(i, code=3, paid=100) for i in range(1, ENOUGH))
    found = TenantFacts()
    found.learn_codes(learner, "2026-12-01")
    assert found.proven_paid_codes() == frozenset()  # one sample short
    learner.observe(invoice(ENOUGH, code=3, paid=100))
    learner.observe_all(invoice(100 + i, code=0) for i in range(ENOUGH))
    found.learn_codes(learner, "2026-12-01")
    assert found.proven_paid_codes() == {3}
    assert found.codes[3].meaning == "paid" and found.codes[0].meaning == "unpaid"
    learner.observe(invoice(999, code=3, paid=10))  # one part-paid invoice with code 3
    found.learn_codes(learner, "2026-12-01")
    assert found.proven_paid_codes() == frozenset()
    assert found.codes[3].meaning == "mixed"


def test_a_contradiction_removes_the_proof_at_once() -> None:
    learner = StatusLearner()
    learner.observe_all(invoice(i, code=5, paid=100) for i in range(1, ENOUGH + 1))
    found = TenantFacts()
    found.learn_codes(learner, "2026-11-01")
    assert found.proven_paid_codes() == {5}
    later = StatusLearner()
    later.observe(invoice(4242, code=5, paid=0))
    assert found.check_codes(later) == {5}
    assert found.proven_paid_codes() == frozenset()
    assert TenantFacts.from_json(found.to_json()).contradicted == {5}


CODES = st.sampled_from([-1, 0, 3])
ROW = st.tuples(
    CODES,
    st.sampled_from([100.0, 50.0, 0.0, -20.0]),
    st.sampled_from([0.0, 10.0, 50.0, 100.0]),
    st.booleans(),
    st.booleans(),
)
#: A few kinds of invoice, each repeated: enough samples per code to reach the proof threshold.
INVOICES = st.builds(
    lambda kinds, repeat: kinds * repeat,
    st.lists(ROW, max_size=6),
    st.integers(1, 2 * facts.MIN_STATUS_SAMPLES),
)


def _invoices(rows: list[tuple[int, float, float, bool, bool]]) -> list[Invoice]:
    return [
        invoice(
            n + 1,
            code=code,
            total=total,
            paid=min(paid, max(total, 0)),
            posted=posted,
            voided=voided,
        )
        for n, (code, total, paid, posted, voided) in enumerate(rows)
    ]


@given(INVOICES)
def test_no_open_invoice_ever_carries_a_proven_paid_code(rows: list) -> None:
    invoices = _invoices(rows)
    learner = StatusLearner()
    learner.observe_all(invoices)
    found = TenantFacts()
    found.learn_codes(learner, "2026-12-01")
    proven = found.proven_paid_codes()
    seen = {i.raw["paymentstatus"] for i in invoices}
    assert proven <= seen
    for one in invoices:
        if closed_reason(one) is None:  # open: something is due
            assert one.raw["paymentstatus"] not in proven


@given(
    INVOICES,
    st.lists(st.sampled_from(list(FactId)), max_size=4),
    st.none() | st.integers(),
    st.sets(st.integers()),
    st.none() | st.text(min_size=1, max_size=40),
)
def test_the_json_round_trips(
    rows: list, fact_ids: list[FactId], top: int | None, evidence: set[int], link: str | None
) -> None:
    learner = StatusLearner()
    learner.observe_all(_invoices(rows))
    found = TenantFacts(
        last_full_scan="2026-12-01T10:00:00Z",
        last_complete_top_id=top,
        change_evidence=evidence,
        last_complete_link=link,
        last_complete_end="2026-12-01T11:00:00+00:00" if link else None,
        pay_button_target=link,
    )
    found.learn_codes(learner, "2026-12-01")
    for n, fact in enumerate(fact_ids):
        found.measure(fact, n % 2 == 0, on="2026-12-01", how="measured in a test")
    text = json.dumps(found.to_json())
    assert TenantFacts.from_json(json.loads(text)) == found


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_any_json_reads_without_raising(data: object) -> None:
    found = TenantFacts.from_json({"codes": data, "measured": data, "contradicted": data})
    assert isinstance(found, TenantFacts)
    assert TenantFacts.from_json(data) is not None


def test_learned_lines_say_measured_or_model() -> None:
    from halo_paylink.core.backfill.learned import learned_lines

    fresh = {line.topic: line for line in learned_lines(TenantFacts())}
    assert not any(line.measured for line in fresh.values())
    assert "Proven paid" not in fresh
    learner = StatusLearner()
    learner.observe_all(invoice(i, code=2, paid=100) for i in range(1, ENOUGH + 1))
    learner.observe(invoice(999, code=0))
    found = TenantFacts(last_full_scan="2026-11-30T08:00:00+00:00")
    found.learn_codes(learner, "2026-11-30")
    found.measure(FactId.SAVE_MOVES_LAST_SYNCED, True, on="2026-11-30", how="the pilot")
    lines = {line.topic: line for line in learned_lines(found)}
    assert lines["Payment status codes"].finding == f"paid: 2 ({ENOUGH}); unpaid: 0 (1)"
    assert lines["Proven paid"].finding == "status 2 left unread on long lists"
    assert lines["Saving a link pushes the invoice to the accounting tool"].finding == (
        "yes (last_synced moved)"
    )
    assert lines["Last full read"].finding == "2026-11-30" and lines["Last full read"].measured
    assert not lines["Largest page"].measured


SINCE = dt.date(2026, 11, 1)
#: a change must come after this to be evidence (the last run's end, and a day)
AFTER = dt.datetime(2026, 11, 3, 12, 0)
#: (invoice id, hours after SINCE's start of its last change, or None for no readable stamp)
NEEDING = st.lists(
    st.tuples(st.integers(1, 400), st.none() | st.integers(-24 * 30, 24 * 30)), max_size=30
)


def stamped(invoice_id: int, hours: int | None) -> Invoice:
    raw: dict[str, Any] = {"id": invoice_id}
    if hours is not None:
        moment = dt.datetime.combine(SINCE, dt.time()) + dt.timedelta(hours=hours)
        raw["last_modified"] = moment.isoformat()
    return Invoice.from_json(raw)


def moment(hours: int) -> dt.datetime:
    return dt.datetime.combine(SINCE, dt.time()) + dt.timedelta(hours=hours)


@given(NEEDING, st.lists(NEEDING, max_size=3), st.integers(0, 400), st.sampled_from([None, True]))
def test_one_invoice_a_changed_read_would_miss_measures_it_false_for_good(
    first: list, later: list[list], top: int, before: bool | None
) -> None:
    tenant = TenantFacts()
    if before is not None:
        tenant.measure(FactId.CHANGES_MOVE_LAST_MODIFIED, before, on="2026-10-01", how="earlier")
    missed_once = False
    evidence: set[int] = set()  # distinct invoices shown changed, since the last miss
    for needing in [first, *later]:
        witness = ChangeWitness(SINCE, AFTER, top)
        for invoice_id, hours in needing:
            witness.needs_link(stamped(invoice_id, hours))
        witness.record(tenant, on="2026-12-01")
        missed = any(hours is None or hours < 0 for _, hours in needing)
        missed_once = missed_once or missed
        found = {
            i for i, hours in needing if hours is not None and moment(hours) > AFTER and i <= top
        }
        evidence = set() if missed else evidence | found
        value = tenant.value(FactId.CHANGES_MOVE_LAST_MODIFIED)
        if missed_once:
            assert value is False
        elif before is None and len(evidence) >= facts.MIN_CHANGE_SAMPLES:
            assert value is True
        else:
            assert value is before


def test_new_invoices_and_changes_close_to_the_run_are_no_evidence() -> None:
    tenant = TenantFacts()
    witness = ChangeWitness(SINCE, AFTER, known_up_to=100)
    for invoice_id in range(101, 101 + 2 * facts.MIN_CHANGE_SAMPLES):  # new since the run
        witness.needs_link(stamped(invoice_id, 24 * 10))
    for invoice_id in range(1, 1 + 2 * facts.MIN_CHANGE_SAMPLES):  # changed by the run itself
        witness.needs_link(stamped(invoice_id, 24 * 2))
    witness.record(tenant, on="2026-12-01")
    assert FactId.CHANGES_MOVE_LAST_MODIFIED not in tenant.measured
    assert tenant.change_evidence == set()


def test_the_same_invoices_seen_again_are_counted_once() -> None:
    tenant = TenantFacts()
    for _ in range(3):
        witness = ChangeWitness(SINCE, AFTER, known_up_to=100)
        for invoice_id in range(1, facts.MIN_CHANGE_SAMPLES):
            witness.needs_link(stamped(invoice_id, 24 * 10))
        witness.record(tenant, on="2026-12-01")
    assert FactId.CHANGES_MOVE_LAST_MODIFIED not in tenant.measured
    assert len(tenant.change_evidence) == facts.MIN_CHANGE_SAMPLES - 1
