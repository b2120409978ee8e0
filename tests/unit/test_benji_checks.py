"""core.benji_checks: the link from Benji's settings (never a minted one), the settings checks
with their fix, and the invoice number check with its threshold and budget."""

from __future__ import annotations

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.benji import facts as benji_facts
from halo_paylink.benji.client import BenjiClient, BenjiSettings
from halo_paylink.core.benji_checks import (
    MISSING_SHOWN,
    NUMBER_CHECK_BUDGET,
    PASS_RATE,
    NumberCheck,
    check_numbers,
    check_plan_numbers,
    check_settings,
    link_from_settings,
    number_in_link,
    numbers_to_check,
    settings_checks,
)
from halo_paylink.core.links import fill_link, validate_link_template
from halo_paylink.domain import AccountingTool, Numbering
from halo_paylink.errors import BenjiError, ErrorKind
from halo_paylink.halo import facts as halo_facts
from halo_paylink.sandbox.seed import DEMO_BENJI_TEMPLATE

pytestmark = pytest.mark.anyio
BASE = "https://api.benjipays.test/v2"
P = halo_facts.BENJI_PLACEHOLDER


def _settings(**values: object) -> BenjiSettings:
    fields: dict[str, object] = {
        "portal_name": None,
        "portal_url": None,
        "custom_domain": None,
        "pay_now_amount_required": None,
        "disable_generic_payment_link": None,
    }
    fields.update(values)
    return BenjiSettings(**fields)  # type: ignore[arg-type]


def test_the_link_from_a_portal_name_is_the_pay_now_link() -> None:
    built = link_from_settings(_settings(portal_name="demo-msp"))
    assert built.template == DEMO_BENJI_TEMPLATE
    assert (built.source, built.usable, built.problems) == ("portal name", True, ())


def test_a_custom_domain_wins_and_is_https() -> None:
    built = link_from_settings(
        _settings(
            portal_name="acme",
            portal_url="https://www.benjipays.com/portal/acme/",
            custom_domain="http://pay.acme.example/",
        )
    )
    assert built.template == f"https://pay.acme.example/pay/?InvoiceNumber={P}"
    assert built.source == "custom domain" and built.usable
    assert [p.code for p in built.problems] == ["not_benji_host"]  # a warning, not an error
    by_url = link_from_settings(_settings(portal_url="https://acme.benjipays.com/portal/acme/"))
    assert by_url.template == f"https://acme.benjipays.com/portal/acme/pay/?InvoiceNumber={P}"


def test_no_portal_gives_no_link_and_says_what_to_do() -> None:
    built = link_from_settings(_settings(pay_now_amount_required=True))
    assert not built.usable and built.template == ""
    assert "copy the pay-now link" in built.problems[0].message


@given(st.text(max_size=40), st.sampled_from(["portal_name", "portal_url", "custom_domain"]))
def test_any_setting_gives_a_checked_link_or_says_why_not(value: str, name: str) -> None:
    built = link_from_settings(_settings(**{name: value or None}))
    if built.template:
        assert P in built.template
        assert built.problems == tuple(validate_link_template(built.template))
        assert built.usable == (
            not any(p.severity.value == "error" for p in validate_link_template(built.template))
        )
    else:
        assert not built.usable


@respx.mock
async def test_the_link_written_comes_from_the_settings_never_a_minted_link() -> None:
    minted = "https://www.benjipays.com/l/abc123-expires-in-1h"
    settings = respx.get(f"{BASE}/settings").respond(
        200, json={"portalName": "acme", "paymentLink": minted, "url": minted}
    )
    respx.post(url__regex=r".*payment-links.*").respond(200, json={"url": minted})
    async with httpx.AsyncClient() as http:
        report = await check_settings(
            BenjiClient(http, "k" * 12, base_url=BASE), AccountingTool.XERO
        )
    assert report.link.template == benji_facts.PORTAL_LINK.format(portal="acme", placeholder=P)
    assert minted not in report.link.template
    assert [c.request.method for c in respx.calls] == ["GET"]
    assert settings.called
    assert benji_facts.UNVERIFIED_NOTE in report.notes


def test_the_settings_checks_pass_fail_and_say_the_fix() -> None:
    good = settings_checks(
        _settings(pay_now_amount_required=True, disable_generic_payment_link=True),
        AccountingTool.QUICKBOOKS,
    )
    assert [(c.code, c.passed, c.fix) for c in good] == [
        ("amount_must_match", True, ""),
        ("invoice_must_exist", True, ""),
    ]
    bad = settings_checks(
        _settings(pay_now_amount_required=False, disable_generic_payment_link=False),
        AccountingTool.QUICKBOOKS,
    )
    assert [c.passed for c in bad] == [False, False]
    assert all("turn on" in c.fix for c in bad)
    assert "QuickBooks" in bad[0].detail and bad[0].required
    xero = settings_checks(_settings(pay_now_amount_required=False), AccountingTool.XERO)
    assert not xero[0].required and xero[1].passed is None
    assert "unverified" in xero[1].detail


def test_a_report_passes_only_with_a_usable_link_and_the_required_checks() -> None:
    from halo_paylink.core.benji_checks import SettingsReport

    settings = _settings(
        portal_name="acme", pay_now_amount_required=False, disable_generic_payment_link=True
    )
    for tool, passed in ((AccountingTool.XERO, True), (AccountingTool.QUICKBOOKS, False)):
        report = SettingsReport(
            settings, link_from_settings(settings), settings_checks(settings, tool)
        )
        assert report.passed is passed
        assert report.to_json()["passed"] is passed


