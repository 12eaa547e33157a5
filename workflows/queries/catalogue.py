"""Read models of the catalogue: the owners file as exported, and counts at a glance."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.model import Milestone, OwnerRole, Recommendation


def export_owners(uow: SqlUnitOfWork) -> str:
    """Owners and milestones of every recommendation as YAML, one document per report."""
    with uow:
        recommendations = uow.recommendations.list()
        owners: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for row in uow.session.execute(
            select(
                tables.ownerships.c.recommendation_id,
                tables.ownerships.c.agency_code,
                tables.ownerships.c.role,
            ).order_by(tables.ownerships.c.role.desc(), tables.ownerships.c.id)
        ):
            owners[row.recommendation_id].append((row.agency_code, row.role))
        milestones: dict[int, list[Milestone]] = defaultdict(list)
        for milestone in uow.milestones.list():
            milestones[milestone.recommendation_id].append(milestone)
        documents: dict[str, list[str]] = {}
        for rec in recommendations:
            lines = documents.setdefault(rec.source, _header(rec.source))
            assert rec.id is not None
            lines += _export_item(rec, owners.get(rec.id, []), milestones.get(rec.id, []))
    return "---\n".join("\n".join(lines) + "\n" for lines in documents.values())


def _header(source: str) -> list[str]:
    return [
        f"# Owners and milestones of {source}. Edit, then: followup owners apply FILE.yaml",
        "# owners: agency code -> lead | contributor (exactly one lead); items left out stay as they are.",
        "# milestones: title (the key: same title = same milestone), due (YYYY-MM-DD), agency.",
        f"report: {_quote(source)}",
        "recommendations:",
    ]


def _export_item(
    rec: Recommendation, owners: list[tuple[str, str]], milestones: list[Milestone]
) -> list[str]:
    summary = " ".join(rec.text.split())
    summary = summary if len(summary) <= 90 else summary[:87] + "..."
    if not owners and not milestones:
        return [f"  {_quote(rec.code)}: {{}}  # no owner yet. {summary}"]
    lines = [f"  {_quote(rec.code)}:  # {summary}"]
    if owners:
        lines.append("    owners: {" + ", ".join(f"{a}: {r}" for a, r in owners) + "}")
    if milestones:
        lines.append("    milestones:")
        for m in milestones:
            agency = f", agency: {m.agency_code}" if m.agency_code else ""
            lines.append(
                f"      - {{title: {_quote(m.title)}, due: {m.due_date.isoformat()}{agency}}}  # {m.state}"
            )
    return lines


def _quote(value: str) -> str:
    # A double-quoted YAML scalar: JSON escaping is valid YAML and survives any character.
    return (
        value
        if value.replace(".", "").replace("-", "").isalnum() and value[0].isalpha()
        else json.dumps(value)
    )


@dataclass(frozen=True)
class CatalogueSummary:
    """Items per agenda point and per owner."""

    per_point: list[tuple[str, int]]
    per_owner: list[tuple[str, int, int]]
    without_owner: int
    milestones: int


def catalogue_summary(uow: SqlUnitOfWork) -> CatalogueSummary:
    """Counts for `followup catalogue`, by bulk queries (no per-item loading)."""
    recs, owners = tables.recommendations, tables.ownerships
    with uow:
        session = uow.session
        points = session.execute(
            select(recs.c.kind, recs.c.agenda_point, recs.c.agenda_title, func.count())
            .group_by(recs.c.kind, recs.c.agenda_point, recs.c.agenda_title)
            .order_by(recs.c.kind.desc(), recs.c.agenda_point)
        ).all()
        roles = session.execute(
            select(owners.c.agency_code, owners.c.role, func.count()).group_by(
                owners.c.agency_code, owners.c.role
            )
        ).all()
        without = session.scalar(
            select(func.count()).select_from(recs).where(~recs.c.id.in_(select(owners.c.recommendation_id)))
        )
        milestones = session.scalar(select(func.count()).select_from(tables.milestones))
    per_point: dict[str, int] = {}
    for kind, point, title, count in points:
        label = kind if point is None else f"{point}. {title or ''}".strip()
        per_point[label] = per_point.get(label, 0) + count
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for agency, role, count in roles:
        counts[agency][0 if role == OwnerRole.LEAD.value else 1] += count
    per_owner = sorted(
        ((a, c[0], c[1]) for a, c in counts.items()), key=lambda row: (-row[1] - row[2], row[0])
    )
    return CatalogueSummary(list(per_point.items()), per_owner, int(without or 0), int(milestones or 0))
