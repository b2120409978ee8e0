"""The Benji presenters: the Options page's settings checks and link, and the Backfill page's number
check with its block on "Add payment links" (no Qt)."""

from __future__ import annotations

from halo_paylink.benji.client import BenjiSettings
from halo_paylink.core.backfill import RunResult
from halo_paylink.core.backfill.model import Plan, PlannedChange
from halo_paylink.core.backfill.outcome import Counts, RunOutcome
from halo_paylink.core.benji_checks import (
    NumberCheck,
    SettingsReport,
    link_from_settings,
    settings_checks,
)
from halo_paylink.core.links import fill_link
from halo_paylink.core.presenters.benji_numbers import BenjiNumbersPresenter
from halo_paylink.core.presenters.benji_options import NO_KEY, BenjiOptionsPresenter
from halo_paylink.core.wizard import WizardState, settings_export
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.errors import BenjiError, ErrorKind
from halo_paylink.sandbox.seed import DEMO_BENJI_TEMPLATE

KEY = "benji-key-for-presenter-1"


def _report(generic_blocked: bool = False) -> SettingsReport:
    settings = BenjiSettings("demo-msp", None, None, True, generic_blocked)
    return SettingsReport(
        settings,
        link_from_settings(settings),
        settings_checks(settings, AccountingTool.QUICKBOOKS),
    )


def test_without_a_key_the_box_only_offers_the_key() -> None:
    view = BenjiOptionsPresenter(WizardState()).view()
    assert (view.status, view.rows, view.check_enabled, view.build_enabled) == (
        NO_KEY,
        (),
        False,
        False,
    )


def test_a_check_shows_pass_and_fail_with_the_fix_and_builds_the_link() -> None:
    state = WizardState()
    presenter = BenjiOptionsPresenter(state)
    presenter.key_edited(f"  {KEY} ")
    assert presenter.start_check() and not presenter.start_check()  # one at a time
    assert presenter.view().busy and not presenter.view().check_enabled
    presenter.check_finished(_report())
    presenter.check_ended()
    view = presenter.view()
    assert [(r.mark, bool(r.fix)) for r in view.rows] == [("✔ Pass", False), ("✘ Fail", True)]
    assert "need a change" in view.status
    assert view.link == DEMO_BENJI_TEMPLATE and view.build_enabled
    assert "not been checked" in view.note
    assert state.link.template == ""
    assert presenter.build_link()
    assert state.link.template == DEMO_BENJI_TEMPLATE and state.benji.link_built
    after = presenter.view()
    assert after.link_applied and not after.build_enabled and "Email page" in after.link_detail
    export = settings_export(state, "p")
    assert KEY not in export and '"link_built_from_settings": true' in export


def test_a_failed_check_says_what_to_do_and_a_new_key_clears_the_result() -> None:
    presenter = BenjiOptionsPresenter(WizardState())
    presenter.key_edited(KEY)
    presenter.start_check()
    presenter.check_failed(BenjiError(ErrorKind.BENJI_BAD_KEY, "no", status=401))
    presenter.check_ended()
    assert presenter.view().status.startswith("Benji Pays did not accept the API key.")
    assert not presenter.build_link()
    presenter.check_finished(_report(True))
    presenter.key_edited("another-key-0000")
    assert presenter.view().rows == ()


def _result(links: list[str], to_write: int) -> RunResult:
    sample = tuple(PlannedChange(i, f"INV{i}", "c", None, link) for i, link in enumerate(links))
    plan = Plan(Counts(), to_write, sample, (), (), to_write)
    return RunResult(outcome=RunOutcome.PLANNED, counts=Counts(), plan=plan)


def test_the_number_check_blocks_until_confirmed_or_the_numbering_changes() -> None:
    state = WizardState()
    state.link.template = DEMO_BENJI_TEMPLATE
    state.link.numbering = Numbering.HALO
    presenter = BenjiNumbersPresenter(state)
    links = [fill_link(DEMO_BENJI_TEMPLATE, str(1001 + i)) for i in range(3)]
    assert presenter.dry_run_finished(_result(links, 3)) is None  # no key: no check
    assert not presenter.view().visible
    state.benji.key = KEY
    request = presenter.dry_run_finished(_result(links, 3))
    assert request is not None and request.links == tuple(links) and request.to_write == 3
    assert presenter.view().headline.startswith("Asking Benji")
    presenter.check_finished(NumberCheck(Numbering.HALO, checked=3, found=0, to_write=3))
    presenter.check_ended()
    view = presenter.view()
    assert view.headline == "Benji found 0 of 3." and view.blocks and view.confirm_visible
    assert presenter.blocks_commit
    presenter.confirm(True)
    assert not presenter.blocks_commit and presenter.view().confirmed
    presenter.confirm(False)
    state.link.numbering = Numbering.ACCOUNTING
    assert not presenter.blocks_commit
    assert "run the dry run again" in presenter.view().advice
    presenter.dry_run_started()
    assert not presenter.view().visible and not state.benji.confirmed


def test_a_good_rate_does_not_block_and_a_failure_is_explained() -> None:
    state = WizardState()
    state.benji.key = KEY
    presenter = BenjiNumbersPresenter(state)
    presenter.check_finished(NumberCheck(Numbering.ACCOUNTING, checked=50, found=49, to_write=80))
    view = presenter.view()
    assert not view.blocks and not view.confirm_visible
    assert view.headline == "Benji found 49 of 50 (a sample of the 80 links)."
    presenter.check_failed(BenjiError(ErrorKind.BENJI_TIMEOUT))
    assert "could not be checked" in presenter.view().headline
    assert not presenter.blocks_commit
    assert presenter.dry_run_finished(_result([], 0)) is None  # nothing to write: no check


def test_opening_another_profile_forgets_the_benji_key_and_results() -> None:
    from halo_paylink.core.wizard import load_profile
    from halo_paylink.storage.profiles import Profile

    state = WizardState()
    presenter = BenjiOptionsPresenter(state)
    presenter.key_edited(KEY)
    presenter.check_finished(_report())
    load_profile(state, Profile(name="other"))
    assert state.benji.key == "" and state.benji.report is None
    assert presenter.view().status == NO_KEY


def test_the_done_page_says_what_became_of_benjis_side() -> None:
    from halo_paylink.core.presenters.admin_step import still_to_do
    from halo_paylink.core.presenters.benji_options import benji_done_rows

    state = WizardState()
    rows = dict(benji_done_rows(state))
    assert rows["Benji Pays settings"] == "skipped (no Benji API key)"
    assert rows["Invoice numbers known to Benji"].startswith("skipped")
    assert "set the options in Benji Pays" in still_to_do(state)
    state.benji.report = _report()  # one required check fails
    assert dict(benji_done_rows(state))["Benji Pays settings"].startswith("needs: ")
    assert "set the options in Benji Pays" in still_to_do(state)
    state.benji.report = _report(True)
    assert dict(benji_done_rows(state))["Benji Pays settings"] == "passed"
    assert "Benji Pays" not in still_to_do(state)
    state.benji.numbers = NumberCheck(Numbering.HALO, checked=1200, found=0, to_write=1200)
    numbers = dict(benji_done_rows(state))["Invoice numbers known to Benji"]
    assert numbers == "Benji found 0 of 1,200; too few"
    state.benji.confirmed = True
    assert dict(benji_done_rows(state))["Invoice numbers known to Benji"].endswith(
        "confirmed anyway"
    )
