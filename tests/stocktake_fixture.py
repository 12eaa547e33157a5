"""A fixed two-cycle data set for the stock-take report tests (and their golden files).

HLCP 27 (previous) and HLCP 28 (reported on), chosen so every kind of change, a disagreement,
a multi-owner roll-up, a draft that must not count, overdue and not-yet-due milestones all occur.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from db.unit_of_work import SqlUnitOfWork
from domain.lifecycle import MilestoneState, ReviewState
from domain.model import Answer, Channel, Milestone, ReportedStatus, StatusUpdate
from tests.factories import add_agencies, add_recommendations, open_cycle

PREVIOUS = "HLCP 27 stock-take"
CURRENT = "HLCP 28 stock-take"
TODAY = date(2026, 3, 20)
AGENCIES = ("ILO", "IOM", "OHCHR", "UNHCR", "UNICEF", "WHO")
OWNERS = {
    "SR1.i": ["ILO", "IOM"],
    "SR1.ii.a": ["UNICEF"],
    "SR2.i": ["OHCHR", "ILO", "WHO"],
    "A1.1": ["OHCHR"],
    "A1.2": ["UNICEF", "UNHCR"],
    "A2.1": ["ILO"],
    "A2.2": ["IOM"],
    "A3.1": ["UNHCR"],
    "A7.1": ["WHO", "IOM"],
}
S = ReportedStatus
# (code, agency, status, narrative, evidence, obstacle, assessed status, rationale)
PREVIOUS_ANSWERS = [
    ("SR1.i", "ILO", S.IN_PROGRESS, "Drafting the system-wide stock-take note.", (), "", None, ""),
    ("SR1.i", "IOM", S.IN_PROGRESS, "Contributing the IOM chapter.", (), "", None, ""),
    ("SR1.ii.a", "UNICEF", S.NOT_STARTED, "Waiting for UNDG guidance.", (), "", None, ""),
    ("SR2.i", "OHCHR", S.IN_PROGRESS, "Advocacy strategy outline circulated.", (), "", None, ""),
    ("A1.1", "OHCHR", S.IN_PROGRESS, "Access-to-justice toolkit in drafting.", (), "", None, ""),
    ("A1.2", "UNICEF", S.IN_PROGRESS, "Consultations with Member States.", (), "", None, ""),
    ("A2.1", "ILO", S.BLOCKED, "Labour market survey funding not secured.", (), "No donor", None, ""),
    ("A2.2", "IOM", S.ONGOING, "Remittance price monitoring continues.", (), "", None, ""),
    ("A7.1", "WHO", S.IN_PROGRESS, "Migrant health indicators drafted.", (), "", None, ""),
]
CURRENT_ANSWERS = [
    ("SR1.i", "ILO", S.COMPLETED, "Stock-take note tabled at HLCP 28.",
     ("https://example.org/hlcp28/note.pdf",), "", None, ""),
    ("SR1.i", "IOM", S.COMPLETED, "IOM chapter delivered.", (), "", None, ""),
    ("SR1.ii.a", "UNICEF", S.BLOCKED, "UNDAF guidelines on hold.", (),
     "UNDG has not scheduled the working group", None, ""),
    ("SR2.i", "OHCHR", S.IN_PROGRESS, "Strategy under review by GMG principals.", (), "", None, ""),
    ("SR2.i", "ILO", S.COMPLETED, "ILO input | labour indicators sent.", (), "", None, ""),
    ("A1.1", "OHCHR", S.COMPLETED, "Toolkit launched in Geneva.",
     ("https://example.org/toolkit", "https://example.org/launch-note"), "",
     S.IN_PROGRESS, "Toolkit launched, but the legal-aid module is still missing."),
    ("A1.2", "UNICEF", S.ONGOING, "Guarantees monitored through country offices.", (), "", None, ""),
    ("A2.2", "IOM", S.ONGOING, "Remittance price monitoring continues.",
     ("https://example.org/remittance-prices",), "", None, ""),
    ("A3.1", "UNHCR", S.IN_PROGRESS, "Training of border officials in 4 countries.", (), "", None, ""),
]  # fmt: skip
# (code, title, due date, state, agency)
MILESTONES = [
    ("SR1.i", "Stock-take note to HLCP", date(2025, 12, 1), MilestoneState.DONE, "ILO"),
    ("SR2.i", "Joint advocacy strategy agreed", date(2026, 1, 31), MilestoneState.PLANNED, None),
    ("A1.1", "Expert group meeting", date(2026, 6, 30), MilestoneState.PLANNED, "OHCHR"),
    ("A2.1", "Fair recruitment guidance published", date(2025, 6, 30), MilestoneState.PLANNED, "ILO"),
]


def _answer(uow: SqlUnitOfWork, cycle_id: int, ids: dict[str, int], at: datetime, rows: list[tuple]) -> None:
    with uow:
        for code, agency, status, narrative, evidence, obstacle, assessed, rationale in rows:
            update = StatusUpdate(cycle_id=cycle_id, recommendation_id=ids[code], agency_code=agency)
            uow.updates.add(update)
            answer = Answer(ids[code], status, narrative=narrative, evidence=evidence, obstacle=obstacle)
            by = f"focal.point@{agency.lower()}.example.org"
            update.apply(answer, at=at, by=by, channel=Channel.PORTAL, submit=True)
            if assessed is not None:
                update.transition(ReviewState.ACCEPTED, at=at, by="secretariat")
                update.assessed_status, update.assessment_rationale = assessed.value, rationale
        uow.commit()


def build_two_cycles(uow: SqlUnitOfWork) -> dict[str, int]:
    """Create the agencies, recommendations, milestones and both cycles; returns code -> id."""
    add_agencies(uow, *AGENCIES)
    ids = add_recommendations(uow, OWNERS, source="CEB/2014/4 Annex V")
    with uow:
        for code, title, due, state, agency in MILESTONES:
            uow.milestones.add(
                Milestone(
                    recommendation_id=ids[code], title=title, due_date=due, agency_code=agency, state=state
                )
            )
        uow.commit()
    previous_id, _ = open_cycle(uow, PREVIOUS, date(2025, 10, 1), list(AGENCIES), hlcp_session="HLCP 27")
    with uow:
        uow.cycles.require(PREVIOUS).launched_at = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
        uow.commit()
    _answer(uow, previous_id, ids, datetime(2025, 9, 20, 10, 0, tzinfo=UTC), PREVIOUS_ANSWERS)
    current_id, _ = open_cycle(uow, CURRENT, date(2026, 3, 15), list(AGENCIES), hlcp_session="HLCP 28")
    _answer(uow, current_id, ids, datetime(2026, 3, 10, 15, 30, tzinfo=UTC), CURRENT_ANSWERS)
    with uow:
        # A draft is the agency's own business until submitted: the report must not count it.
        draft = StatusUpdate(cycle_id=current_id, recommendation_id=ids["A1.2"], agency_code="UNHCR")
        uow.updates.add(draft)
        draft.apply(
            Answer(ids["A1.2"], S.COMPLETED, narrative="draft"),
            at=datetime(2026, 3, 11, tzinfo=UTC),
            by="focal.point@unhcr.example.org",
            channel=Channel.PORTAL,
            submit=False,
        )
        uow.commit()
    return ids
