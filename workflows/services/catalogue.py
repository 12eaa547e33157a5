"""The catalogue: import a report's recommendations, suggest owners (rules: `domain.owners`).

Each use case is one transaction: it validates everything first and writes all or nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain import commitments
from domain import owners as owner_rules
from domain.errors import NotFound
from domain.importer import ParsedReport, parse_report
from domain.lifecycle import Transition
from domain.model import Milestone, OwnerRole, Ownership, Recommendation
from domain.ports import Clock, UnitOfWork
from domain.publication import check_one_folder_per_report, check_one_page_per_code

OWNERSHIP = "ownership"


@dataclass(frozen=True)
class ImportSummary:
    """What importing a report did."""

    source: str
    added: int
    updated: int
    unchanged: int
    items: int
    # Codes stored from an earlier import that this version of the report no longer has (kept as they are).
    not_in_report: tuple[str, ...] = ()


def import_report(
    uow: UnitOfWork,
    text: str,
    *,
    source: str | None,
    clock: Clock,
    by: str,
    filename: str | None = None,
) -> ImportSummary:
    """Store a report's recommendations; re-importing adds new items and amends changed ones in place."""
    return store_report(uow, parse_report(text, source=source, filename=filename), clock=clock, by=by)


def store_report(uow: UnitOfWork, report: ParsedReport, *, clock: Clock, by: str) -> ImportSummary:
    """Store parsed recommendations: new codes are added, changed ones amended in place, the rest kept."""
    with uow:
        summary = stage_report(uow, report, at=clock.now(), by=by)
        uow.commit()
    return summary


def stage_report(uow: UnitOfWork, report: ParsedReport, *, at: datetime, by: str) -> ImportSummary:
    """`store_report` inside the caller's open unit of work, committing nothing (the caller does)."""
    added = updated = unchanged = 0
    existing = {rec.code: rec for rec in uow.recommendations.list(source=report.source)}
    if not existing:
        check_one_folder_per_report(report.source, uow.recommendations.sources())
    check_one_page_per_code([*existing, *(item.code for item in report.items)])
    for item in report.items:
        rec = existing.pop(item.code, None)
        if rec is None:
            rec = item.to_recommendation(report.source)
            rec.record(Transition(rec.ENTITY, rec.history_key(), None, rec.state, at, by, "imported"))
            uow.recommendations.add(rec)
            added += 1
        elif rec.amend(
            text=item.text,
            at=at,
            by=by,
            kind=item.kind,
            position=item.position,
            agenda_point=item.agenda_point,
            agenda_title=item.agenda_title,
            theme=item.theme,
            parent_code=item.parent,
        ):
            updated += 1
        else:
            unchanged += 1
    return ImportSummary(report.source, added, updated, unchanged, len(report.items), tuple(sorted(existing)))


@dataclass(frozen=True)
class OwnerSuggestion:
    """The owners suggested for one recommendation; `kept` when it already had owners (left alone)."""

    source: str
    code: str
    owners: tuple[owner_rules.SuggestedOwner, ...]
    kept: bool


def suggest_owners(uow: UnitOfWork, *, apply: bool, clock: Clock, by: str) -> list[OwnerSuggestion]:
    """Suggest owners for every recommendation; with `apply`, store them where an item has none yet."""
    now = clock.now()
    with uow:
        recommendations = uow.recommendations.list()
        agencies = uow.agencies.list()
        owned = uow.ownerships.owned_recommendation_ids()
        by_source: dict[str, list[Recommendation]] = defaultdict(list)
        for rec in recommendations:
            by_source[rec.source].append(rec)
        suggestions: list[OwnerSuggestion] = []
        new: list[Ownership] = []
        for source, recs in by_source.items():
            suggested = owner_rules.suggest(recs, agencies)
            for rec in recs:
                owners = tuple(suggested[rec.code])
                kept = rec.id in owned
                suggestions.append(OwnerSuggestion(source, rec.code, owners, kept))
                if apply and not kept:
                    assert rec.id is not None
                    new += [
                        Ownership(
                            recommendation_id=rec.id, agency_code=o.agency_code, role=o.role, reason=o.reason
                        )
                        for o in owners
                    ]
                    record_owners(uow, rec, {o.agency_code: o.role for o in owners}, {}, now, by, "suggested")
        if apply and new:
            uow.ownerships.add_many(new)
            uow.commit()
    return suggestions


