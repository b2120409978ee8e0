"""core.backfill.batching: batches grow toward Halo's ceiling while quick, shrink on trouble."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.backfill.batching import BatchSizer
from halo_paylink.errors import ErrorKind, HaloError
from halo_paylink.halo import facts


def test_adaptive_starts_at_the_first_batch_size_and_doubles_to_the_ceiling() -> None:
    sizer = BatchSizer.for_options(None)
    assert sizer.size == facts.UPDATE_BATCH_SIZE and not sizer.fixed
    sizes = []
    for _ in range(5):
        sizes.append(sizer.size)
        sizer.answered(sizer.size, 0.1, retried=False)
    assert sizes == [50, 100, 100, 100, 100]


def test_a_slow_answer_holds_the_size_and_a_short_batch_never_grows_it() -> None:
    sizer = BatchSizer.for_options(None)
    sizer.answered(50, facts.QUICK_WRITE_SECONDS + 0.1, retried=False)
    assert sizer.size == 50
    sizer.answered(49, 0.1, retried=False)  # the last, partial batch of a run says nothing
    assert sizer.size == 50


def test_retries_timeouts_and_server_errors_halve_the_size_other_failures_do_not() -> None:
    sizer = BatchSizer.for_options(None)
    sizer.answered(50, 0.1, retried=True)
    assert sizer.size == 25
    sizer.failed(HaloError(ErrorKind.TIMEOUT, "slow"))
    assert sizer.size == 12
    sizer.failed(HaloError(ErrorKind.SERVER_ERROR, "oops", status=503))
    sizer.failed(HaloError(ErrorKind.NETWORK, "reset"))
    assert sizer.size == 3
    sizer.failed(HaloError(ErrorKind.FORBIDDEN, "no", status=403))
    sizer.failed(HaloError(ErrorKind.RATE_LIMITED, "wait", status=429))
    assert sizer.size == 3


def test_a_fixed_size_never_moves() -> None:
    sizer = BatchSizer.for_options(10)
    assert sizer.fixed
    sizer.answered(10, 0.0, retried=False)
    sizer.failed(HaloError(ErrorKind.TIMEOUT, "slow"))
    assert sizer.size == 10
    with pytest.raises(ValueError):
        BatchSizer.for_options(0)


EVENTS = st.one_of(
    st.tuples(st.just("answered"), st.integers(0, 200), st.floats(0, 30), st.booleans()),
    st.tuples(st.just("failed"), st.sampled_from(list(ErrorKind)[:24])),
)


@given(fixed=st.none() | st.integers(1, 150), events=st.lists(EVENTS, max_size=60))
def test_the_size_stays_within_its_bounds(fixed: int | None, events: list[tuple]) -> None:
    sizer = BatchSizer.for_options(fixed)
    for event in events:
        before = sizer.size
        if event[0] == "answered":
            _, items, seconds, retried = event
            sizer.answered(items, seconds, retried=retried)
            grew = not retried and items >= before and seconds <= sizer.quick_seconds
        else:
            sizer.failed(HaloError(event[1], "x"))
            grew = False
        assert 1 <= sizer.floor <= sizer.size <= sizer.ceiling <= max(100, fixed or 0)
        if fixed is not None:
            assert sizer.size == fixed
        elif sizer.size > before:
            assert grew and sizer.size == min(100, before * 2)
