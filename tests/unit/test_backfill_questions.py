"""What the Backfill presenter asks before a bulk change, what Stop says it stops, and the
numbers it shows after a run, a stop and an undo (core/presenters/backfill.py, no Qt)."""

from __future__ import annotations

import json
import locale

import pytest

from halo_paylink.core.backfill import Phase, Progress, RunOutcome
from halo_paylink.core.numbers import format_count, plural
from halo_paylink.core.presenters.backfill import Job, Question, stop_question
from halo_paylink.core.wizard import BackfillPhase, settings_export
from unit.test_backfill_presenter import Harness, lines, ran


def test_adding_links_asks_first_with_the_count_and_the_halo() -> None:
    h = Harness()
    assert h.p.confirmation(Job.RUN) is None  # nothing planned: nothing to ask
    h.plan(1278)
    asked = h.p.confirmation(Job.RUN)
    assert isinstance(asked, Question)
    assert asked.text == "Add a Pay link to 1,278 open invoices on acme.halopsa.com?"
    assert "&" in asked.accept and asked.reject == "Cancel"
    assert h.p.confirmation(Job.PLAN) is None  # a dry run writes nothing
    assert h.p.confirmation(Job.RESUME) is None  # resuming goes on with a confirmed run


def test_undo_asks_first_with_the_links_it_removes() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=54)
    asked = h.p.confirmation(Job.UNDO)
    assert asked is not None
    assert asked.text == "Remove the Pay link from 54 invoices on acme.halopsa.com?"
    h.start(Job.UNDO)
    assert h.p.confirmation(Job.UNDO) is None  # not while it runs


def test_the_host_falls_back_to_what_was_typed() -> None:
    h = Harness()
    h.state.connect.endpoints = None
    h.state.connect.address = "halo.example.org/"
    h.b.phase, h.b.to_change = BackfillPhase.PLANNED, 1
    asked = h.p.confirmation(Job.RUN)
    assert asked is not None and asked.text.endswith("1 open invoice on halo.example.org?")


@pytest.mark.parametrize(
    ("job", "says"),
    [(Job.PLAN, "reading"), (Job.RUN, "being added"), (Job.UNDO, "being removed")],
)
def test_the_stop_question_names_what_is_going_on(job: Job, says: str) -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=3) if job is Job.UNDO else h.plan(3)
    h.start(job)
    asked = stop_question(h.state)
    assert says in asked.text and "acme.halopsa.com" in asked.text
    others = {"reading", "being added", "being removed"} - {says}
    assert not any(word in asked.text for word in others)
    h.p.cancel()  # stopping keeps naming what it stops
    assert stop_question(h.state) == asked
    assert h.p.view().busy == h.p.stopping_text()


def test_a_stopped_undo_says_how_many_were_restored_and_can_be_undone_again() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=54)
    h.start(Job.UNDO)
    h.p.cancel()
    h.p.finished(ran(RunOutcome.CANCELLED, run_id="undo-1", written=20))
    v = h.p.view()
    assert h.b.phase is BackfillPhase.FINISHED and v.undo_enabled and v.problem is None
    assert lines(h)["Pay link removed (previous value back)"] == 20
    assert "Link saved" not in lines(h)
    assert v.status.startswith("Undo stopped: 20 invoices restored, 34 links of the run")
    asked = h.p.confirmation(Job.UNDO)
    assert asked is not None and "from 34 invoices" in asked.text


def test_a_finished_or_resumed_run_never_shows_time_left_when_none_is() -> None:
    h = Harness()
    h.plan()
    h.start(Job.RUN)
    whole = Progress(phase=Phase.WRITING, done=1162, total=1162, rate=12.0, eta_seconds=0.0)
    assert h.p.progress(whole).rate == "12.0 invoices/s"
    done = Progress(phase=Phase.DONE, done=1162, total=1162, rate=12.0, eta_seconds=0.0)
    assert h.p.progress(done).rate == ""


def test_the_export_counts_invoices_changed_not_looked_at() -> None:
    h = Harness()
    h.run(RunOutcome.COMPLETED, written=54)
    h.b.done = 120  # every invoice the run decided, most left alone
    data = json.loads(settings_export(h.state, "Acme"))["backfill"]
    assert data["invoices_changed"] == 54
    h.start(Job.UNDO)
    h.p.finished(ran(RunOutcome.COMPLETED, run_id="undo-1", written=54))
    data = json.loads(settings_export(h.state, "Acme"))["backfill"]
    assert (data["invoices_changed"], data["links_removed_by_undo"]) == (0, 54)


def test_the_export_says_the_secret_is_not_in_the_keyring_when_kept_in_memory() -> None:
    h = Harness()
    h.state.application.remember = True
    app = json.loads(settings_export(h.state, "Acme", secret_in_keyring=False))
    assert app["api_application"]["secret_stored_in_keyring"] is False
    app = json.loads(settings_export(h.state, "Acme", secret_in_keyring=True))
    assert app["api_application"]["secret_stored_in_keyring"] is True


def test_counts_are_grouped_one_way() -> None:
    assert format_count(1278) == format_count(1278, None)
    assert format_count(1278, ".") == "1.278"
    assert format_count(26_563_035, " ") == "26 563 035"
    assert format_count(-1000, ",") == "-1,000"
    assert plural(1, "invoice") == "1 invoice" and plural(2, "invoice") == "2 invoices"
    if not locale.localeconv()["thousands_sep"]:
        assert format_count(1278) == "1,278"  # the bare C locale still groups
