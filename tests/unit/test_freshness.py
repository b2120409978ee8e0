"""The staleness rule: a result shows only while the inputs that produced it are unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.presenters.freshness import Confirmation, Stamped, current

inputs = st.tuples(st.text(max_size=8), st.text(max_size=8), st.none() | st.text(max_size=4))


@given(inputs, inputs)
def test_a_stamped_result_holds_exactly_for_its_inputs(made_for: object, now: object) -> None:
    stamped = Stamped("result", made_for)
    assert stamped.fresh_for(now) == (made_for == now)
    assert current(stamped, now) == ("result" if made_for == now else None)


def test_nothing_stamped_is_never_current() -> None:
    assert current(None, ("a",)) is None


@given(inputs, inputs)
def test_a_confirmation_is_forgotten_once_its_inputs_change(first: object, other: object) -> None:
    confirmation = Confirmation()
    confirmation.confirm("✓ copied", first)
    assert confirmation.text_for(first) == "✓ copied"
    if other != first:
        assert confirmation.text_for(other) is None
        # changing back does not bring an old confirmation back
        assert confirmation.text_for(first) is None


def test_clear_forgets() -> None:
    confirmation = Confirmation()
    confirmation.confirm("done", 1)
    confirmation.clear()
    assert confirmation.text_for(1) is None
