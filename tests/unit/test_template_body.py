"""core.template_body and core.email_template planning: the link lands once, nothing else moves."""

from __future__ import annotations

import html

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from halo_paylink.core.email_template import find_template, plan_template
from halo_paylink.core.links import email_snippet
from halo_paylink.core.template_body import Action, BodyKind, Placement, earlier_links, plan_body
from halo_paylink.domain import Numbering
from halo_paylink.errors import UsageError
from halo_paylink.halo.templates import EmailTemplate

LINK = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=[Invoice No.]&x=1"
SNIPPET = email_snippet(LINK, Numbering.ACCOUNTING)
OLD = "https://www.benjipays.com/portal/acme/pay/?InvoiceNumber=$INVOICEID"

# Bodies that hold no web address: any text, tags, entities, CRLF or LF.
body_text = (
    st.lists(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
        | st.sampled_from(["\r\n", "\n", "<p>", "</p>", "&amp;", '"', "</body>"]),
        max_size=15,
    )
    .map("".join)
    .filter(lambda b: "://" not in b and "$THIRD" not in b)
)
kinds = st.sampled_from(list(BodyKind))


def occurrences(body: str, kind: BodyKind) -> int:
    form = SNIPPET.link if kind is BodyKind.TEXT else html.escape(SNIPPET.link, quote=True)
    return body.count(form)


@given(body=body_text.filter(bool), kind=kinds)
def test_insert_puts_the_link_in_once_and_keeps_the_rest(body: str, kind: BodyKind) -> None:
    change = plan_body(body, kind, SNIPPET)
    assert change.action is Action.INSERTED
    assert occurrences(change.after, kind) == 1
    assert is_one_insertion(body, change.after)


def is_one_insertion(before: str, after: str) -> bool:
    """True when `after` is `before` with one contiguous piece inserted, nothing else changed."""
    if len(after) <= len(before):
        return False
    head = 0
    while head < len(before) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < len(before) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return head + tail == len(before)


@given(body=body_text.filter(bool), kind=kinds)
def test_never_inserted_twice(body: str, kind: BodyKind) -> None:
    once = plan_body(body, kind, SNIPPET)
    twice = plan_body(once.after, kind, SNIPPET)
    assert twice.action is Action.ALREADY_THERE and not twice.changed
    assert occurrences(twice.after, kind) == 1


@given(head=body_text, tail=body_text, kind=kinds)
def test_an_earlier_benji_link_is_replaced_in_place(head: str, tail: str, kind: BodyKind) -> None:
    old = OLD if kind is BodyKind.TEXT else html.escape(OLD, quote=True)
    body = f"{head} {old} {tail}"
    change = plan_body(body, kind, SNIPPET, Placement.AFTER_MARKER, marker="never-there")
    assert change.action is Action.REPLACED
    assert old not in change.after and occurrences(change.after, kind) == 1
    new = SNIPPET.link if kind is BodyKind.TEXT else html.escape(SNIPPET.link, quote=True)
    assert change.after.replace(new, old) == body


@given(before=body_text, after=body_text)
def test_after_a_marker(before: str, after: str) -> None:
    marker = "Kind regards,"
    assume(marker not in before)
    body = before + marker + after
    change = plan_body(body, BodyKind.TEXT, SNIPPET, Placement.AFTER_MARKER, marker)
    cut = len(before) + len(marker)
    assert change.after[:cut] == body[:cut]
    assert change.after.endswith(after) and is_one_insertion(body, change.after)
    assert change.after[cut:].lstrip("\r\n").startswith(SNIPPET.text)


def test_html_goes_before_the_closing_body_tag_and_keeps_crlf() -> None:
    body = "<html><BODY>\r\n<p>Hi</p>\r\n</Body ></html>"
    change = plan_body(body, BodyKind.HTML, SNIPPET)
    assert change.after == (
        "<html><BODY>\r\n<p>Hi</p>\r\n" + f"<p>{SNIPPET.html}</p>\r\n" + "</Body ></html>"
    )
    assert "&amp;x=1" in change.after  # the link is escaped in HTML


def test_empty_body_stays_empty_and_a_custom_domain_counts_as_benji() -> None:
    assert plan_body("", BodyKind.HTML, SNIPPET).action is Action.EMPTY
    custom = email_snippet("https://pay.acme.com/pay/?n=[Invoice No.]", Numbering.HALO)
    assert earlier_links("see https://pay.acme.com/old?n=1.", custom.link) == (
        "https://pay.acme.com/old?n=1",
    )
    assert earlier_links("see https://example.com/x", custom.link) == ()


def template(html_body: str = "<p>Kind regards</p>", text: str = "Kind regards") -> EmailTemplate:
    return EmailTemplate(-12, "Invoice Email Subject", "", "Invoice $X", html_body, text)


def test_plan_both_bodies_and_preview() -> None:
    plan = plan_template(template(), SNIPPET, Placement.AFTER_MARKER, "Kind regards")
    assert [c.action for c in plan.changes] == [Action.INSERTED, Action.INSERTED]
    assert set(plan.fields()) == {"body_html", "body_text"}
    preview = plan.preview()
    assert "'Invoice Email Subject' (#-12)" in preview and "+Pay now: https://" in preview
    assert preview.count("@@") >= 2


def test_plan_refuses_a_marker_in_neither_body_and_a_template_without_body() -> None:
    with pytest.raises(UsageError, match="Neither body"):
        plan_template(template(), SNIPPET, Placement.AFTER_MARKER, "Cheers")
    with pytest.raises(UsageError, match="no body"):
        plan_template(template("", ""), SNIPPET)


def test_find_template_by_name_or_id() -> None:
    rows = [template(), EmailTemplate(3, "Other"), EmailTemplate(4, "other ")]
    assert find_template(rows).id == -12
    assert find_template(rows, "#-12").id == -12
    assert find_template(rows, "3").name == "Other"
    with pytest.raises(UsageError, match="2 email templates"):
        find_template(rows, "OTHER")
    with pytest.raises(UsageError, match="no email template 'Nope'") as info:
        find_template(rows, "Nope")
    assert "'Other' (#3)" in info.value.next_step
