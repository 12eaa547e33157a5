"""Catalogue use cases on real databases: import, re-import, owners and milestones in bulk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.lifecycle import MilestoneState
from workflows.bootstrap import FixedClock
from workflows.queries import catalogue as catalogue_reads
from workflows.services import catalogue
from workflows.services import owners as owners_file
from workflows.services.agencies import load_shipped_registry

SEED = Path(__file__).resolve().parents[2] / "db" / "seed"
SAMPLE = (SEED / "CEB-2014-4-Annex-V.md").read_text(encoding="utf-8")
DEMO_OWNERS = (SEED / "demo-owners.yaml").read_text(encoding="utf-8")
DEMO_MILESTONES = (SEED / "demo-milestones.yaml").read_text(encoding="utf-8")
SOURCE = "CEB/2014/4 Annex V"
CLOCK = FixedClock(date(2014, 7, 1))
BY = "secretariat@test"


@pytest.fixture
def catalogue_uow(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    """The registry loaded and the sample report imported."""
    load_shipped_registry(uow)
    catalogue.import_report(uow, SAMPLE, source=None, clock=CLOCK, by=BY)
    return uow


def _count(uow: SqlUnitOfWork, table) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def test_importing_the_sample_report_stores_every_item_once(uow: SqlUnitOfWork) -> None:
    first = catalogue.import_report(uow, SAMPLE, source=None, clock=CLOCK, by=BY)
    assert (first.source, first.added, first.updated, first.unchanged) == (SOURCE, 85, 0, 0)
    again = catalogue.import_report(uow, SAMPLE, source=None, clock=CLOCK, by=BY)
    assert (again.added, again.updated, again.unchanged, again.not_in_report) == (0, 0, 85, ())
    assert _count(uow, tables.recommendations) == 85
    with uow:
        rec = uow.recommendations.get(SOURCE, "A6.4.2")
        assert rec is not None and rec.parent_code == "A6.4" and rec.agenda_point == 6
        assert [row.to_state for row in uow.history.for_key("recommendation", f"{SOURCE}:A6.4.2")] == [
            "active"
        ]


def test_an_amended_report_updates_the_text_records_it_and_keeps_owners_and_milestones(
    catalogue_uow: SqlUnitOfWork,
) -> None:
    uow = catalogue_uow
    catalogue.suggest_owners(uow, apply=True, clock=CLOCK, by=BY)
    owners_file.apply_owners(uow, DEMO_OWNERS, clock=CLOCK, by=BY)
    owners_file.apply_owners(uow, DEMO_MILESTONES, clock=CLOCK, by=BY)
    owners_before, milestones_before = _count(uow, tables.ownerships), _count(uow, tables.milestones)
    amended = SAMPLE.replace(
        "- Promote improved access to financial services by all migrants",
        "- Promote improved and affordable access to financial services by all migrants",
    ).replace(
        "- Support initiatives to leverage remittances", "- Support new initiatives to leverage remittances"
    )
    summary = catalogue.import_report(uow, amended, source=None, clock=CLOCK, by=BY)
    assert (summary.added, summary.updated, summary.unchanged) == (0, 2, 83)
    assert _count(uow, tables.recommendations) == 85
    assert (_count(uow, tables.ownerships), _count(uow, tables.milestones)) == (
        owners_before,
        milestones_before,
    )
    with uow:
        rec = uow.recommendations.get(SOURCE, "A2.5")
        assert rec is not None and rec.text.startswith("Promote improved and affordable access")
        history = uow.history.for_key("recommendation", f"{SOURCE}:A2.5")
        amendment = [row for row in history if row.to_state == "text_amended"]
        assert len(amendment) == 1 and amendment[0].by == BY
        assert amendment[0].data["old_text"].startswith("Promote improved access")
        neighbour = uow.recommendations.get(SOURCE, "A2.2")
        assert neighbour is not None and neighbour.id is not None
        assert {m.title for m in uow.milestones.for_recommendation(neighbour.id)} == {
            "Expert Meeting on the impact of access to financial services",
            "High level event on reducing remittance costs, including via mobile money",
        }


def test_items_missing_from_a_new_version_are_reported_and_kept(catalogue_uow: SqlUnitOfWork) -> None:
    shorter = SAMPLE[: SAMPLE.index("\n8. Enhance migration partnerships")]
    summary = catalogue.import_report(catalogue_uow, shorter, source=None, clock=CLOCK, by=BY)
    assert (summary.items, summary.unchanged, summary.not_in_report) == (83, 83, ("A8.1", "A8.2"))
    assert _count(catalogue_uow, tables.recommendations) == 85


def test_a_report_that_is_no_report_writes_nothing(uow: SqlUnitOfWork) -> None:
    with pytest.raises(ValidationError, match="no recommendations found"):
        catalogue.import_report(uow, "Minutes of a meeting.\n", source="X/1", clock=CLOCK, by=BY)
    assert _count(uow, tables.recommendations) == 0


def test_suggested_owners_cover_every_item_and_keep_existing_choices(catalogue_uow: SqlUnitOfWork) -> None:
    uow = catalogue_uow
    preview = catalogue.suggest_owners(uow, apply=False, clock=CLOCK, by=BY)
    assert len(preview) == 85 and _count(uow, tables.ownerships) == 0
    applied = catalogue.suggest_owners(uow, apply=True, clock=CLOCK, by=BY)
    assert not any(s.kept for s in applied)
    with uow:
        leads = uow.session.execute(
            select(tables.ownerships.c.recommendation_id, func.count())
            .where(tables.ownerships.c.role == "lead")
            .group_by(tables.ownerships.c.recommendation_id)
        ).all()
        assert len(leads) == 85 and all(count == 1 for _, count in leads)
        reasons = set(uow.session.scalars(select(tables.ownerships.c.reason)))
        assert "thematic default for point 1 / health" in reasons
    stored = _count(uow, tables.ownerships)
    again = catalogue.suggest_owners(uow, apply=True, clock=CLOCK, by=BY)
    assert all(s.kept for s in again) and _count(uow, tables.ownerships) == stored


def test_applying_the_demo_owners_sets_owners_and_milestones_and_is_idempotent(
    catalogue_uow: SqlUnitOfWork,
) -> None:
    uow = catalogue_uow
    first = owners_file.apply_owners(uow, DEMO_OWNERS, clock=CLOCK, by=BY)
    assert (first.recommendations, first.milestones_added, first.milestones_updated) == (18, 0, 0)
    planned = owners_file.apply_owners(uow, DEMO_MILESTONES, clock=CLOCK, by=BY)
    assert (planned.recommendations, planned.milestones_added, planned.milestones_updated) == (12, 18, 0)
    for text in (DEMO_OWNERS, DEMO_MILESTONES):
        again = owners_file.apply_owners(uow, text, clock=CLOCK, by=BY)
        assert (again.owners_changed, again.milestones_added, again.milestones_updated) == (0, 0, 0)
    with uow:
        rec = uow.recommendations.get(SOURCE, "A2.5")
        assert rec is not None and rec.id is not None
        owners = {o.agency_code: o.role for o in uow.ownerships.for_recommendation(rec.id)}
        assert owners == {"UNCTAD": "lead", "WORLD-BANK": "contributor"}
        meeting = uow.recommendations.get(SOURCE, "A2.2")
        assert meeting is not None and meeting.id is not None
        (milestone,) = [m for m in uow.milestones.for_recommendation(meeting.id) if "Expert" in m.title]
        assert (milestone.due_date, milestone.agency_code) == (date(2014, 11, 10), "UNCTAD")


def test_export_then_apply_changes_nothing_and_apply_keeps_a_milestones_state(
    catalogue_uow: SqlUnitOfWork,
) -> None:
    uow = catalogue_uow
    catalogue.suggest_owners(uow, apply=True, clock=CLOCK, by=BY)
    owners_file.apply_owners(uow, DEMO_OWNERS, clock=CLOCK, by=BY)
    owners_file.apply_owners(uow, DEMO_MILESTONES, clock=CLOCK, by=BY)
    with uow:
        rec = uow.recommendations.get(SOURCE, "A2.8")
        assert rec is not None and rec.id is not None
        (milestone,) = uow.milestones.for_recommendation(rec.id)
        milestone.transition(MilestoneState.DONE, at=CLOCK.now(), by=BY)
        uow.commit()
    exported = catalogue_reads.export_owners(uow)
    assert "A2.8:" in exported and "due: 2014-06-30, agency: UNESCO}  # done" in exported
    unchanged = owners_file.apply_owners(uow, exported, clock=CLOCK, by=BY)
    assert (unchanged.recommendations, unchanged.owners_changed, unchanged.milestones_updated) == (85, 0, 0)
    moved = exported.replace("due: 2014-06-30, agency: UNESCO", "due: 2014-07-15, agency: UNESCO")
    assert owners_file.apply_owners(uow, moved, clock=CLOCK, by=BY).milestones_updated == 1
    with uow:
        (milestone,) = uow.milestones.for_recommendation(rec.id)
        assert (milestone.due_date, milestone.state) == (date(2014, 7, 15), "done")


# Each edit breaks a demo file (owners or milestones) on one line; the error must name that line.
BAD_EDITS = [
    (("UNCTAD: lead, WORLD-BANK", "UNCTAD: lead, WORLD-BANKS"), "unknown agency 'WORLD-BANKS'"),
    (("  A7.8:", "  A7.99:"), "unknown recommendation code 'A7.99' in report 'CEB/2014/4 Annex V'"),
    (("due: 2014-11-10", "due: 2014-11-31"), r"bad date '2014-11-31' \(expected YYYY-MM-DD\)"),
    (("{UNHCR: lead}", "{UNHCR: contributor}"), "A1.7 needs exactly one lead"),
    (("{UNHCR: lead}", "{UNHCR: boss}"), "role of UNHCR must be 'lead' or 'contributor'"),
    (("agency: UNCTAD}", "agency: UNCTAD, state: done}"), "unknown key 'state'"),
    (("owners: {UNHCR: lead}", "owners: [UNHCR]"), "owners of A1.7 must be a mapping"),
    (("report: CEB/2014/4 Annex V", "report: CEB/2014/4 Annex V: x"), "not valid YAML"),
]


@pytest.mark.parametrize(("edit", "message"), BAD_EDITS)
def test_a_bad_owners_file_is_rejected_with_its_line_and_nothing_is_written(
    catalogue_uow: SqlUnitOfWork, edit: tuple[str, str], message: str
) -> None:
    uow = catalogue_uow
    demo = DEMO_OWNERS if edit[0] in DEMO_OWNERS else DEMO_MILESTONES
    edited = demo.replace(edit[0], edit[1], 1)
    line = next(n for n, text in enumerate(edited.splitlines(), start=1) if edit[1] in text)
    with pytest.raises(ValidationError, match=f"^demo.yaml line {line}: {message}"):
        owners_file.apply_owners(uow, edited, clock=CLOCK, by=BY, name="demo.yaml")
    written = (_count(uow, tables.ownerships), _count(uow, tables.milestones), _count(uow, tables.history))
    assert written == (0, 0, 85)  # only the import's history


def test_the_catalogue_summary_counts_items_per_point_and_per_owner(catalogue_uow: SqlUnitOfWork) -> None:
    uow = catalogue_uow
    catalogue.suggest_owners(uow, apply=True, clock=CLOCK, by=BY)
    summary = catalogue_reads.catalogue_summary(uow)
    assert summary.per_point[0] == ("strategic", 12)
    assert ("1. Protect the human rights of all migrants", 28) in summary.per_point
    assert sum(count for _, count in summary.per_point) == 85
    assert summary.without_owner == 0
    assert sum(lead for _, lead, _ in summary.per_owner) == 85
    assert ("UNCTAD", 0, 6) in summary.per_owner
