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
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from halo_paylink.core.wizard import (
    CONFLICT_LABEL,
    REFUSED_LABEL,
    BackfillPhase,
    PageId,
    format_duration,
)
from halo_paylink.ui.context import AppContext
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.tasks import TaskHandle
from halo_paylink.ui.widgets.common import BannerMessage, std_icon, wrap_label

INTRO = (
    "First a <b>dry run</b> reads every invoice and shows what would change, without writing "
    "anything. Then <b>add the payment links</b>: only open invoices (posted, not voided, with "
    "something due) get one, and an invoice that already holds a different link is left alone. "
    "You can cancel at any time and resume later, and undo a finished run."
)

#: Rows of the first-changes table.
TABLE_ROWS = 50
#: Lines kept in the live log.
LOG_LINES = 500

_BUSY_TEXT = {
    BackfillPhase.PLANNING: "Dry run: reading invoices…",
    BackfillPhase.RUNNING: "Adding payment links…",
    BackfillPhase.CANCELLING: "Stopping after the invoices being saved now…",
    BackfillPhase.UNDOING: "Undoing the run…",
}


class BackfillPage(BasePage):
    """The dry run, the commit step, and everything around a run."""

    page_id = PageId.BACKFILL

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._handle: TaskHandle[Any] | None = None
        self._cancel: Any = None  # core.backfill.CancelToken of the running job
        self._last_message = ""
        self._report_csv: Path | None = None
        self._resumable_info: Any = None
        #: `core.backfill.RunOptions` for every job started here; None = the engine's defaults.
        self.run_options: Any = None

        self.body.addWidget(wrap_label(INTRO, rich=True))

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

        self.status_label = wrap_label()
        self.status_label.setAccessibleName("Backfill status")
        self.body.addWidget(self.status_label)

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

        self.plan_button.clicked.connect(self.start_plan)
        self.commit_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.undo_button.clicked.connect(self.undo)
        self.open_folder_button.clicked.connect(self.open_report_folder)
        self.save_csv_button.clicked.connect(self.save_csv)

    # -- helpers --------------------------------------------------------------------------------
    def _settings(self) -> Any:
        from halo_paylink.core.backfill import BackfillSettings
        from halo_paylink.halo import facts

        link = self.state.link
        profile = self.context.profile
        target = profile.link.link_field if profile is not None else facts.DEFAULT_LINK_FIELD
        return BackfillSettings(template=link.template, numbering=link.numbering, target=target)

    def _start(self, phase: BackfillPhase, coro: Any, done: Any, name: str) -> None:
        b = self.state.backfill
        b.phase = phase
        b.error = None
        self.set_error(None)
        self._last_message = ""
        self._handle = self.start(
            coro,
            name=name,
            on_result=done,
            on_error=self._failed,
            on_cancelled=self._task_cancelled,
            on_finally=self._ended,
        )
        self._render()

    def log_line(self, text: str) -> None:
        from datetime import datetime

        self.log.appendPlainText(f"{datetime.now():%H:%M:%S}  {text}")

    # -- actions --------------------------------------------------------------------------------
    def start_plan(self) -> None:
        """Dry run: read and classify every invoice; nothing is written to Halo."""
        from halo_paylink.core.backfill import CancelToken, plan_backfill

        if self.state.backfill.active:
            return
        self._cancel = CancelToken()
        self.table.setRowCount(0)
        self.log_line("Dry run started: reading every invoice (nothing is written).")
        coro = plan_backfill(
            self.context.halo_client(),
            self._settings(),
            paths=self.context.paths,
            on_progress=self._progress,
            cancel=self._cancel,
            options=self.run_options,
        )
        self._start(BackfillPhase.PLANNING, coro, self._planned, "dry run")

    def start_run(self) -> None:
        """The commit step: write the link to every invoice the dry run selected."""
        from halo_paylink.core.backfill import CancelToken, run_backfill

        b = self.state.backfill
        if not b.can_commit:
            return
        self._cancel = CancelToken()
        b.done, b.total, b.failed = 0, 0, 0
        self.log_line(f"Adding payment links to {b.to_change} open invoice(s).")
        profile = self.context.profile
        coro = run_backfill(
            self.context.halo_client(),
            self._settings(),
            self.context.paths,
            profile=profile.name if profile is not None else None,
            on_progress=self._progress,
            cancel=self._cancel,
            options=self.run_options,
        )
        self._start(BackfillPhase.RUNNING, coro, self._ran, "backfill")

    def resume(self) -> None:
        from halo_paylink.core.backfill import CancelToken, resume_run

        b = self.state.backfill
        if not b.can_resume or b.resumable_run_id is None:
            return
        self._cancel = CancelToken()
        self.log_line(f"Resuming run {b.resumable_run_id}.")
        coro = resume_run(
            self.context.halo_client(),
            self.context.paths,
            b.resumable_run_id,
            on_progress=self._progress,
            cancel=self._cancel,
            options=self.run_options,
        )
        self._start(BackfillPhase.RUNNING, coro, self._ran, "resume")

    def undo(self) -> None:
        from halo_paylink.core.backfill import CancelToken, undo_run

        b = self.state.backfill
        if not b.can_undo or b.run_id is None:
            return
        self._cancel = CancelToken()
        self.log_line(f"Undoing run {b.run_id}: restoring the previous values.")
        coro = undo_run(
            self.context.halo_client(),
            self.context.paths,
            b.run_id,
            on_progress=self._progress,
            cancel=self._cancel,
            options=self.run_options,
        )
        self._start(BackfillPhase.UNDOING, coro, self._undone, "undo")

    def cancel(self) -> None:
        """Ask the running job to stop after the batch in flight (clean, resumable)."""
        b = self.state.backfill
        if self._cancel is None or not b.active:
            return
        self._cancel.cancel()
        if b.phase is not BackfillPhase.PLANNING:
            b.phase = BackfillPhase.CANCELLING
        self.log_line("Stopping after the invoices being saved now…")
        self._render()

    # -- results --------------------------------------------------------------------------------
    def _progress(self, progress: Any) -> None:
        """Engine progress (GUI thread, throttled by the engine to ~10 per second)."""
        b = self.state.backfill
        b.done = progress.done
        b.total = progress.total or 0
        b.failed = progress.failed
        total = max(progress.total or 0, progress.done, 1)
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(progress.done)
        eta = format_duration(progress.eta_seconds) if progress.eta_seconds is not None else "—"
        self.rate_label.setText(f"{progress.rate:,.1f} invoices/s · about {eta} left")
        status = (
            f"{progress.done:,} of {progress.total or '?'} invoices looked at · "
            f"{progress.written:,} link(s) saved · {progress.failed:,} refused · "
            f"{progress.conflicts:,} with a different link"
            if b.phase is not BackfillPhase.PLANNING
            else f"{progress.done:,} of {progress.total or '?'} invoices read · "
            f"{progress.written:,} would get a link"
        )
        wait = getattr(progress, "wait_line", "")
        self.status_label.setText(f"{status}\n{wait}" if wait else status)
        if progress.message and progress.message != self._last_message:
            self._last_message = progress.message
            self.log_line(progress.message)

    def _planned(self, result: Any) -> None:
        from halo_paylink.core.backfill import RunOutcome

        b = self.state.backfill
        plan = result.plan
        if result.outcome is not RunOutcome.PLANNED or plan is None:
            b.phase = BackfillPhase.IDLE
            self._show_failure(result)
            return
        b.phase = BackfillPhase.PLANNED
        b.to_change = plan.to_write
        b.counts = self._count_lines(plan.counts, plan.to_write, dry=True)
        self._fill_table(plan.sample)
        self.warnings_label.setText("\n".join(f"Note: {w}" for w in plan.warnings))
        self._set_report(result.report.csv if result.report is not None else None)
        self.log_line(
            f"Dry run finished: {plan.to_write} invoice(s) would get a link, "
            f"{plan.counts.seen - plan.to_write} left alone."
        )

    def _ran(self, result: Any) -> None:
        from halo_paylink.core.backfill import RunOutcome

        b = self.state.backfill
        b.run_id = result.run_id
        b.incomplete = False
        b.counts = self._count_lines(result.counts, result.counts.written, dry=False)
        self._set_report(result.report.csv if result.report is not None else None)
        if result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES):
            b.phase = BackfillPhase.FINISHED
            b.resumable_run_id = None
            self.resume_box.hide()
            self.log_line(
                f"Finished: {result.counts.written} link(s) saved, {result.counts.failed} "
                "refused by Halo."
            )
        elif result.outcome is RunOutcome.CANCELLED:
            b.phase = BackfillPhase.CANCELLED
            b.resumable_run_id = result.run_id
            self.log_line("Stopped. Nothing is lost: Resume continues where the run stopped.")
        elif result.outcome is RunOutcome.INCOMPLETE:
            b.phase = BackfillPhase.FAILED
            b.incomplete = True
            b.resumable_run_id = result.run_id
            self.set_error(
                BannerMessage("Not every open invoice could be shown linked yet.", result.detail)
            )
            b.error = result.detail
            self.log_line(f"Incomplete: {result.detail}")
        else:
            b.phase = BackfillPhase.FAILED
            b.resumable_run_id = result.run_id
            self._show_failure(result)
        self.context.save_profile()

    def _undone(self, result: Any) -> None:
        from halo_paylink.core.backfill import RunOutcome

        b = self.state.backfill
        self._set_report(result.report.csv if result.report is not None else None)
        if result.outcome in (RunOutcome.COMPLETED, RunOutcome.COMPLETED_WITH_FAILURES):
            b.phase = BackfillPhase.UNDONE
            self.log_line(f"Undo finished: {result.counts.written} invoice(s) restored.")
        else:
            b.phase = BackfillPhase.FINISHED  # the original run still stands; undo can be retried
            self._show_failure(result)

    def _show_failure(self, result: Any) -> None:
        if result.error is not None:
            self.set_halo_error(result.error)
        else:
            self.set_error(BannerMessage("The run stopped.", result.detail or str(result.outcome)))
        self.state.backfill.error = result.detail or None
        self.log_line(f"Stopped: {result.detail or result.outcome.value}")

    def _failed(self, error: BaseException) -> None:
        b = self.state.backfill
        b.phase = BackfillPhase.IDLE if b.phase is BackfillPhase.PLANNING else BackfillPhase.FAILED
        if b.phase is BackfillPhase.FAILED and b.run_id is None:
            b.phase = BackfillPhase.IDLE
        self.set_halo_error(error)
        self.log_line(f"Could not run: {error}")

    def _task_cancelled(self) -> None:
        b = self.state.backfill
        b.phase = (
            BackfillPhase.CANCELLED
            if b.phase is not BackfillPhase.PLANNING
            else (BackfillPhase.IDLE)
        )

    def _ended(self) -> None:
        self._handle = None
        self._cancel = None
        self._render()
        if self.state.backfill.phase in (BackfillPhase.CANCELLED, BackfillPhase.FAILED):
            self._find_resumable()

    @staticmethod
    def _count_lines(counts: Any, to_write: int, *, dry: bool) -> dict[str, int]:
        from halo_paylink.core.backfill import SkipReason

        lines = {("Would get a link" if dry else "Link saved"): to_write}
        if counts.conflicts:
            lines[CONFLICT_LABEL] = counts.conflicts
        for value, n in counts.skipped.items():
            try:
                label = SkipReason(value).label
            except ValueError:
                label = value
            lines[label[:1].upper() + label[1:]] = n
        if counts.failed:
            lines[REFUSED_LABEL] = counts.failed
        if counts.unknown or counts.not_written:
            lines["Unfinished (Resume finishes them)"] = counts.unknown + counts.not_written
        return lines

    def _fill_table(self, sample: Any) -> None:
        rows = list(sample)[:TABLE_ROWS]
        self.table.setRowCount(len(rows))
        for r, change in enumerate(rows):
            values = (change.number, change.client, change.old or "(empty)", change.new or "")
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setToolTip(str(value))
                self.table.setItem(r, c, item)

    def _set_report(self, csv: Path | None) -> None:
        self._report_csv = csv
        self.state.backfill.report_path = str(csv) if csv is not None else None

    # -- report ---------------------------------------------------------------------------------
    def open_report_folder(self) -> None:
        if self._report_csv is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._report_csv.parent)))

    def ask_save_path(self, suggested: str) -> str | None:
        """Ask where to save the CSV (tests replace this)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the report", str(Path.home() / suggested), "CSV files (*.csv)"
        )
        return path or None

    def save_csv(self) -> None:
        source = self._report_csv
        if source is None:
            return
        target = self.ask_save_path(source.name)
        if not target:
            return

        def saved(_: object) -> None:
            self.log_line(f"Report saved as {target}")

        self.start(
            self.context.blocking(shutil.copyfile, source, target),
            name="save report",
            on_result=saved,
            on_error=self.set_halo_error,
        )

    # -- resumable runs -------------------------------------------------------------------------
    def _find_resumable(self) -> None:
        from halo_paylink.core.backfill import latest_resumable

        def found(info: Any) -> None:
            b = self.state.backfill
            endpoints = self.state.connect.endpoints
            same_halo = (
                info is not None
                and endpoints is not None
                and info.web_url.rstrip("/").lower() == endpoints.web_url.rstrip("/").lower()
            )
            if same_halo and not b.active:
                b.resumable_run_id = info.run_id
                self._resumable_info = info
            elif b.phase not in (BackfillPhase.CANCELLED, BackfillPhase.FAILED):
                b.resumable_run_id = None
                self._resumable_info = None
            self._render()

        self.start(
            self.context.blocking(latest_resumable, self.context.paths),
            name="find resumable run",
            on_result=found,
        )

    # -- rendering ------------------------------------------------------------------------------
    def _render(self) -> None:
        b = self.state.backfill
        active = b.active
        self.plan_button.setEnabled(not active and self.state.link.complete)
        self.plan_button.setText(
            "Run the &dry run again" if b.phase is not BackfillPhase.IDLE else "&Dry run"
        )
        self.commit_button.setEnabled(b.can_commit and not active)
        self.commit_button.setText(
            f"&Add payment links to {b.to_change:,} open invoice(s)"
            if b.phase is BackfillPhase.PLANNED
            else "&Add payment links"
        )
        self.cancel_button.setEnabled(active and b.phase is not BackfillPhase.CANCELLING)
        self.undo_button.setEnabled(b.can_undo and not active)
        show_resume = b.can_resume and not active
        self.resume_box.setVisible(show_resume)
        if show_resume:
            info = self._resumable_info
            if info is not None and info.run_id == b.resumable_run_id:
                self.resume_label.setText(
                    f"Run {info.run_id} (started {info.started}) stopped "
                    f"({info.status.value.replace('_', ' ')}) after {info.counts.written} "
                    "link(s) were saved. Resume continues where it stopped; nothing is written "
                    "twice."
                )
            else:
                self.resume_label.setText(
                    f"Run {b.resumable_run_id} stopped before it finished. Resume continues "
                    "where it stopped; nothing is written twice."
                )
        if b.counts:
            items = "".join(f"<li>{label}: <b>{n:,}</b></li>" for label, n in b.counts.items())
            self.counts_label.setText(f"<ul>{items}</ul>")
        else:
            self.counts_label.setText("")
        self.counts_label.setVisible(bool(b.counts))
        if not active:
            self.status_label.setText(self._status_text())
            if b.phase is BackfillPhase.FINISHED:
                self.rate_label.setText("")
        self.report_label.setText(f"Report: {b.report_path}" if b.report_path else "")
        has_report = self._report_csv is not None
        self.open_folder_button.setEnabled(has_report)
        self.save_csv_button.setEnabled(has_report and not active)
        self.set_busy(_BUSY_TEXT.get(b.phase))
        self.changed.emit()

    def _status_text(self) -> str:
        b = self.state.backfill
        if b.phase is BackfillPhase.IDLE:
            if not self.state.link.complete:
                return "Go back and paste your Benji Pays link first."
            return "Start with the dry run."
        if b.phase is BackfillPhase.PLANNED:
            if b.to_change == 0:
                return "✓ Every open invoice already has its Pay link. Nothing to do: click Next."
            return f"The dry run found {b.to_change:,} open invoice(s) to update. Review, then add."
        if b.phase is BackfillPhase.FINISHED:
            saved = b.counts.get("Link saved", 0)
            return f"✓ Done: {saved:,} payment link(s) saved, {b.done:,} invoice(s) looked at."
        if b.phase is BackfillPhase.CANCELLED:
            return "Stopped. Resume continues where the run stopped."
        if b.phase is BackfillPhase.FAILED and b.incomplete:
            return "Not everything could be checked yet (see above). Resume a little later."
        if b.phase is BackfillPhase.FAILED:
            return "The run stopped on an error (see above). Fix it, then Resume."
        if b.phase is BackfillPhase.UNDONE:
            return "Undone: the previous values are back. Run the dry run again to start over."
        return ""

    def first_focus(self) -> QWidget | None:
        b = self.state.backfill
        return self.commit_button if b.can_commit else self.plan_button

    def enter(self) -> None:
        self._render()
        if not self.state.backfill.active:
            self._find_resumable()

    async def stop(self) -> None:
        """Window closing: cancel cleanly (journaled, resumable) and wait for the run to end."""
        handle = self._handle
        if handle is None:
            return
        self.cancel()
        await handle.wait()
