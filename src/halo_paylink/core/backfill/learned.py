"""What we learned about your Halo, in words: one line per fact, each saying whether it was
measured on this Halo (when, how) or still rests on the model in `halo.facts`.

Shown by `check` (and its --json) and by the window's Backfill page; the facts themselves are
kept in `tenant`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from halo_paylink.core.backfill.tenant import FactId, TenantFacts
from halo_paylink.halo import facts


@dataclass(frozen=True)
class LearnedLine:
    """One line of "What we learned about your Halo".

    Attributes:
        topic: what the line is about.
        finding: what is known, in words.
        source: how it is known: measured (when, how) or the model's unverified assumption.
        measured: True when measured on this Halo; False when it still rests on the model.
    """

    topic: str
    finding: str
    source: str
    measured: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "finding": self.finding,
            "source": self.source,
            "measured": self.measured,
        }


def _measured_line(
    tenant: TenantFacts, fact: FactId, topic: str, words: Mapping[object, str], model: str
) -> LearnedLine:
    found = tenant.measured.get(fact)
    if found is None:
        return LearnedLine(topic, "not measured yet", f"model (unverified): {model}", False)
    finding = words.get(found.value, str(found.value))
    return LearnedLine(topic, finding, f"measured {found.on}: {found.how}", True)


def _codes_finding(tenant: TenantFacts) -> str:
    by_meaning: dict[str, list[str]] = {}
    for code, tally in sorted(tenant.codes.items()):
        by_meaning.setdefault(tally.meaning, []).append(f"{code} ({tally.seen:,})")
    order = ("paid", "part-paid", "unpaid", "mixed")
    return "; ".join(f"{m}: {', '.join(by_meaning[m])}" for m in order if m in by_meaning)


def _changes_line(tenant: TenantFacts) -> LearnedLine:
    """Whether a read of only the changed invoices misses nothing here (see `ChangeWitness`)."""
    line = _measured_line(
        tenant,
        FactId.CHANGES_MOVE_LAST_MODIFIED,
        "Reading only the changed invoices misses none",
        {
            True: "yes: runs read only what changed since the last completed run",
            False: "no: runs read every invoice unless asked otherwise",
        },
        facts.INCREMENTAL_RESTS_ON,
    )
    if line.measured or not tenant.change_evidence:
        return line
    return LearnedLine(
        line.topic,
        f"not measured yet ({len(tenant.change_evidence)} of {facts.MIN_CHANGE_SAMPLES} invoices "
        "needed to show it)",
        line.source,
        False,
    )


#: The list filters whose honouring is measured, with what each one does.
_FILTERS: tuple[tuple[FactId, str], ...] = (
    (FactId.FILTER_POSTEDONLY, "postedonly (posted invoices only)"),
    (FactId.FILTER_INCLUDECREDITS, "includecredits=false (no credit notes)"),
    (FactId.FILTER_PAYMENTSTATUSES, "paymentstatuses (by payment status)"),
    (FactId.FILTER_DATESEARCH, "datesearch=last_modified (by change date)"),
)


def _filter_lines(tenant: TenantFacts) -> list[LearnedLine]:
    return [
        _measured_line(
            tenant,
            fact,
            f"Halo honours the filter {name}",
            {True: "yes", False: "no: it is ignored, so more invoices are read"},
            "an older build may ignore it (then more rows come back, never fewer)",
        )
        for fact, name in _FILTERS
    ]


def learned_lines(tenant: TenantFacts) -> list[LearnedLine]:
    """Everything known about this Halo, each line saying whether it was measured here or still
    rests on the model (`halo.facts`)."""
    lines: list[LearnedLine] = []
    if tenant.codes:
        lines.append(
            LearnedLine(
                "Payment status codes",
                _codes_finding(tenant),
                f"measured {tenant.codes_on}: from the amounts of the invoices read",
                True,
            )
        )
    else:
        lines.append(
            LearnedLine(
                "Payment status codes",
                "not measured yet",
                "model (unverified): 0 and -1 are unpaid (Halo's own unpaid filter); the paid "
                "and part-paid codes are not known",
                False,
            )
        )
    proven = sorted(tenant.proven_paid_codes())
    if proven or tenant.contradicted:
        finding = (
            f"status {', '.join(map(str, proven))} left unread on long lists"
            if proven
            else "none left unread"
        )
        if tenant.contradicted:
            finding += (
                f"; status {', '.join(map(str, sorted(tenant.contradicted)))} read again "
                "(an invoice with it had something due)"
            )
        lines.append(
            LearnedLine(
                "Proven paid",
                finding,
                f"measured: every invoice sampled with it fully paid (at least "
                f"{facts.MIN_STATUS_SAMPLES})",
                True,
            )
        )
    lines.append(
        _measured_line(
            tenant,
            FactId.PAGE_CAP,
            "Largest page",
            {facts.REQUESTED_PAGE_SIZE: f"{facts.REQUESTED_PAGE_SIZE} (as many as asked for)"},
            facts.UNVERIFIED_NOTES["page_size"],
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.SAVE_MOVES_LAST_SYNCED,
            "Saving a link pushes the invoice to the accounting tool",
            {True: "yes (last_synced moved)", False: "no (last_synced did not move)"},
            "unknown until the pilot saves one link",
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.PAY_BUTTON_SHOWN,
            "The portal shows the Pay button",
            {True: "yes, the admin saw it", False: "no, the admin did not see it"},
            facts.UNVERIFIED_NOTES["link_field"],
        )
    )
    lines.append(
        _measured_line(
            tenant,
            FactId.VALIDATE_ONLY_SAVES_NOTHING,
            "A validate-only edit saves nothing",
            {
                True: "yes (the invoice read the same before and after)",
                False: "no (the invoice changed): dry runs send no check",
            },
            facts.UNVERIFIED_NOTES["validate_only"],
        )
    )
    lines.extend(_filter_lines(tenant))
    lines.append(_changes_line(tenant))
    full = tenant.last_full_scan
    lines.append(
        LearnedLine(
            "Last full read",
            full[:10] if full else "none yet",
            f"every posted invoice is read again at least every {facts.FULL_READ_EVERY_DAYS} "
            f"days, and after {facts.FULL_READ_EVERY_RUNS} runs that read only part of the list",
            full is not None,
        )
    )
    return lines
