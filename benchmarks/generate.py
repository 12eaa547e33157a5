"""Synthetic but realistic data at the scale of a system-wide deployment, written with bulk Core inserts.

Up to 100,000 recommendations across the eight agenda points (strategic and appendix items, themes,
nested items, sentences as long as the sample report's), agencies in proportion (100 at 10,000
items, 300 at 100,000) with 1-3 owners per item (one lead), milestones, and three closed previous
cycles with their requests, answers and history. Also a report *text* in the sample report's
convention, for the import benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, insert, select

from db import tables
from domain.lifecycle import CycleState, MilestoneState, RecommendationState, RequestState, ReviewState
from domain.model import Channel, ContactRole, OwnerRole, RecommendationKind, ReportedStatus
from domain.tokens import derive_token, hash_token, new_nonce

SOURCE = "BENCH/2026/1"
REGISTRY = Path(__file__).resolve().parent.parent / "db" / "seed" / "agencies.yaml"
# The Secretary-General's eight-point agenda, as the sample report numbers it.
AGENDA = (
    "Protect the human rights of all migrants",
    "Reduce the costs of labour migration",
    "Eliminate migrant exploitation, including human trafficking",
    "Address the plight of stranded migrants",
    "Improve public perceptions of migrants",
    "Integrate migration into the development agenda",
    "Strengthen the migration evidence base",
    "Enhance migration partnerships and cooperation",
)
# UN system entities beyond the shipped registry, so 100 agencies have real-looking codes.
_MORE_ENTITY_CODES = (
    "FAO IFAD IAEA ICAO IMO ITU UPU WIPO WMO UNIDO UNWTO UNEP UN-HABITAT UNAIDS WFP UNOPS UNRWA UNSSC "
    "UNICRI UNRISD ITC UNCDF UNV OCHA DPPA DPO DOS DMSPC DGACM DGC OLA OSAA OHRLLS ODA UNOOSA UNDRR "
    "UNFCCC UNCCD CBD UNIDIR UNFIP UNOG UNOV UNON DESA-SD ECE-TR ECA-AF ECLAC-CP ESCAP-SD ESCWA-SP "
    "UNITAR-NY UNU-MERIT UNU-EHS UNU-WIDER IOM-GMDAC ILO-ITC UNHCR-NY OHCHR-NY WHO-EURO WHO-AFRO "
    "PAHO UNESCO-IIEP UNESCO-UIS UNICEF-INNOCENTI UNDP-HDRO UNFPA-TSD WB-KNOMAD UNODC-GLOTIP CTED"
)
MORE_ENTITIES = _MORE_ENTITY_CODES.split()

_OPENINGS = (
    "Encourage States to",
    "Promote with Member States the need to",
    "Support national authorities to",
    "Urge States to",
    "Develop guidance to",
    "Work with humanitarian and development partners to",
    "Invite the GMG to coordinate joint action to",
    "Strengthen the capacity of governments and social partners to",
    "Advocate, in collaboration with the G20 and regional bodies, to",
    "Assist countries, through technical cooperation and training, to",
)
_ACTIONS = (
    "ensure that all migrants, regardless of their status, can access adequate healthcare",
    "reduce the costs of remittance transfers and promote financial inclusion",
    "collect and disseminate age and sex-disaggregated data on migration flows",
    "end the immigration detention of children and put in place alternatives to detention",
    "prevent employment agencies and brokers from charging workers recruitment fees",
    "mainstream migration into national development plans and UN Development Assistance Frameworks",
    "protect victims of trafficking and prosecute traffickers and smugglers",
    "recognise the skills and qualifications of migrant workers across borders",
    "combat xenophobia, racism and discrimination against migrants",
    "extend social protection floors and the portability of social security benefits",
)
_QUALIFIERS = (
    "in line with international labour standards and human rights law",
    "with the active involvement of the social partners and civil society",
    "in countries of origin, transit and destination",
    "with particular attention to women, children and youth on the move",
    "through regional consultative processes and the Global Forum on Migration and Development",
    "while ensuring the right to privacy and the protection of personal data",
    "and report on progress to the HLCP before its next session",
    "building on good practices documented by GMG agencies since the 2013 High-level Dialogue",
)
_THEMES = (
    "To cater to the health needs of migrants",
    "To cater to the needs of refugees and asylum seekers",
    "To promote and protect the human rights of migrants at all stages of the migration process",
    "To improve the governance of labour migration",
    "To strengthen data and research",
)
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")
_LETTERS = "abcdefghij"


def sentence(rng: random.Random) -> str:
    """One recommendation's text: one or two clauses, 20 to 70 words, like the sample report's."""
    clauses = [f"{rng.choice(_OPENINGS)} {rng.choice(_ACTIONS)}, {rng.choice(_QUALIFIERS)}"]
    if rng.random() < 0.5:
        clauses.append(f"{rng.choice(_ACTIONS).capitalize()}, {rng.choice(_QUALIFIERS)}")
    return "; ".join(clauses) + "."


@dataclass(frozen=True)
class Item:
    """One generated recommendation (before it has a database id)."""

    code: str
    kind: str
    agenda_point: int | None
    theme: str | None
    parent_code: str | None
    text: str


def catalogue(count: int, rng: random.Random, *, points: int = 8) -> list[Item]:
    """`count` recommendations: ~2% strategic (SRn.i.a), the rest appendix items (A<p>.<n>.<m>)."""
    items: list[Item] = []
    strategic_target = max(3, count // 50)
    number = 0
    while len(items) < strategic_target:
        number += 1
        root = f"SR{number}"
        items.append(Item(root, RecommendationKind.STRATEGIC, None, None, None, sentence(rng)))
        for roman in _ROMAN[: rng.randint(2, 4)]:
            code = f"{root}.{roman}"
            items.append(Item(code, RecommendationKind.STRATEGIC, None, None, root, sentence(rng)))
            if rng.random() < 0.3:
                for letter in _LETTERS[: rng.randint(2, 3)]:
                    child = f"{code}.{letter}"
                    items.append(Item(child, RecommendationKind.STRATEGIC, None, None, code, sentence(rng)))
    per_point = (count - len(items)) // points
    for point in range(1, points + 1):
        target = count - len(items) if point == points else per_point
        themes = rng.sample(_THEMES, rng.randint(1, 3))
        start, n = len(items), 0
        while len(items) - start < target:
            n += 1
            theme = themes[min(len(themes) - 1, (n * len(themes)) // max(1, target))]
            parent = f"A{point}.{n}"
            items.append(Item(parent, RecommendationKind.ANNEX, point, theme, None, sentence(rng)))
            if rng.random() < 0.2:
                room = target - (len(items) - start)
                for m in range(1, min(rng.randint(2, 5), room) + 1):
                    items.append(
                        Item(f"{parent}.{m}", RecommendationKind.ANNEX, point, theme, parent, sentence(rng))
                    )
    return items[:count]


def report_text(count: int, *, seed: int = 11, title: str = "Synthetic stock-take benchmark report") -> str:
    """A report of `count` recommendations in the sample report's convention (strategic + appendix)."""
    rng = random.Random(seed)
    items = catalogue(count, rng)
    lines = [f"**{title}**", "", "Note by the HLCP secretariat", "", "B. Strategic Recommendations", ""]
    point_seen: int | None = None
    theme_seen: str | None = None
    strategic_done = False
    for item in items:
        depth = item.code.count(".")
        label = item.code.rsplit(".", 1)[-1]
        if item.kind == RecommendationKind.STRATEGIC:
            if depth == 0:
                lines += ["", f"Recommendation {item.code[2:]}: {item.text.rstrip('.')}", ""]
            elif depth == 1:
                lines.append(f"- {label}. {item.text}")
            else:
                lines.append(f" - {label}. {item.text}")
            continue
        if not strategic_done:
            lines += ["", "Appendix", "", "Compilation of the area-specific recommendations", ""]
            strategic_done = True
        if item.agenda_point != point_seen:
            point_seen, theme_seen = item.agenda_point, None
            lines += ["", f"{item.agenda_point}. {AGENDA[(item.agenda_point or 1) - 1]}", ""]
        if item.theme != theme_seen:
            theme_seen = item.theme
            lines += ["", f"{item.theme}:", ""]
        lines.append(f"{' ' if item.parent_code else ''}- {item.text}")
    return "\n".join(lines) + "\n"