# --- numbers -------------------------------------------------------------------------------------

_number = st.text(min_size=1, max_size=24).filter(lambda s: s.strip() == s and s)
_after = st.sampled_from(["", "&transactionAmount=10", "/", "#top", "&x=" + P])


@given(_number, _after, st.sampled_from(["https://www.benjipays.com/portal/a/pay/?InvoiceNumber="]))
def test_the_number_is_read_back_from_the_link(number: str, after: str, before: str) -> None:
    template = before + P + after
    assert number_in_link(template, fill_link(template, number)) == number


def test_a_link_from_another_template_has_no_number() -> None:
    template = DEMO_BENJI_TEMPLATE
    assert number_in_link(template, "https://other.example/pay?n=1") is None
    assert number_in_link("https://x.benjipays.com/no-placeholder", "https://x") is None
    links = [fill_link(template, n) for n in ("1", "2", "1", "3")] + [None, "https://x"]
    assert numbers_to_check(links, template) == ["1", "2", "3"]
    assert numbers_to_check(links, template, budget=2) == ["1", "2"]


class FakeBenji:
    """Knows `known`; fails with `fail` after `fail_after` look-ups."""

    def __init__(self, known: set[str], fail_after: int | None = None) -> None:
        self.known = known
        self.fail_after = fail_after
        self.requests = 0
        self.asked: list[str] = []

    async def knows_invoice(self, number: str) -> bool:
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            raise BenjiError(ErrorKind.BENJI_RATE_LIMITED, status=429)
        self.requests += 1
        self.asked.append(number)
        return number in self.known


async def _check(client: FakeBenji, numbers: list[str], budget: int = 50) -> NumberCheck:
    return await check_numbers(
        client, numbers, numbering=Numbering.ACCOUNTING, to_write=500, budget=budget
    )


async def test_found_498_of_500_passes_and_few_found_blocks() -> None:
    numbers = [str(20000 + i) for i in range(500)]
    client = FakeBenji(set(numbers[2:]))
    result = await _check(client, numbers, budget=500)
    assert (result.checked, result.found, result.blocks) == (500, 498, False)
    assert result.headline == "Benji found 498 of 500."
    assert result.missing == ("20000", "20001")
    halo_numbers = [str(1001 + i) for i in range(60)]
    wrong = await check_numbers(
        FakeBenji(set(numbers)), halo_numbers, numbering=Numbering.HALO, to_write=60
    )
    assert wrong.blocks and wrong.found == 0 and len(wrong.missing) == MISSING_SHOWN
    assert "accounting tool's number" in wrong.advice
    assert wrong.checked == NUMBER_CHECK_BUDGET
    assert "sample of the 60" in wrong.headline


async def test_the_threshold_is_exact() -> None:
    numbers = [str(i) for i in range(100)]
    at = await _check(FakeBenji(set(numbers[: round(PASS_RATE * 100)])), numbers, budget=100)
    below = await _check(FakeBenji(set(numbers[: round(PASS_RATE * 100) - 1])), numbers, budget=100)
    assert (at.blocks, below.blocks) == (False, True)


async def test_a_benji_failure_ends_the_check_without_blocking() -> None:
    client = FakeBenji({"1", "2"}, fail_after=2)
    result = await _check(client, ["1", "2", "3", "4"])
    assert (result.checked, result.found, result.blocks) == (2, 2, False)
    assert result.error is not None and result.error.kind is ErrorKind.BENJI_RATE_LIMITED
    assert "stopped early" in result.advice
    none = await _check(FakeBenji(set(), fail_after=0), ["1"])
    assert none.rate is None and not none.blocks and "rate limit" in none.headline


async def test_the_plan_check_reads_the_numbers_from_the_planned_links() -> None:
    template = DEMO_BENJI_TEMPLATE
    links = [fill_link(template, n) for n in ("20001", "20002", "1003")]
    client = FakeBenji({"20001", "20002"})
    result = await check_plan_numbers(
        client, links, template=template, numbering=Numbering.ACCOUNTING, to_write=3
    )
    assert client.asked == ["20001", "20002", "1003"]
    assert (result.found, result.checked, result.missing) == (2, 3, ("1003",))
    assert result.to_json()["blocks"] is True


def test_the_kept_verdict_blocks_only_the_same_settings(tmp_path: object) -> None:
    from pathlib import Path

    from halo_paylink.core.benji_checks import blocking_verdict, save_verdict, verdict_file

    root = Path(str(tmp_path))
    url, template = "https://acme.halopsa.com", DEMO_BENJI_TEMPLATE
    halo = verdict_file(root, url, template, Numbering.HALO)
    assert halo != verdict_file(root, url, template, Numbering.ACCOUNTING)
    assert halo == verdict_file(root, url + "/", template, Numbering.HALO)
    assert blocking_verdict(halo) is None  # none kept
    save_verdict(halo, NumberCheck(Numbering.HALO, checked=50, found=1, to_write=90))
    assert blocking_verdict(halo) == "Benji found 1 of 50."
    save_verdict(halo, NumberCheck(Numbering.HALO, checked=50, found=49, to_write=90))
    assert blocking_verdict(halo) is None
    halo.write_text("{not json", encoding="utf-8")
    assert blocking_verdict(halo) is None
