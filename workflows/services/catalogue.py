"""The catalogue: import a report's recommendations, suggest and set owners and milestones.

Each use case is one transaction: it validates everything first and writes all or nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import yaml
from sqlalchemy import func, insert, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain import owners as owner_rules
from domain.errors import ValidationError
from domain.importer import parse_report
from domain.lifecycle import Transition
from domain.model import Milestone, OwnerRole, Ownership, Recommendation
from domain.ports import Clock

OWNERSHIP = "ownership"
T = TypeVar("T")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    uow: SqlUnitOfWork,
    text: str,
    *,
    source: str | None,
    clock: Clock,
    by: str,
    filename: str | None = None,
) -> ImportSummary:
    """Store a report's recommendations; re-importing adds new items and amends changed ones in place."""
    report = parse_report(text, source=source, filename=filename)
    now = clock.now()
    added = updated = unchanged = 0
    with uow:
        existing = {rec.code: rec for rec in uow.recommendations.list(source=report.source)}
        for item in report.items:
            rec = existing.pop(item.code, None)
            if rec is None:
                rec = item.to_recommendation(report.source)
                rec.record(Transition(rec.ENTITY, rec.history_key(), None, rec.state, now, by, "imported"))
                uow.recommendations.add(rec)
                added += 1
            elif rec.amend(
                text=item.text,
                at=now,
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
        uow.commit()
    return ImportSummary(report.source, added, updated, unchanged, len(report.items), tuple(sorted(existing)))


@dataclass(frozen=True)
class OwnerSuggestion:
    """The owners suggested for one recommendation; `kept` when it already had owners (left alone)."""

    source: str
    code: str
    owners: tuple[owner_rules.SuggestedOwner, ...]
    kept: bool


def suggest_owners(uow: SqlUnitOfWork, *, apply: bool, clock: Clock, by: str) -> list[OwnerSuggestion]:
    """Suggest owners for every recommendation; with `apply`, store them where an item has none yet."""
    now = clock.now()
    with uow:
        recommendations = uow.recommendations.list()
        agencies = uow.agencies.list()
        owned = set(uow.session.scalars(select(tables.ownerships.c.recommendation_id).distinct()))
        by_source: dict[str, list[Recommendation]] = defaultdict(list)
        for rec in recommendations:
            by_source[rec.source].append(rec)
        suggestions: list[OwnerSuggestion] = []
        rows: list[dict[str, Any]] = []
        for source, recs in by_source.items():
            suggested = owner_rules.suggest(recs, agencies)
            for rec in recs:
                owners = tuple(suggested[rec.code])
                kept = rec.id in owned
                suggestions.append(OwnerSuggestion(source, rec.code, owners, kept))
                if apply and not kept:
                    rows += [_ownership_row(rec, o.agency_code, o.role, o.reason) for o in owners]
                    _record_owners(
                        uow, rec, {o.agency_code: o.role for o in owners}, {}, now, by, "suggested"
                    )
        if apply and rows:
            uow.session.execute(insert(tables.ownerships), rows)
            uow.commit()
    return suggestions


def _ownership_row(rec: Recommendation, agency: str, role: OwnerRole, reason: str) -> dict[str, Any]:
    return {"recommendation_id": rec.id, "agency_code": agency, "role": role.value, "reason": reason}


def _record_owners(
    uow: SqlUnitOfWork,
    rec: Recommendation,
    new: dict[str, OwnerRole],
    old: dict[str, str],
    at: datetime,
    by: str,
    why: str,
) -> None:
    for agency in sorted(set(new) | set(old)):
        before, after = old.get(agency), new[agency].value if agency in new else "removed"
        if before != after:
            uow.record(
                Transition(OWNERSHIP, rec.history_key(), before, after, at, by, why, {"agency": agency})
            )


# ---- export / apply: the secretariat's bulk review of owners and milestones ----------------------


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
class ApplySummary:
    """What applying an owners file did."""

    recommendations: int
    owners_changed: int
    milestones_added: int
    milestones_updated: int


@dataclass
class _Plan:
    """What the file asks for one recommendation (validated)."""

    rec: Recommendation
    owners: dict[str, OwnerRole] | None = None
    milestones: list[tuple[str, date, str | None]] = field(default_factory=list)


def apply_owners(
    uow: SqlUnitOfWork, yaml_text: str, *, clock: Clock, by: str, name: str = "owners file"
) -> ApplySummary:
    """Set owners and milestones from a YAML file (see `export_owners`); everything is checked first."""
    now = clock.now()
    with uow:
        recommendations = uow.recommendations.list()
        known_agencies = {agency.code for agency in uow.agencies.list()}
        plans = _Reader(name, recommendations, known_agencies).read(yaml_text)
        ids = [plan.rec.id for plan in plans]
        current: dict[int | None, list[Ownership]] = defaultdict(list)
        for ownership in _for_recommendations(uow, Ownership, tables.ownerships, ids):
            current[ownership.recommendation_id].append(ownership)
        planned: dict[tuple[int | None, str], Milestone] = {
            (m.recommendation_id, m.title): m
            for m in _for_recommendations(uow, Milestone, tables.milestones, ids)
        }
        owners_changed = added = updated = 0
        for plan in plans:
            if plan.owners is not None and _set_owners(
                uow, plan.rec, plan.owners, current[plan.rec.id], now, by
            ):
                owners_changed += 1
            lead = _lead_of(plan, current[plan.rec.id])
            for title, due, agency in plan.milestones:
                existing = planned.get((plan.rec.id, title))
                if existing is None:
                    assert plan.rec.id is not None
                    milestone = Milestone(
                        recommendation_id=plan.rec.id, title=title, due_date=due, agency_code=agency or lead
                    )
                    milestone.record(
                        Transition(
                            milestone.ENTITY,
                            milestone.history_key(),
                            None,
                            milestone.state,
                            now,
                            by,
                            "milestone added",
                            {"due": due.isoformat(), "agency": agency or lead},
                        )
                    )
                    uow.milestones.add(milestone)
                    added += 1
                elif existing.due_date != due or existing.agency_code != (agency or existing.agency_code):
                    existing.record(
                        Transition(
                            existing.ENTITY,
                            existing.history_key(),
                            existing.state,
                            existing.state,
                            now,
                            by,
                            "milestone rescheduled",
                            {
                                "old_due": existing.due_date.isoformat(),
                                "new_due": due.isoformat(),
                                "agency": agency or existing.agency_code,
                            },
                        )
                    )
                    existing.due_date, existing.agency_code = due, agency or existing.agency_code
                    updated += 1
        uow.commit()
    return ApplySummary(len(plans), owners_changed, added, updated)


def _for_recommendations(uow: SqlUnitOfWork, entity: type[T], table: Any, ids: list[int | None]) -> list[T]:
    """Entities of these recommendations, in chunks (databases cap the parameters of one query)."""
    found: list[T] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found += uow.session.scalars(select(entity).where(table.c.recommendation_id.in_(chunk)))
    return found


def _lead_of(plan: _Plan, current: list[Ownership]) -> str | None:
    if plan.owners is not None:
        return next(code for code, role in plan.owners.items() if role == OwnerRole.LEAD)
    return next((o.agency_code for o in current if o.role == OwnerRole.LEAD.value), None)


def _set_owners(
    uow: SqlUnitOfWork,
    rec: Recommendation,
    wanted: dict[str, OwnerRole],
    current: list[Ownership],
    at: datetime,
    by: str,
) -> bool:
    old = {o.agency_code: o.role for o in current}
    if old == {code: role.value for code, role in wanted.items()}:
        return False
    reason = f"set by {by}"
    for ownership in list(current):
        if ownership.agency_code not in wanted:
            uow.session.delete(ownership)
            current.remove(ownership)
        elif ownership.role != wanted[ownership.agency_code].value:
            ownership.role, ownership.reason = wanted[ownership.agency_code].value, reason
    for code, role in wanted.items():
        if code not in old:
            assert rec.id is not None
            ownership = Ownership(recommendation_id=rec.id, agency_code=code, role=role, reason=reason)
            uow.ownerships.add(ownership)
            current.append(ownership)
    _record_owners(uow, rec, wanted, old, at, by, "owners file applied")
    return True


class _Reader:
    """Reads an owners file node by node, so every error names its line."""

    def __init__(self, name: str, recommendations: Iterable[Recommendation], agencies: set[str]) -> None:
        self.name = name
        self.agencies = agencies
        self.by_code: dict[str, list[Recommendation]] = defaultdict(list)
        for rec in recommendations:
            self.by_code[rec.code].append(rec)

    def fail(self, node: yaml.Node, message: str) -> ValidationError:
        return ValidationError(f"{self.name} line {node.start_mark.line + 1}", message)

    def read(self, text: str) -> list[_Plan]:
        try:
            documents = list(yaml.compose_all(text, Loader=_Loader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ValidationError(
                f"{self.name}{where}", f"not valid YAML: {getattr(exc, 'problem', exc)}"
            ) from None
        plans: dict[int | None, _Plan] = {}
        for document in documents:
            if document is None:
                continue
            for plan in self._document(document):
                if plan.rec.id in plans:
                    raise ValidationError(self.name, f"{plan.rec.code} is listed twice")
                plans[plan.rec.id] = plan
        if not plans:
            raise ValidationError(self.name, "names no recommendation (expected 'recommendations:')")
        return list(plans.values())

    def _mapping(
        self, node: yaml.Node, what: str, allowed: set[str] | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        pairs: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"keys of {what} must be plain words")
            if key.value in pairs:
                raise self.fail(key, f"'{key.value}' appears twice in {what}")
            if allowed is not None and key.value not in allowed:
                raise self.fail(
                    key, f"unknown key '{key.value}' in {what} (expected: {', '.join(sorted(allowed))})"
                )
            pairs[key.value] = (key, value)
        return pairs

    def _scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a single value")
        return str(node.value).strip()

    def _document(self, document: yaml.Node) -> list[_Plan]:
        top = self._mapping(document, "the file", {"report", "recommendations"})
        report = self._scalar(top["report"][1], "report") if "report" in top else None
        if "recommendations" not in top:
            raise self.fail(document, "expected a 'recommendations:' mapping")
        items = self._mapping(top["recommendations"][1], "recommendations")
        return [self._item(key, value, report) for key, value in items.values()]

    def _item(self, key: yaml.Node, value: yaml.Node, report: str | None) -> _Plan:
        code = str(key.value)
        matches = [r for r in self.by_code.get(code, []) if report is None or r.source == report]
        if not matches:
            in_report = f" in report '{report}'" if report else ""
            raise self.fail(key, f"unknown recommendation code '{code}'{in_report}")
        if len(matches) > 1:
            raise self.fail(key, f"code '{code}' exists in several reports: add 'report: ...' to the file")
        plan = _Plan(matches[0])
        fields = self._mapping(value, code, {"owners", "milestones"})
        if "owners" in fields:
            plan.owners = self._owners(code, *fields["owners"])
        if "milestones" in fields:
            plan.milestones = self._milestones(code, fields["milestones"][1])
        return plan

    def _owners(self, code: str, key: yaml.Node, node: yaml.Node) -> dict[str, OwnerRole]:
        owners: dict[str, OwnerRole] = {}
        for agency_node, role_node in self._mapping(node, f"owners of {code}").values():
            agency = str(agency_node.value)
            if agency not in self.agencies:
                raise self.fail(agency_node, f"unknown agency '{agency}' (see `followup agencies list`)")
            role = self._scalar(role_node, f"the role of {agency}")
            if role not in {r.value for r in OwnerRole}:
                raise self.fail(role_node, f"role of {agency} must be 'lead' or 'contributor', not '{role}'")
            owners[agency] = OwnerRole(role)
        leads = [a for a, r in owners.items() if r == OwnerRole.LEAD]
        if len(leads) != 1:
            raise self.fail(key, f"{code} needs exactly one lead (found {len(leads)})")
        return owners

    def _milestones(self, code: str, node: yaml.Node) -> list[tuple[str, date, str | None]]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"milestones of {code} must be a list")
        seen: set[str] = set()
        out: list[tuple[str, date, str | None]] = []
        for entry in node.value:
            fields = self._mapping(entry, f"a milestone of {code}", {"title", "due", "agency"})
            for required in ("title", "due"):
                if required not in fields:
                    raise self.fail(entry, f"a milestone of {code} needs a '{required}'")
            title = self._scalar(fields["title"][1], "title")
            if len(title) > 500:
                raise self.fail(fields["title"][1], "a milestone title is at most 500 characters")
            if title in seen:
                raise self.fail(fields["title"][1], f"milestone '{title}' appears twice under {code}")
            seen.add(title)
            due_node = fields["due"][1]
            due_text = self._scalar(due_node, "due")
            try:
                due = date.fromisoformat(due_text)
            except ValueError:
                raise self.fail(due_node, f"bad date '{due_text}' (expected YYYY-MM-DD)") from None
            agency = None
            if "agency" in fields:
                agency = self._scalar(fields["agency"][1], "agency")
                if agency not in self.agencies:
                    raise self.fail(
                        fields["agency"][1], f"unknown agency '{agency}' (see `followup agencies list`)"
                    )
            out.append((title, due, agency))
        return out


# ---- the catalogue at a glance ---------------------------------------------------------------------


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
