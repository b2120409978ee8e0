"""The API application page's presenter: results never older than their inputs, plain words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.core.presenters.application import NOT_TESTED, ApplicationPresenter
from halo_paylink.core.wizard import CheckRow, CheckRowState, WizardState
from halo_paylink.storage.secrets import StoreStatus

PASS, FAIL, SKIP = CheckRowState.PASS, CheckRowState.FAIL, CheckRowState.SKIPPED


def after_test(states: list[CheckRowState]) -> tuple[WizardState, ApplicationPresenter]:
    state = WizardState()
    state.connect.address, state.connect.tenant = "https://acme.halopsa.com", "acme"
    app = state.application
    app.client_id, app.secret = "client", "secret-1"
    app.rows = [CheckRow(f"k{i}", f"Check {i}", s) for i, s in enumerate(states)]
    app.tested_for = app.fingerprint(state.connect.key())
    return state, ApplicationPresenter(state)


def test_results_for_the_inputs_entered_now_are_shown() -> None:
    _, p = after_test([PASS] * 5)
    assert not p.stale()
    assert len(p.rows()) == 5
    assert p.summary().startswith("✓ All checks passed")


@given(
    field=st.sampled_from(["address", "tenant", "ca_file", "client_id", "secret"]),
    value=st.text(min_size=1, max_size=12),
)
def test_any_changed_input_drops_the_results(field: str, value: str) -> None:
    state, p = after_test([PASS] * 5)
    if field in ("address", "tenant", "ca_file"):
        before = state.connect.key()
        setattr(state.connect, field, (getattr(state.connect, field) or "") + value)
        changed = state.connect.key() != before
    else:
        before_value = getattr(state.application, field)
        setattr(state.application, field, before_value + value)
        changed = state.application.fingerprint(state.connect.key()) != state.application.tested_for
    assert p.stale() is changed
    if changed:
        assert p.rows() == []
        assert p.summary() == NOT_TESTED
        assert state.application.tested_for is None and state.application.agent_name is None


def test_an_old_tenants_results_go_even_when_they_had_failed() -> None:
    state, p = after_test([PASS, FAIL, SKIP, SKIP])
    state.connect.tenant = "acme-right"
    assert p.drop_stale()
    assert state.application.rows == []
    assert not p.drop_stale()  # nothing left to drop


def test_a_test_running_keeps_its_rows() -> None:
    state, p = after_test([PASS])
    state.application.testing = True
    state.connect.tenant = "other"
    assert not p.stale()


def test_the_failure_summary_counts_in_words() -> None:
    _, p = after_test([PASS, FAIL, SKIP, SKIP])
    assert p.summary() == (
        "✗ 1 check failed (2 checks after it were skipped). Fix it in Halo as described, then "
        "Test again."
    )
    _, p = after_test([FAIL, FAIL])
    assert p.summary() == "✗ 2 checks failed. Fix them in Halo as described, then Test again."
    assert "(s)" not in p.summary()


MEMORY = StoreStatus(True, "memory", "this session only (asked each time, never saved)")
KEYRING = StoreStatus(True, "SecretService Keyring", "GNOME Keyring (Secret Service)")
NONE = StoreStatus(False, "fail Keyring", "", "No system keyring is available on this computer.")


def test_a_memory_store_offers_no_keyring_choice_and_says_memory() -> None:
    _, p = after_test([])
    assert not p.offers_remember(MEMORY)
    assert p.offers_remember(KEYRING) and p.offers_remember(None)
    assert "memory" in p.store_note(MEMORY).text
    assert "keyring" not in p.store_note(MEMORY).text.lower()


def test_the_keyring_note_follows_the_choice() -> None:
    state, p = after_test([])
    assert "GNOME Keyring" in p.store_note(KEYRING).text
    state.application.remember = False
    assert "asked for it each time" in p.store_note(KEYRING).text
    assert p.store_note(NONE).text.startswith("The secret can't be remembered here.")
