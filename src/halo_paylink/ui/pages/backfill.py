"""Page 6: dry run, then add payment links to every open invoice, with progress, cancel, resume,
undo and the report.

The engine is `core.backfill` (async, on the GUI's qasync loop). Its progress callback runs on
the GUI thread, at most ~10 times a second, so updating widgets there never stalls the window.
Cancel is cooperative (`CancelToken`): the run stops after the batch in flight, journaled, and can
be resumed. Back is disabled while anything runs; closing the window asks first (see the shell).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from halo_paylink.core.numbers import format_count
from halo_paylink.core.presenters.backfill import (
    BackfillPresenter,
    BackfillView,
    Job,
    Problem,
    run_job,
)
from halo_paylink.core.wizard import BackfillPhase, PageId
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.benji_numbers import BenjiNumbersBox
from halo_paylink.ui.widgets.common import BannerMessage, open_folder, std_icon, wrap_label
from halo_paylink.ui.widgets.pilot_panel import PilotPanel
from halo_paylink.ui.widgets.question import ask

if TYPE_CHECKING:
    from halo_paylink.core.backfill import CancelToken, Progress, RunInfo, RunOptions, RunResult

INTRO = (
    "First a <b>dry run</b> reads every invoice and shows what would change, without writing "
    "anything. Then <b>add the payment links</b>: only open invoices (posted, not voided, with "
    "something due) get one, and an invoice that already holds a different link is left alone. "
    "You can cancel at any time and resume later, and undo a finished run."
)

#: What "Read every invoice this time" does, for its tooltip.
FULL_READ_TIP = (
    "Normally a run may leave out what this Halo has shown it need not read: on a long list, "
    "the payment statuses proven paid; after a completed run, the invoices unchanged since. "
    "Tick this to read every posted invoice instead: it costs more requests, relearns what "
    "each payment status means, and names anything an earlier narrower read took for granted."
)

#: Lines kept in the live log.
LOG_LINES = 500


class BackfillPage(BasePage):
    """The dry run, the commit step, and everything around a run.

    The flow and everything shown are `BackfillPresenter`'s; this page builds the widgets, runs
    the presenter's jobs as tasks it owns, forwards clicks and results, and renders its view.
    """

    page_id = PageId.BACKFILL

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.presenter = BackfillPresenter(self.state, log=self.log_line)
        self._handle: TaskHandle[RunResult] | None = None
        self._cancel: CancelToken | None = None  # of the running job
        self._shown_changes: tuple[tuple[str, str, str, str], ...] = ()
        #: The question open before a bulk change (object name "confirmJob"), if any.
        self.question: QMessageBox | None = None
        #: Tuning for every job started here; None = the engine's defaults.
        self.run_options: RunOptions | None = None

        self.body.addWidget(wrap_label(INTRO, rich=True))
        self.pilot_panel = PilotPanel(self)
        self.body.addWidget(self.pilot_panel)

        self.resume_box = QGroupBox("An earlier run was interrupted")
        resume_layout = QHBoxLayout(self.resume_box)
        self.resume_label = wrap_label()
        resume_layout.addWidget(self.resume_label, 1)
        self.resume_button = QPushButton("&Resume it")
        self.resume_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_MediaPlay))
        resume_layout.addWidget(self.resume_button)
        self.resume_box.hide()
        self.body.addWidget(self.resume_box)

        actions = QHBoxLayout()
        self.plan_button = QPushButton("&Dry run")
        self.plan_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_FileDialogContentsView))
        self.commit_button = QPushButton("&Add payment links")
        self.commit_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_DialogApplyButton))
        self.cancel_button = QPushButton("Sto&p")
        self.cancel_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_MediaStop))
        self.cancel_button.setAccessibleName("Cancel the run")
        self.undo_button = QPushButton("&Undo this run")
        self.undo_button.setIcon(std_icon(self, QStyle.StandardPixmap.SP_ArrowBack))
        for button in (self.plan_button, self.commit_button, self.cancel_button, self.undo_button):
            button.setAutoDefault(False)
            actions.addWidget(button)
        actions.addStretch(1)
        self.body.addLayout(actions)
        self.full_read_box = QCheckBox("Read e&very invoice this time (slower)")
        self.full_read_box.setToolTip(FULL_READ_TIP)
        self.body.addWidget(self.full_read_box)

        self.status_label = wrap_label()
        self.status_label.setAccessibleName("Backfill status")
        self.body.addWidget(self.status_label)
        self.estimate_label = wrap_label()  # what a run will cost (core.backfill.estimate)
        self.estimate_label.setAccessibleName("What a run will cost")
        self.estimate_label.hide()
        self.body.addWidget(self.estimate_label)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Backfill progress")
        self.progress.setFormat("%v / %m")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        progress_row.addWidget(self.progress, 1)
        self.rate_label = QLabel()
        self.rate_label.setAccessibleName("Rate and time left")
        progress_row.addWidget(self.rate_label)
        self.body.addLayout(progress_row)

        self.counts_label = wrap_label(rich=True, selectable=True)
        self.counts_label.setAccessibleName("Dry run counts")
        self.body.addWidget(self.counts_label)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Invoice", "Client", "Current link", "New link"])
        self.table.setAccessibleName("First changes")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(150)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.body.addWidget(self.table)

        self.warnings_label = wrap_label()
        self.body.addWidget(self.warnings_label)

        self.benji_numbers = BenjiNumbersBox(context, self)  # Benji's number check (optional)
        self.body.addWidget(self.benji_numbers)

        log_label = QLabel("&Log:")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setAccessibleName("Backfill log")
        self.log.setMinimumHeight(90)
        log_label.setBuddy(self.log)
        self.body.addWidget(log_label)
        self.body.addWidget(self.log)

        report_row = QHBoxLayout()
        self.report_label = wrap_label(selectable=True)
        report_row.addWidget(self.report_label, 1)
        self.open_folder_button = QPushButton("Open report &folder")
        self.save_csv_button = QPushButton("&Save CSV as…")
        for button in (self.open_folder_button, self.save_csv_button):
            button.setAutoDefault(False)
            report_row.addWidget(button)
        self.body.addLayout(report_row)
        self.learned_label = wrap_label()  # what earlier runs measured on this Halo, last
        self.learned_label.setAccessibleName("What we learned about your Halo")
        self.learned_label.hide()
        self.body.addWidget(self.learned_label)

        self.plan_button.clicked.connect(self.start_plan)
        self.commit_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.undo_button.clicked.connect(self.undo)
        self.open_folder_button.clicked.connect(self.open_report_folder)
        self.save_csv_button.clicked.connect(self.save_csv)
        self.benji_numbers.changed.connect(self._render)
        self.full_read_box.toggled.connect(lambda _: self._show_estimate())  # it costs more

    def log_line(self, text: str) -> None:
        from datetime import datetime

        self.log.appendPlainText(f"{datetime.now():%H:%M:%S}  {text}")

    # -- actions --------------------------------------------------------------------------------
    def start_plan(self) -> None:
        """Dry run: read and classify every invoice; nothing is written to Halo."""
        self._start(Job.PLAN)

    def start_run(self) -> None:
        """The commit step: write the link to every invoice the dry run selected (once a pilot
        on this Halo is confirmed; asks first)."""
        if not self.pilot_panel.allows_bulk():
            self.pilot_panel.point_out()
            return
        if self.benji_numbers.blocks_commit:  # Benji knows too few of the numbers: confirm first
            return
        self._confirm_then_start(Job.RUN)

    def resume(self) -> None:
        self._start(Job.RESUME)

    def undo(self) -> None:
        """Remove the links the run saved (asks first, with the count and the Halo)."""
        self._confirm_then_start(Job.UNDO)

    def _confirm_then_start(self, job: Job) -> None:
        if self.question is not None:
            return
        question = self.presenter.confirmation(job)
        if question is None:
            self._start(job)  # changes nothing in bulk (or cannot start: the presenter says no)
            return

        def answered() -> None:
            self.question = None

        def accepted() -> None:
            answered()
            self._start(job)

        self.question = ask(
            self, question, name="confirmJob", on_accept=accepted, on_reject=answered
        )

    def _start(self, job: Job) -> None:
        from halo_paylink.core.backfill import CancelToken

        request = self.presenter.request(job)
        if request is None:
            return
        self._cancel = CancelToken()
        profile = self.context.profile
        coro = run_job(
            request,
            self.context.halo_client(),
            self.context.paths,
            link=self.state.link,
            link_field=profile.link.link_field if profile is not None else None,
            profile=profile.name if profile is not None else None,
            on_progress=self._progress,
            cancel=self._cancel,
            options=self._options(),
        )
        self.presenter.started(request)
        if job is Job.PLAN:
            self.benji_numbers.dry_run_started()
        self._handle = self.start(
            coro,
            name=job.value,
            on_result=self._finished,
            on_error=self.presenter.failed,
            on_cancelled=self.presenter.cancelled,
            on_finally=self._ended,
        )
        self._render()

    def cancel(self) -> None:
        """Ask the running job to stop after the batch in flight (clean, resumable)."""
        if self._cancel is None or not self.presenter.cancel():
            return
        self._cancel.cancel()
        self._render()

    # -- results --------------------------------------------------------------------------------
    def _progress(self, progress: Progress) -> None:
        """Engine progress (GUI thread, throttled by the engine to ~10 per second)."""
        view = self.presenter.progress(progress)
        if self.progress.maximum() != view.maximum:
            self.progress.setRange(0, view.maximum)
        self.progress.setValue(view.value)
        self.rate_label.setText(view.rate)
        self.status_label.setText(view.status)

    def _finished(self, result: RunResult) -> None:
        job = self.presenter.job
        self.presenter.finished(result)
        if job is Job.PLAN:
            self.benji_numbers.dry_run_finished(result)
        if job is not None and job.saves_profile:
            self.context.save_profile()

    def _ended(self) -> None:
        self._handle = None
        self._cancel = None
        look = self.presenter.ended()
        self._render()
        self._show_estimate()  # a dry run tells how many invoices the run will write
        self._show_learned()  # and every run may have learned something about this Halo
        if look:
            self._find_resumable()

    # -- report ---------------------------------------------------------------------------------
    def open_report_folder(self) -> None:
        csv = self.presenter.report_csv
        if csv is not None:
            open_folder(self, csv.parent)

    def ask_save_path(self, suggested: str) -> str | None:
        """Ask where to save the CSV (tests replace this)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the report", str(Path.home() / suggested), "CSV files (*.csv)"
        )
        return path or None

    def save_csv(self) -> None:
        source = self.presenter.report_csv
        if source is None:
            return
        target = self.ask_save_path(source.name)
        if not target:
            return

        def saved(_: object) -> None:
            self.presenter.report_saved(target)

        def failed(error: BaseException) -> None:
            self.presenter.report_not_saved(error)
            self._render()

        self.start(
            self.context.blocking(shutil.copyfile, source, target),
            name="save report",
            on_result=saved,
            on_error=failed,
        )

    # -- resumable runs -------------------------------------------------------------------------
    def _find_resumable(self) -> None:
        from halo_paylink.core.backfill import latest_resumable

        self.start(
            self.context.blocking(latest_resumable, self.context.paths),
            name="find resumable run",
            on_result=self._resumable_found,
        )

    def _resumable_found(self, info: RunInfo | None) -> None:
        self.presenter.resumable_found(info)
        self._render()

    # -- rendering ------------------------------------------------------------------------------
    def _options(self) -> RunOptions | None:
        """The tuning for the job about to start: `run_options`, and a full read when asked."""
        if not self.full_read_box.isChecked():
            return self.run_options
        from dataclasses import replace

        from halo_paylink.core.backfill import RunOptions

        return replace(self.run_options or RunOptions(), full_read=True)

    def _render(self) -> None:
        view = self.presenter.view()
        self.full_read_box.setEnabled(not view.busy)
        self.plan_button.setEnabled(view.plan_enabled)
        self.plan_button.setText(view.plan_text)
        self.commit_button.setEnabled(view.commit_enabled and not self.benji_numbers.blocks_commit)
        self.commit_button.setText(view.commit_text)
        self.cancel_button.setEnabled(view.cancel_enabled)
        self.undo_button.setEnabled(view.undo_enabled)
        self.resume_box.setVisible(view.resume_visible)
        if view.resume_visible:
            self.resume_label.setText(view.resume_text)
        if view.counts:
            items = "".join(
                f"<li>{c.label}: <b>{format_count(c.count)}</b></li>" for c in view.counts
            )
            self.counts_label.setText(f"<ul>{items}</ul>")
        else:
            self.counts_label.setText("")
        self.counts_label.setVisible(bool(view.counts))
        if view.status is not None:
            self.status_label.setText(view.status)
        if view.clear_rate:
            self.rate_label.setText("")
        self._show_changes(view)
        self.warnings_label.setText(view.warnings)
        self.report_label.setText(view.report)
        self.open_folder_button.setEnabled(view.open_folder_enabled)
        self.save_csv_button.setEnabled(view.save_csv_enabled)
        self._show_problem(view.problem)
        self.set_busy(view.busy)
        self.changed.emit()

    def _show_changes(self, view: BackfillView) -> None:
        if view.changes == self._shown_changes:
            return
        self._shown_changes = view.changes
        self.table.setRowCount(len(view.changes))
        for r, row in enumerate(view.changes):
            for c, value in enumerate(row):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)

    def _show_problem(self, problem: Problem | None) -> None:
        if problem is None:
            self.set_error(None)
        elif problem.error is not None:
            self.set_failure(problem.error)
        else:
            self.set_error(BannerMessage(problem.headline, problem.detail))

    def first_focus(self) -> QWidget | None:
        return self.commit_button if self.presenter.view().commit_enabled else self.plan_button

    def enter(self) -> None:
        self._render()
        self.pilot_panel.enter()
        self._show_estimate()
        self._show_learned()
        if self.presenter.entered():
            self._find_resumable()

    def _show_estimate(self) -> None:
        """Say, before a run, how many requests it needs and how long the budget makes it take
        (one request; a failure leaves the line out: the run names it itself)."""
        from halo_paylink.core.presenters.pilot import estimate_for

        endpoints, b = self.state.connect.endpoints, self.state.backfill
        if b.phase in (BackfillPhase.FINISHED, BackfillPhase.UNDONE):  # no run ahead to cost
            self.estimate_label.hide()
            return
        if endpoints is None:
            return
        planned = b.to_change if b.phase is BackfillPhase.PLANNED else None
        client = self.context.halo_client()
        coro = estimate_for(
            client, self.context.paths, endpoints.web_url, to_write=planned, options=self._options()
        )

        def shown(text: str) -> None:
            self.estimate_label.setText(text)
            self.estimate_label.setVisible(bool(text))

        self.start(coro, name="estimate", on_result=shown, on_error=lambda _: shown(""))

    def _show_learned(self) -> None:
        """Show what earlier runs measured on this Halo (the tenant's facts, read off the GUI
        thread); an unreadable file leaves the section out."""
        from halo_paylink.core.presenters.pilot import learned_summary

        endpoints = self.state.connect.endpoints
        if endpoints is None:
            return
        coro = self.context.blocking(learned_summary, self.context.paths, endpoints.web_url)

        def shown(text: str) -> None:
            self.learned_label.setText(text)
            self.learned_label.setVisible(bool(text))

        self.start(coro, name="learned", on_result=shown, on_error=lambda _: shown(""))

    async def stop(self) -> None:
        """Window closing: cancel cleanly (journaled, resumable) and wait for the run to end."""
        handle = self._handle
        if handle is None:
            return
        self.cancel()
        await handle.wait()
