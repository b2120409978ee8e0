"""Page 1: what the assistant does, what the admin needs, and which profile to work on.

The saved profiles are read in the executor (`AppContext.blocking`), never on the GUI thread; the
page shows that it is reading meanwhile. When the file cannot be read, the banner says so and
offers to start fresh (the unreadable file is kept as a copy); until then Next stays disabled, so
no profile is opened that could not be saved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from halo_paylink.core.wizard import PageId
from halo_paylink.storage.profiles import ProfilesCorruptError, ProfileStore
from halo_paylink.ui.context import DEMO_PROFILE_NAME, AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.common import BannerMessage, FieldMessage, stacked, wrap_label

log = logging.getLogger(__name__)

READING = "Reading your saved profiles…"
SETTING_ASIDE = "Setting the unreadable profiles file aside…"
UNREADABLE = "Your saved profiles could not be read."
START_FRESH_HINT = (
    "Start fresh to create a new profile (the copy stays where it is), or fix or restore the "
    "file and open the assistant again."
)
BLOCKED_CORRUPT = (
    "Your saved profiles could not be read: choose Start fresh in the message above, or fix the "
    "file and open the assistant again."
)
BLOCKED_UNREADABLE = "Your saved profiles could not be read: choose Try again in the message above."


@dataclass(frozen=True)
class SavedProfiles:
    """What the page needs from the profiles file."""

    names: list[str]
    last_used: str | None


def read_saved(store: ProfileStore) -> SavedProfiles:
    """Read the profile names and the last used one. Blocking: runs in the executor."""
    return SavedProfiles(store.names(), store.last_used())


INTRO = (
    "<p>This assistant connects your HaloPSA to <b>Benji Pays</b> so that every open invoice "
    "carries a <b>Pay</b> link. It will:</p>"
    "<ol>"
    "<li>find your Halo instance and test an API application you create for it;</li>"
    "<li>tell you exactly which PDF and payment options to set in Benji Pays;</li>"
    "<li>build the Pay link for Halo's invoice email template;</li>"
    "<li>add the payment link to every open invoice (a dry run first, and Undo afterwards).</li>"
    "</ol>"
    "<p><b>You will need:</b> administrator access to Halo (to create an API application), "
    "and a Benji Pays account connected to your accounting system.</p>"
)


class WelcomePage(BasePage):
    """Create or pick a profile (a named connection: one Halo instance and its choices)."""

    page_id = PageId.WELCOME

    def __init__(
        self, context: AppContext, parent: QWidget | None = None, *, preferred: str | None = None
    ) -> None:
        super().__init__(context, parent)
        self.body.addWidget(wrap_label(INTRO, rich=True))

        box = QGroupBox("Profile")
        grid = QGridLayout(box)
        self.pick_radio = QRadioButton("Continue with a &saved profile:")
        self.new_radio = QRadioButton("Create a ne&w profile named:")
        self._group = QButtonGroup(self)
        self._group.addButton(self.pick_radio)
        self._group.addButton(self.new_radio)
        self.profile_combo = QComboBox()
        self.profile_combo.setAccessibleName("Saved profile")
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("New profile name")
        self.name_edit.setPlaceholderText("e.g. Acme IT")
        self.name_edit.setMaxLength(64)
        self.name_message = FieldMessage()
        grid.addWidget(self.pick_radio, 0, 0)
        grid.addWidget(self.profile_combo, 0, 1)
        grid.addWidget(self.new_radio, 1, 0)
        grid.addWidget(stacked(self.name_edit, self.name_message), 1, 1)
        self.fresh_message = FieldMessage()
        grid.addWidget(self.fresh_message, 2, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self.profile_box = box
        self.body.addWidget(box)
        self.note = wrap_label(
            "Profiles hold the Halo address, the client ID and your choices, never the client "
            "secret (that stays in the system keyring, or is asked for each time)."
        )
        self.body.addWidget(self.note)
        self.body.addStretch(1)

        self.pick_radio.toggled.connect(self._mode_changed)
        self.profile_combo.currentTextChanged.connect(self._picked)
        self.name_edit.textEdited.connect(self._name_edited)
        self.setTabOrder(self.pick_radio, self.profile_combo)
        self.setTabOrder(self.profile_combo, self.new_radio)
        self.setTabOrder(self.new_radio, self.name_edit)

        self._preferred = preferred
        self._corrupt: ProfilesCorruptError | None = None
        self._read()
        self._render()

    # -- the profiles file, off the GUI thread --------------------------------------------------
    def _read(self) -> None:
        self.set_error(None)
        self.set_busy(READING)
        self._handle = self.start(
            self.context.blocking(read_saved, self.context.profiles),
            name="read profiles",
            on_result=self._read_done,
            on_error=self._read_failed,
            on_finally=self._work_ended,
        )

    def _read_done(self, saved: SavedProfiles) -> None:
        s = self.state.welcome
        s.existing, s.store_problem, self._corrupt = saved.names, None, None
        wanted = self._preferred if self._preferred in s.existing else None
        if self.context.demo is not None:
            wanted = DEMO_PROFILE_NAME if DEMO_PROFILE_NAME in s.existing else None
            s.new_name = s.new_name or DEMO_PROFILE_NAME
        elif wanted is None and saved.last_used in s.existing:
            wanted = saved.last_used
        s.create_new = wanted is None
        s.chosen = wanted or (s.existing[0] if s.existing else None)

    def _read_failed(self, error: BaseException) -> None:
        log.warning("Could not read profiles: %s", error)
        s = self.state.welcome
        s.existing, s.chosen, s.create_new = [], None, True
        if isinstance(error, ProfilesCorruptError):
            self._corrupt = error
            s.store_problem = BLOCKED_CORRUPT
            self.set_error(
                BannerMessage(
                    UNREADABLE,
                    f"{error.detail} {START_FRESH_HINT}",
                    action=f"Start &fresh (your file is kept as {error.backup.name})",
                )
            )
        else:  # e.g. no permission to read it: nothing to set aside, reading again may work
            s.store_problem = BLOCKED_UNREADABLE
            self.set_error(BannerMessage(UNREADABLE, str(error), action="&Try again"))

    def banner_action(self) -> None:
        if self._handle is not None:
            return
        if self._corrupt is None:
            self._read()
            return
        self.set_busy(SETTING_ASIDE)
        self._handle = self.start(
            self.context.blocking(self.context.profiles.start_fresh),
            name="start fresh",
            on_result=self._started_fresh,
            on_error=self._start_fresh_failed,
            on_finally=self._work_ended,
        )

    def _started_fresh(self, backup: Path | None) -> None:
        if backup is not None:  # None: the file had become readable meanwhile; it is read again
            self.fresh_message.show_ok(
                f"Started fresh. Your old profiles file is kept at {backup}."
            )
        self._corrupt = None
        self._read()

    def _start_fresh_failed(self, error: BaseException) -> None:
        log.warning("Could not set the profiles file aside: %s", error)
        self.set_error(
            BannerMessage(
                "The unreadable profiles file could not be set aside.",
                f"{error} Try again, or fix or remove the file by hand and open the assistant "
                "again.",
                action="Start &fresh again",
            )
        )

    def _work_ended(self) -> None:
        if self._handle is not None and self._handle.running:
            return  # a new read started from the result callback owns the busy state now
        self._handle = None
        self.set_busy(None)
        self._render()
        focus = self.first_focus()
        if self.isVisible() and focus is not None:
            focus.setFocus()  # the box was disabled while reading, which dropped the focus

    def _render(self) -> None:
        s = self.state.welcome
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(s.existing)
        if s.chosen:
            self.profile_combo.setCurrentText(s.chosen)
        self.profile_combo.blockSignals(False)
        reading = self.busy_text() is not None
        self.profile_box.setEnabled(not reading)  # the choice may change once the file is read
        self.profile_combo.setPlaceholderText("Reading…" if reading else "")
        has_saved = bool(s.existing)
        self.pick_radio.setEnabled(has_saved)
        (self.new_radio if s.create_new else self.pick_radio).setChecked(True)
        self.profile_combo.setEnabled(not s.create_new)
        self.name_edit.setEnabled(s.create_new)
        if self.name_edit.text() != s.new_name:
            self.name_edit.setText(s.new_name)
        self.name_message.show_error(s.name_error if s.new_name.strip() else None)
        self.changed.emit()

    def _mode_changed(self) -> None:
        self.state.welcome.create_new = self.new_radio.isChecked()
        self._render()

    def _picked(self, name: str) -> None:
        self.state.welcome.chosen = name or None
        self.changed.emit()

    def _name_edited(self, text: str) -> None:
        self.state.welcome.new_name = text
        self.name_message.show_error(self.state.welcome.name_error if text.strip() else None)
        self.changed.emit()

    def first_focus(self) -> QWidget | None:
        return self.name_edit if self.state.welcome.create_new else self.profile_combo

    def unsaved_input(self) -> str | None:
        s = self.state.welcome
        name = s.new_name.strip()
        if self.context.demo is not None or not (s.create_new and name):
            return None
        return f"the new profile name '{name}' (the profile is made when you press Next)"

    def enter(self) -> None:
        self._render()

    def leave(self, forward: bool) -> None:
        s = self.state.welcome
        name = s.profile_name
        if not forward or name is None:
            return
        current = self.context.profile
        if current is not None and current.name == name:
            return  # coming back and going on again keeps everything typed so far
        self.context.open_profile(name, create=s.create_new)
        if s.create_new:
            s.existing = sorted({*s.existing, name}, key=str.casefold)
            s.create_new, s.chosen, s.new_name = False, name, ""
