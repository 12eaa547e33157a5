"""The owners file: the secretariat's bulk review of owners and milestones, applied all or nothing.

`followup owners export` writes the file (`workflows.queries.catalogue.export_owners`); this applies it
after checking every line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import yaml

from domain.errors import ValidationError
from domain.lifecycle import Transition
from domain.model import Milestone, OwnerRole, Ownership, Recommendation
from domain.ports import Clock, UnitOfWork
from workflows.services.catalogue import add_milestone, record_owners
from workflows.services.intake import yaml_nodes


@dataclass(frozen=True)
class ApplySummary:
    """What applying an owners file did."""

    recommendations: int
    owners_changed: int
    milestones_added: int
    milestones_updated: int


@dataclass
class OwnersPlan:
    """What is asked for one recommendation's owners and milestones (validated)."""

    rec: Recommendation
    owners: dict[str, OwnerRole] | None = None
    milestones: list[tuple[str, date, str | None]] = field(default_factory=list)


def apply_owners(
    uow: UnitOfWork, yaml_text: str, *, clock: Clock, by: str, name: str = "owners file"
) -> ApplySummary:
    """Set owners and milestones from a YAML file (see `export_owners`); everything is checked first."""
    with uow:
        recommendations = uow.recommendations.list()
        known_agencies = {agency.code for agency in uow.agencies.list()}
        plans = _Reader(name, recommendations, known_agencies).read(yaml_text)
        summary = apply_plans(uow, plans, at=clock.now(), by=by)
        uow.commit()
    return summary


def apply_plans(uow: UnitOfWork, plans: list[OwnersPlan], *, at: datetime, by: str) -> ApplySummary:
    """Apply checked plans inside the caller's open unit of work, committing nothing (the caller does)."""
    ids = [plan.rec.id for plan in plans if plan.rec.id is not None]
    current: dict[int | None, list[Ownership]] = defaultdict(list)
    for ownership in uow.ownerships.for_recommendations(ids):
        current[ownership.recommendation_id].append(ownership)
    planned: dict[tuple[int | None, str], Milestone] = {
        (m.recommendation_id, m.title): m for m in uow.milestones.for_recommendations(ids)
    }
    owners_changed = added = updated = 0
    for plan in plans:
        if plan.owners is not None and _set_owners(uow, plan.rec, plan.owners, current[plan.rec.id], at, by):
            owners_changed += 1
        lead = _lead_of(plan, current[plan.rec.id])
        for title, due, agency in plan.milestones:
            existing = planned.get((plan.rec.id, title))
            if existing is None:
                assert plan.rec.id is not None
                add_milestone(
                    uow, plan.rec.id, title, due, agency or lead, at=at, by=by, why="milestone added"
                )
                added += 1
            elif existing.due_date != due or existing.agency_code != (agency or existing.agency_code):
                existing.record(
                    Transition(
                        existing.ENTITY,
                        existing.history_key(),
                        existing.state,
                        existing.state,
                        at,
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
    return ApplySummary(len(plans), owners_changed, added, updated)


def _lead_of(plan: OwnersPlan, current: list[Ownership]) -> str | None:
    if plan.owners is not None:
        return next(code for code, role in plan.owners.items() if role == OwnerRole.LEAD)
    return next((o.agency_code for o in current if o.role == OwnerRole.LEAD.value), None)


def _set_owners(
    uow: UnitOfWork,
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
            uow.ownerships.remove(ownership)
            current.remove(ownership)
        elif ownership.role != wanted[ownership.agency_code].value:
            ownership.role, ownership.reason = wanted[ownership.agency_code].value, reason
    for code, role in wanted.items():
        if code not in old:
            assert rec.id is not None
            ownership = Ownership(recommendation_id=rec.id, agency_code=code, role=role, reason=reason)
            uow.ownerships.add(ownership)
            current.append(ownership)
    record_owners(uow, rec, wanted, old, at, by, "owners file applied")
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

    def read(self, text: str) -> list[OwnersPlan]:
        plans: dict[int | None, OwnersPlan] = {}
        for document in yaml_nodes(text, source=self.name):
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

    def _document(self, document: yaml.Node) -> list[OwnersPlan]:
        top = self._mapping(document, "the file", {"report", "recommendations"})
        report = self._scalar(top["report"][1], "report") if "report" in top else None
        if "recommendations" not in top:
            raise self.fail(document, "expected a 'recommendations:' mapping")
        items = self._mapping(top["recommendations"][1], "recommendations")
        return [self._item(key, value, report) for key, value in items.values()]

    def _item(self, key: yaml.Node, value: yaml.Node, report: str | None) -> OwnersPlan:
        code = str(key.value)
        matches = [r for r in self.by_code.get(code, []) if report is None or r.source == report]
        if not matches:
            in_report = f" in report '{report}'" if report else ""
            raise self.fail(key, f"unknown recommendation code '{code}'{in_report}")
        if len(matches) > 1:
            raise self.fail(key, f"code '{code}' exists in several reports: add 'report: ...' to the file")
        plan = OwnersPlan(matches[0])
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
