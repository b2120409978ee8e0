"""The API application page's logic, without widgets: which Test results still hold, the summary
line, and what the page says about where the secret is kept.

The Test checklist belongs to the Halo (address, tenant, CA file), the client ID and the secret
it ran with (`ApplicationState.tested_for`). When any of them changes, on this page or on an
earlier one, the rows are for another set of inputs: `drop_stale` forgets them, so the page never
shows passes (or failures) for an old tenant. One thread (the GUI thread, or a test's).
"""

from __future__ import annotations

from halo_paylink.core.presenters.field_note import FieldNote
from halo_paylink.core.presenters.numbers import plural
from halo_paylink.core.wizard import CheckRow, CheckRowState, WizardState
from halo_paylink.storage.secrets import StoreStatus

NOT_TESTED = (
    "Click Test to check the address, the credentials and both permissions. Nothing in Halo is "
    "changed."
)
TESTING = "Testing…"
CHECKING_KEYRING = "Checking the system keyring…"
#: The backend name of a store that keeps the secret in this process only (demo mode, tests).
MEMORY_BACKEND = "memory"


class ApplicationPresenter:
    """Owns what the API application page shows of `state.application` (no Qt, no I/O)."""

    def __init__(self, state: WizardState) -> None:
        self.state = state

    @property
    def _app_fresh(self) -> bool:
        app = self.state.application
        return app.tested_for == app.fingerprint(self.state.connect.key())

    def stale(self) -> bool:
        """Whether the rows shown belong to other inputs than those entered now."""
        app = self.state.application
        return bool(app.rows) and not app.testing and not self._app_fresh

    def drop_stale(self) -> bool:
        """Forget Test results that no longer hold; True when any were dropped."""
        if not self.stale():
            return False
        app = self.state.application
        app.rows, app.tested_for, app.agent_name = [], None, None
        return True

    def rows(self) -> list[CheckRow]:
        """The rows to show: the ones for the inputs entered now (or the test running)."""
        self.drop_stale()
        return list(self.state.application.rows)

    def summary(self) -> str:
        app = self.state.application
        rows = self.rows()
        if app.testing:
            return TESTING
        if not rows:
            return NOT_TESTED
        if app.all_passed(self.state.connect.key()):
            who = f" (the application logs in as {app.agent_name})" if app.agent_name else ""
            return f"✓ All checks passed{who}. Click Next."
        failed = sum(1 for r in rows if r.state is CheckRowState.FAIL)
        skipped = sum(1 for r in rows if r.state is CheckRowState.SKIPPED)
        verb = "was" if skipped == 1 else "were"
        tail = f" ({plural(skipped, 'check')} after it {verb} skipped)" if skipped else ""
        return (
            f"✗ {plural(failed, 'check')} failed{tail}. Fix "
            f"{'it' if failed == 1 else 'them'} in Halo as described, then Test again."
        )

    # -- where the secret is kept ----------------------------------------------------------------
    @staticmethod
    def offers_remember(status: StoreStatus | None) -> bool:
        """Whether "Remember the secret in the system keyring" means anything here: not while a
        store that only keeps it in memory (demo mode) stands in for the keyring."""
        return status is None or status.backend_name != MEMORY_BACKEND

    def store_note(self, status: StoreStatus | None) -> FieldNote:
        """The line under the keyring choice, true for the store in use and the choice made."""
        app = self.state.application
        if status is None:
            return FieldNote.note(CHECKING_KEYRING)
        if not status.secure:
            return FieldNote.note(f"The secret can't be remembered here. {status.reason}")
        if status.backend_name == MEMORY_BACKEND:
            return FieldNote.note(f"The secret is kept in memory: {status.location}.")
        if app.remember:
            return FieldNote.note(
                f"Stored in {status.location} (service 'halo-paylink', this profile's name)."
            )
        return FieldNote.note("Not stored: you'll be asked for it each time.")
