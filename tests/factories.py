"""Test data builders that go through the unit of work (no shortcuts around the mapping)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select

from db import tables
from db.totals import write_requested_total
from db.unit_of_work import SqlUnitOfWork
from domain.lifecycle import CycleState, RequestState
from domain.model import (
    Agency,
    Contact,
    ContactRole,
    OwnerRole,
    Ownership,
    Recommendation,
    StatusRequest,
    StockTakeCycle,
)
from domain.tokens import derive_token, hash_token, new_nonce

SECRET_KEY = "00" * 32

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_agencies(uow: SqlUnitOfWork, *codes: str) -> None:
    """Register agencies with one focal point and one head of office each."""
    with uow:
        for code in codes:
            slug = code.lower()
            uow.agencies.add(
                Agency(
                    code=code,
                    name=f"Agency {code}",
                    aliases=[code],
                    contacts=[
                        Contact(name=f"{code} focal point", email=f"focal.point@{slug}.example.org"),
                        Contact(
                            name=f"{code} head",
                            email=f"head.office@{slug}.example.org",
                            role=ContactRole.HEAD_OF_OFFICE,
                        ),
                    ],
                )
            )
        uow.commit()


def add_recommendations(
    uow: SqlUnitOfWork, owners: dict[str, list[str]], *, source: str = "TEST/1"
) -> dict[str, int]:
    """Add recommendations (code -> [lead, contributors...]); returns code -> id."""
    ids: dict[str, int] = {}
    with uow:
        for position, code in enumerate(owners, start=1):
            point = int(code[1]) if code.startswith("A") and code[1].isdigit() else None
            rec = Recommendation(
                source=source,
                code=code,
                kind="annex" if point else "strategic",
                text=f"Recommendation {code}: do the thing.",
                position=position,
                agenda_point=point,
                agenda_title=f"Agenda point {point}" if point else None,
            )
            uow.recommendations.add(rec)
            uow.session.flush()
            assert rec.id is not None
            ids[code] = rec.id
            for n, agency in enumerate(owners[code]):
                uow.ownerships.add(
                    Ownership(
                        recommendation_id=rec.id,
                        agency_code=agency,
                        role=OwnerRole.LEAD if n == 0 else OwnerRole.CONTRIBUTOR,
                    )
                )
        uow.commit()
    return ids


def open_cycle(
    uow: SqlUnitOfWork,
    name: str,
    deadline: date,
    agencies: list[str],
    *,
    hlcp_session: str = "HLCP 99",
    secret_key: str = SECRET_KEY,
) -> tuple[int, dict[str, str]]:
    """A cycle as launch leaves it: open, items snapshotted, one sent request per agency.

    Returns the cycle id and each agency's reply token (derived with `secret_key`).
    """
    with uow:
        cycle = StockTakeCycle(name=name, deadline=deadline, hlcp_session=hlcp_session, created_at=AT)
        uow.cycles.add(cycle)
        cycle.transition(CycleState.OPEN, at=AT, by="test", deadline=deadline.isoformat())  # as launched
        cycle.launched_at = AT
        uow.session.flush()
        assert cycle.id is not None
        rows = uow.session.execute(select(tables.ownerships)).mappings().all()
        items = [
            {
                "cycle_id": cycle.id,
                "recommendation_id": r["recommendation_id"],
                "agency_code": r["agency_code"],
                "role": r["role"],
            }
            for r in rows
            if r["agency_code"] in agencies
        ]
        uow.session.execute(insert(tables.cycle_items), items)
        write_requested_total(uow.session, cycle.id)
        tokens: dict[str, str] = {}
        for agency in agencies:
            nonce = new_nonce()
            tokens[agency] = derive_token(secret_key, nonce, cycle.id, agency)
            request = StatusRequest(
                cycle_id=cycle.id,
                agency_code=agency,
                item_count=sum(1 for i in items if i["agency_code"] == agency),
                token_nonce=nonce,
                token_hash=hash_token(tokens[agency]),
            )
            uow.requests.add(request)
            request.transition(RequestState.SENT, at=AT, by="test")
            request.sent_at = AT
        uow.commit()
        return cycle.id, tokens