PREVIOUS_CYCLES = 3


def agencies_for(recommendations: int) -> int:
    """Agencies in a system of this size: one per 100 items, at least 30 and at most 300.

    A system-wide tracker of 100,000 recommendations spans a few hundred reporting entities; 10,000
    items keep the 100 agencies earlier figures were measured with.
    """
    return min(300, max(30, recommendations // 100))


@dataclass
class Population:
    """What was generated: the names a benchmark refers to, and the owners it may assign itself."""

    source: str
    agencies: list[str]
    recommendation_ids: list[int]
    owners: list[dict[str, Any]]
    milestones: int
    previous_cycles: list[str] = field(default_factory=list)


def agency_rows(count: int) -> list[dict[str, Any]]:
    """The shipped registry first, then more UN system entities, then numbered ones, up to `count`."""
    registry = yaml.safe_load(REGISTRY.read_text())["agencies"]
    rows = [{"code": a["code"], "name": a["name"], "aliases": a.get("aliases", [])} for a in registry]
    rows += [{"code": c, "name": f"United Nations entity {c}", "aliases": [c]} for c in MORE_ENTITIES]
    n = 0
    while len(rows) < count:
        n += 1
        rows.append({"code": f"UNE-{n:03d}", "name": f"United Nations entity {n}", "aliases": []})
    return rows[:count]


def contact_rows(codes: Sequence[str]) -> list[dict[str, Any]]:
    """A focal point and a head of office per agency, at reserved example domains."""
    rows = []
    for code in codes:
        slug = code.lower()
        rows.append(
            {
                "agency_code": code,
                "name": f"{code} focal point",
                "email": f"focal.point@{slug}.example.org",
                "role": ContactRole.FOCAL_POINT.value,
            }
        )
        rows.append(
            {
                "agency_code": code,
                "name": f"{code} head of office",
                "email": f"head.office@{slug}.example.org",
                "role": ContactRole.HEAD_OF_OFFICE.value,
            }
        )
    return rows


def owner_rows(
    recommendation_ids: Sequence[int], codes: Sequence[str], rng: random.Random
) -> list[dict[str, Any]]:
    """1-3 owners per recommendation, the first the lead; every agency owns something."""
    rows = []
    for n, rec_id in enumerate(recommendation_ids):
        # Round-robin the lead so each of the agencies gets items, then random contributors.
        lead = codes[n % len(codes)]
        owners = [lead, *rng.sample([c for c in codes if c != lead], rng.choice((0, 1, 1, 2)))]
        for k, code in enumerate(owners):
            rows.append(
                {
                    "recommendation_id": rec_id,
                    "agency_code": code,
                    "role": (OwnerRole.LEAD if k == 0 else OwnerRole.CONTRIBUTOR).value,
                    "reason": "benchmark assignment",
                }
            )
    return rows


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows with executemany in chunks, in one transaction."""
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert(table), chunk)


def populate(
    engine: Engine,
    *,
    recommendations: int = 10_000,
    agencies: int | None = None,
    previous_cycles: int = PREVIOUS_CYCLES,
    with_owners: bool = True,
    seed: int = 7,
) -> Population:
    """Fill a freshly migrated database.

    With `with_owners=False` the owners are generated but not stored (nor the previous cycles, which
    need them): a benchmark assigns them through the application, then calls `add_history`. Agencies
    default to `agencies_for(recommendations)`.
    """
    rng = random.Random(seed)
    agency_list = agency_rows(agencies or agencies_for(recommendations))
    codes = [a["code"] for a in agency_list]
    bulk_insert(engine, tables.agencies, agency_list)
    bulk_insert(engine, tables.contacts, contact_rows(codes))
    items = catalogue(recommendations, rng)
    bulk_insert(
        engine,
        tables.recommendations,
        [
            {
                "source": SOURCE,
                "code": it.code,
                "kind": str(it.kind),
                "agenda_point": it.agenda_point,
                "agenda_title": AGENDA[it.agenda_point - 1] if it.agenda_point else None,
                "theme": it.theme,
                "parent_code": it.parent_code,
                "text": it.text,
                "position": position,
                "state": RecommendationState.ACTIVE.value,
            }
            for position, it in enumerate(items, start=1)
        ],
    )
    rec = tables.recommendations
    with engine.connect() as conn:
        ids = list(
            conn.execute(select(rec.c.id).where(rec.c.source == SOURCE).order_by(rec.c.position)).scalars()
        )
    owners = owner_rows(ids, codes, rng)
    population = Population(SOURCE, codes, ids, owners, _add_milestones(engine, ids, owners, rng))
    if with_owners:
        bulk_insert(engine, tables.ownerships, owners)
        add_history(engine, population, previous_cycles, seed=seed)
    return population


def _add_milestones(
    engine: Engine, ids: Sequence[int], owners: list[dict[str, Any]], rng: random.Random
) -> int:
    """About a third of the items carry a dated milestone; some are already past due."""
    lead_of = {o["recommendation_id"]: o["agency_code"] for o in owners if o["role"] == OwnerRole.LEAD}
    rows = [
        {
            "recommendation_id": rec_id,
            "agency_code": lead_of[rec_id],
            "title": rng.choice(("Expert Group Meeting", "Guidelines published", "Pilot in five countries"))
            + f" ({rec_id})",
            "due_date": date(2026, 1, 1) + timedelta(days=rng.randint(0, 540)),
            "state": MilestoneState.PLANNED.value,
        }
        for rec_id in ids
        if rng.random() < 0.33
    ]
    bulk_insert(engine, tables.milestones, rows)
    return len(rows)


def add_history(
    engine: Engine,
    population: Population,
    count: int = PREVIOUS_CYCLES,
    *,
    seed: int = 7,
    secret_key: str = "00" * 32,
) -> None:
    """`count` closed previous cycles: snapshot, answered requests, accepted answers and their history."""
    rng = random.Random(seed)
    owners, codes, names = population.owners, population.agencies, population.previous_cycles
    statuses = list(ReportedStatus)
    for n in range(count):
        name = f"HLCP {20 + n} stock-take"
        opened = datetime(2024 + n // 2, 2 + 6 * (n % 2), 1, 9, tzinfo=UTC)  # one every six months
        deadline = (opened + timedelta(days=28)).date()
        with engine.begin() as conn:
            cycle_id = conn.execute(
                insert(tables.cycles).returning(tables.cycles.c.id),
                {
                    "name": name,
                    "hlcp_session": f"HLCP {20 + n}",
                    "deadline": deadline,
                    "state": CycleState.CLOSED.value,
                    "created_at": opened,
                    "launched_at": opened,
                    "closed_at": opened + timedelta(days=45),
                },
            ).scalar_one()
        names.append(name)
        answered = opened + timedelta(days=20)
        bulk_insert(engine, tables.cycle_items, [{"cycle_id": cycle_id, **_item(o)} for o in owners])
        # Every owner part asked and answered (accepted below): the totals launch and answers keep.
        recommendations = len({o["recommendation_id"] for o in owners})
        totals = {"cycle_id": cycle_id, "requested_items": len(owners), "answered_items": len(owners)}
        totals["recommendations"] = recommendations
        bulk_insert(engine, tables.cycle_totals, [totals])
        per_agency: dict[str, int] = {}
        for o in owners:
            per_agency[o["agency_code"]] = per_agency.get(o["agency_code"], 0) + 1
        requests = []
        for code in codes:
            nonce = new_nonce()
            requests.append(
                {
                    "cycle_id": cycle_id,
                    "agency_code": code,
                    "item_count": per_agency.get(code, 0),
                    "token_nonce": nonce,
                    "token_hash": hash_token(derive_token(secret_key, nonce, cycle_id, code)),
                    "token_revoked_at": opened + timedelta(days=60),
                    "state": RequestState.CLOSED.value,
                    "sent_at": opened,
                    "answered_at": answered,
                    "escalated_at": None,
                }
            )
        bulk_insert(engine, tables.status_requests, requests)
        updates, history = [], []
        for o in owners:
            status = rng.choice(statuses).value
            narrative = sentence(rng)
            updates.append(
                {
                    "cycle_id": cycle_id,
                    **_item(o, role=False),
                    "reported_status": status,
                    "narrative": narrative,
                    "evidence": [],
                    "next_milestone_date": None,
                    "obstacle": "",
                    "reported_by": f"focal.point@{o['agency_code'].lower()}.example.org",
                    "reported_at": answered,
                    "channel": Channel.PORTAL.value,
                    "state": ReviewState.ACCEPTED.value,
                    "assessed_status": status,
                    "assessment_rationale": "",
                    "reviewer_question": "",
                    "reviewed_by": "hlcp.secretariat@un.example.org",
                    "reviewed_at": answered + timedelta(days=10),
                    "version": 1,
                }
            )
            key = f"{cycle_id}:{o['recommendation_id']}:{o['agency_code']}"
            history.append(_history("update", key, "draft", "submitted", answered, status, narrative))
            history.append(_history("update", key, "submitted", "accepted", answered, status, ""))
        bulk_insert(engine, tables.status_updates, updates)
        bulk_insert(engine, tables.history, history)


def _item(owner: dict[str, Any], *, role: bool = True) -> dict[str, Any]:
    row = {"recommendation_id": owner["recommendation_id"], "agency_code": owner["agency_code"]}
    if role:
        row["role"] = owner["role"]
    return row


def _history(
    entity: str, key: str, before: str, after: str, at: datetime, status: str, narrative: str
) -> dict[str, Any]:
    return {
        "entity": entity,
        "key": key,
        "from_state": before,
        "to_state": after,
        "at": at,
        "by": "benchmark",
        "why": "answer submitted" if after == "submitted" else "accepted",
        "data": {"status": status, "narrative": narrative} if narrative else {},
    }
