"""Page 1: what the assistant does, what the admin needs, and which profile to work on."""

from __future__ import annotations

import logging

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
from halo_paylink.ui.context import DEMO_PROFILE_NAME, AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.widgets.common import BannerMessage, FieldMessage, stacked, wrap_label

log = logging.getLogger(__name__)

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
        self.new_radio = QRadioButton("Create a &new profile named:")
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
        grid.setColumnStretch(1, 1)
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

        self._load(preferred)
        self._render()

    def _load(self, preferred: str | None) -> None:
        s = self.state.welcome
        try:
            s.existing = self.context.profiles.names()
            last = self.context.profiles.last_used()
        except Exception as error:  # a corrupt file is reported, the page still works
            log.warning("Could not read profiles: %s", error)
            s.existing, last = [], None
            self.set_error(BannerMessage("Your saved profiles could not be read.", str(error)))
        wanted = preferred if preferred in s.existing else None
        if self.context.demo is not None:
            wanted = DEMO_PROFILE_NAME if DEMO_PROFILE_NAME in s.existing else None
            s.new_name = s.new_name or DEMO_PROFILE_NAME
        elif wanted is None and last in s.existing:
            wanted = last
        s.create_new = wanted is None
        s.chosen = wanted or (s.existing[0] if s.existing else None)

    def _render(self) -> None:
        s = self.state.welcome
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(s.existing)
        if s.chosen:
            self.profile_combo.setCurrentText(s.chosen)
        self.profile_combo.blockSignals(False)
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
