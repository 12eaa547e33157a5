"""Stock-takes built in memory, without a database: the demo-like one and Hypothesis-generated ones.

The demo-like stock-take has the demo's shape: the 85 recommendations of the sample report (real
texts, agenda points), its owners and milestones where the demo files give them, 19 agencies of
which 8 stay silent, and the Spring 2015 narratives; most items unchanged, a few changed, one
blocked, one disagreement. It is what the page-count and figure tests run on, in a fraction of a
second instead of the demo's minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from domain.importer import parse_report
from domain.model import Milestone
from domain.stocktake import CycleInfo, StockTake, assemble_stocktake

SEED = Path(__file__).resolve().parents[2] / "db" / "seed"
STATUSES = ("completed", "ongoing", "in_progress", "not_started", "blocked", "no_longer_applicable")
SILENT = ("CEB", "HLCP", "NGO-CM", "UN-WOMEN", "UNDG", "UNESCO", "UNITAR", "WORLD-BANK")


@dataclass
class Rec:
    id: int
    source: str
    code: str
    kind: str
    text: str
    position: int
    agenda_point: int | None
    agenda_title: str | None
    theme: str | None


@dataclass
class Owner:
    recommendation_id: int
    agency_code: str
    role: str


@dataclass
class Update:
    recommendation_id: int
    agency_code: str
    state: str
    reported_status: str | None
    assessed_status: str | None = None
    assessment_rationale: str = ""
    narrative: str = ""
    evidence: list[str] = field(default_factory=list)
    obstacle: str = ""
    next_milestone_date: date | None = None
    reported_by: str = "focal.point@example.org"
    reported_at: datetime | None = datetime(2015, 2, 12, 10, tzinfo=UTC)
    channel: str | None = "portal"
    no_change: bool = False


def _yaml(name: str) -> Any:
    return yaml.safe_load((SEED / name).read_text(encoding="utf-8"))


def demo_like_stocktake() -> StockTake:
    """The demo's Spring 2015 stock-take, in memory (see the module docstring)."""
    report = parse_report((SEED / "CEB-2014-4-Annex-V.md").read_text(encoding="utf-8"))
    recs = [
        Rec(n, report.source, i.code, i.kind, i.text, i.position, i.agenda_point, i.agenda_title, i.theme)
        for n, i in enumerate(report.items, start=1)
    ]
    by_code = {r.code: r for r in recs}
    registry = _yaml("agencies.yaml")["agencies"]
    agencies = {a["code"]: a["name"] for a in registry}
    display = {
        a["code"]: f"{a.get('article') or ''} {a.get('short_name') or a['name']}".strip() for a in registry
    }
    answering = sorted(set(agencies) - set(SILENT))[:11]
    given = _yaml("demo-owners.yaml")["recommendations"]
    planned = _yaml("demo-milestones.yaml")["recommendations"]
    owners, milestones = [], []
    for n, rec in enumerate(recs):
        spec = given.get(rec.code) or {}
        pairs = spec.get("owners") or {answering[n % len(answering)]: "lead", SILENT[n % 8]: "contributor"}
        if n % 10 == 3:  # as in the demo, some silent agencies lead
            pairs = {SILENT[n % 8]: "lead", answering[n % len(answering)]: "contributor"}
        owners += [Owner(rec.id, code, role) for code, role in pairs.items()]
        milestones += [
            Milestone(
                recommendation_id=rec.id, title=m["title"], due_date=m["due"], agency_code=m.get("agency")
            )
            for m in (planned.get(rec.code) or {}).get("milestones") or ()
        ]
    spring = next(c for c in _yaml("demo-replies.yaml")["cycles"] if c["name"] == "Spring 2015")
    narratives = [a for reply in spring["replies"].values() for a in reply["answers"]]
    previous, current = [], []
    for n, o in enumerate(owners):
        if o.agency_code in SILENT:
            continue
        previous.append(Update(o.recommendation_id, o.agency_code, "accepted", "in_progress"))
        status, narrative, obstacle = (
            "in_progress",
            "No change since the last stock-take; work continues.",
            "",
        )
        if n % 13 == 5:  # a few agencies report a change, in the demo's own words
            answer = narratives[n % len(narratives)]
            status, narrative, obstacle = answer["status"], answer["narrative"], answer.get("obstacle", "")
        assessed = "in_progress" if status == "completed" and n % 2 else None
        rationale = "The secretariat does not consider the recommendation completed." if assessed else ""
        current.append(
            Update(o.recommendation_id, o.agency_code, "accepted", status, assessed, rationale, narrative,
                   ["https://example.org/evidence"], obstacle)
        )  # fmt: skip
    return assemble_stocktake(
        cycle=CycleInfo(
            name="Spring 2015",
            hlcp_session="HLCP 29",
            deadline=date(2015, 2, 16),
            symbol="CEB/2015/HLCP-29/CRP.3",
            venue="Rome, 16-17 March 2015",
        ),
        previous=CycleInfo(name="Autumn 2014", hlcp_session="HLCP 28", deadline=date(2014, 9, 1)),
        today=date(2015, 2, 20),
        recommendations=list(by_code.values()),
        items=owners,
        agency_names=agencies,
        updates=current,
        previous_updates=previous,
        milestones=milestones,
        source_titles=[report.source],
        display_names=display,
    )


AGENCIES = ("ILO", "IOM", "OHCHR", "UNHCR", "UNICEF", "WHO")
_answer = st.one_of(st.none(), st.sampled_from(STATUSES))


@st.composite
def generated_stocktakes(draw: st.DrawFn) -> StockTake:
    """A random cycle: items with 1-3 owners, answers now and before (some drafts, some assessed)."""
    count = draw(st.integers(0, 25))
    recs = [
        Rec(
            n,
            "R",
            f"A{n}",
            "agenda",
            f"Recommendation {n}. Its text.",
            n,
            draw(st.integers(1, 4)),
            None,
            None,
        )
        for n in range(1, count + 1)
    ]
    owners, previous, current, milestones = [], [], [], []
    for rec in recs:
        codes = draw(st.lists(st.sampled_from(AGENCIES), min_size=1, max_size=3, unique=True))
        lead = draw(st.booleans()) or len(codes) == 1  # some items have no lead at all
        for n, code in enumerate(codes):
            owners.append(Owner(rec.id, code, "lead" if n == 0 and lead else "contributor"))
            before, now = draw(_answer), draw(_answer)
            if before is not None:
                previous.append(Update(rec.id, code, "accepted", before))
            if now is not None:
                state = draw(st.sampled_from(("submitted", "accepted", "returned", "draft")))
                assessed = draw(st.one_of(st.none(), st.sampled_from(STATUSES)))
                current.append(Update(rec.id, code, state, now, assessed, narrative=f"{code} on {rec.code}."))
        for _ in range(draw(st.integers(0, 2))):
            due = draw(st.dates(date(2014, 1, 1), date(2016, 1, 1)))
            milestones.append(Milestone(recommendation_id=rec.id, title=f"M {due}", due_date=due))
    compared = draw(st.booleans())
    return assemble_stocktake(
        cycle=CycleInfo(name="Now", hlcp_session="HLCP 29", deadline=date(2015, 2, 16)),
        previous=CycleInfo(name="Before", hlcp_session="HLCP 28", deadline=date(2014, 9, 1))
        if compared
        else None,
        today=date(2015, 2, 20),
        recommendations=recs,
        items=owners,
        agency_names={code: f"Agency {code}" for code in AGENCIES},
        updates=current,
        previous_updates=previous if compared else (),
        milestones=milestones,
    )