def record_owners(
    uow: UnitOfWork,
    rec: Recommendation,
    new: dict[str, OwnerRole],
    old: dict[str, str],
    at: datetime,
    by: str,
    why: str,
) -> None:
    """Record in the history each owner added, removed or whose role changed (old -> new)."""
    for agency in sorted(set(new) | set(old)):
        before, after = old.get(agency), new[agency].value if agency in new else "removed"
        if before != after:
            uow.record(
                Transition(OWNERSHIP, rec.history_key(), before, after, at, by, why, {"agency": agency})
            )


@dataclass(frozen=True)
class MilestoneSuggestion:
    """A milestone proposed from the report; `agency` is the one named, else the item's lead."""

    source: str
    proposed: commitments.SuggestedMilestone
    agency: str | None
    already_stored: bool


def suggest_milestones(
    uow: UnitOfWork,
    text: str,
    *,
    source: str | None,
    apply: bool,
    clock: Clock,
    by: str,
    filename: str | None = None,
) -> list[MilestoneSuggestion]:
    """Propose milestones from the report's dated commitments; with `apply`, store the new ones."""
    report = parse_report(text, source=source, filename=filename)
    now = clock.now()
    with uow:
        recs = uow.recommendations.list(source=report.source)
        if not recs:
            raise NotFound(f"report '{report.source}' is not imported: run `followup import` first")
        by_code = {rec.code: rec for rec in recs}
        suggestions: list[MilestoneSuggestion] = []
        for proposed in commitments.suggest_milestones(text, recs, uow.agencies.list()):
            rec = by_code[proposed.code]
            assert rec.id is not None
            titles = {m.title for m in uow.milestones.for_recommendation(rec.id)}
            lead = next(
                (
                    o.agency_code
                    for o in uow.ownerships.for_recommendation(rec.id)
                    if o.role == OwnerRole.LEAD
                ),
                None,
            )
            agency = proposed.agency_code or lead
            stored = proposed.title in titles
            suggestions.append(MilestoneSuggestion(report.source, proposed, agency, stored))
            if apply and not stored:
                add_milestone(
                    uow,
                    rec.id,
                    proposed.title,
                    proposed.due,
                    agency,
                    at=now,
                    by=by,
                    why="suggested from the report",
                    section=proposed.section,
                    sentence=proposed.sentence,
                    reason=proposed.reason,
                )
        if apply:
            uow.commit()
    return suggestions


def add_milestone(
    uow: UnitOfWork,
    recommendation_id: int,
    title: str,
    due: date,
    agency: str | None,
    *,
    at: datetime,
    by: str,
    why: str,
    **provenance: Any,
) -> None:
    """Store a new milestone with the history entry that says why (and from where) it was added."""
    milestone = Milestone(recommendation_id=recommendation_id, title=title, due_date=due, agency_code=agency)
    details = {"due": due.isoformat(), "agency": agency, **provenance}
    milestone.record(
        Transition(milestone.ENTITY, milestone.history_key(), None, milestone.state, at, by, why, details)
    )
    uow.milestones.add(milestone)


def milestones_file(suggestions: list[MilestoneSuggestion]) -> str:
    """The suggestions as an owners file to review and apply (`followup owners apply`), with provenance."""
    lines = [
        "# Milestones proposed by `followup milestones suggest` from the dated commitments in the report's",
        "# prose. Review them: correct titles and dates, delete what is no milestone, then apply the file",
        "# with `followup owners apply FILE`. Each comment gives the section and sentence it comes from.",
    ]
    if suggestions:
        lines.append(f"report: {json.dumps(suggestions[0].source, ensure_ascii=False)}")
    lines.append("recommendations:")
    by_code: dict[str, list[MilestoneSuggestion]] = defaultdict(list)
    for suggestion in suggestions:
        by_code[suggestion.proposed.code].append(suggestion)
    for code, entries in by_code.items():
        lines += [f"  {code}:", "    milestones:"]
        for entry in entries:
            proposed = entry.proposed
            sentence = " ".join(proposed.sentence.split())
            lines += [
                f"      # {proposed.section}: {sentence}",
                f"      # linked: {proposed.reason}",
                f"      - {{title: {json.dumps(proposed.title, ensure_ascii=False)}, "
                f"due: {proposed.due.isoformat()}" + (f", agency: {entry.agency}}}" if entry.agency else "}"),
            ]
    return "\n".join(lines) + "\n"
