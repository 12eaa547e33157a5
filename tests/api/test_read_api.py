"""The read API at /api/v1/: tokens, what each audience reads, filters, cursor pages, figures, rate limit."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from db import tables
from domain.tokens import hash_token
from portal.api import TokenBuckets
from portal.security import NO_STORE
from tests.api.conftest import TODAY, Api, bearer, portal
from tests.support import (
    DRAFT_ANSWER,
    NOT_ACCEPTED,
    OPEN_CYCLE_ANSWER,
    RECORD_CLOSED,
    RECORD_CLOSED_ON,
    RECORD_OPEN,
    RECORD_REPORT,
    run,
)
from workflows.services.stocktake import build_stocktake


def every(api: Api, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following `next_cursor` page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get(f"/api/v1/{path}", headers=headers, params=query)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_a_request_without_a_valid_token_is_refused(api: Api) -> None:
    for headers in ({}, bearer("fu_guessed"), api.revoked, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = api.client.get("/api/v1/recommendations", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "a valid read token is needed"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_no_answer_of_the_api_is_kept_by_a_browser_or_a_proxy(api: Api) -> None:
    for path in ("recommendations", "cycles", f"recommendations/{api.ids['SR1']}"):
        response = api.client.get(f"/api/v1/{path}", headers=api.full)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == NO_STORE


def test_a_public_only_token_reads_only_what_the_public_record_shows(api: Api) -> None:
    history = api.client.get(f"/api/v1/recommendations/{api.ids['A1.2']}", headers=api.public).json()
    assert [entry["cycle"] for entry in history["timeline"]] == [RECORD_CLOSED]
    assert [(a["agency_code"], a["review_state"]) for a in history["timeline"][0]["answers"]] == [
        ("BBB", "accepted")
    ]
    assert history["status"] is None  # reported by its lead, whose answer the public may not read
    assert [c["name"] for c in every(api, "cycles", api.public)] == [RECORD_CLOSED]
    everything = str(every(api, "recommendations", api.public)) + str(
        [api.client.get(f"/api/v1/recommendations/{i}", headers=api.public).json() for i in api.ids.values()]
    )
    for hidden in (NOT_ACCEPTED, OPEN_CYCLE_ANSWER, DRAFT_ANSWER, RECORD_OPEN):
        assert hidden not in everything


def test_a_full_token_also_reads_submitted_answers_and_open_cycles_but_never_drafts(api: Api) -> None:
    a12 = api.client.get(f"/api/v1/recommendations/{api.ids['A1.2']}", headers=api.full).json()
    closed = a12["timeline"][0]
    assert [(a["agency_code"], a["review_state"], a["narrative"]) for a in closed["answers"]] == [
        ("AAA", "submitted", NOT_ACCEPTED),
        ("BBB", "accepted", "Waiting for funds."),
    ]
    assert closed["status"] == "ongoing"  # the lead's answer now counts
    sr1 = api.client.get(f"/api/v1/recommendations/{api.ids['SR1']}", headers=api.full).json()
    assert [(e["cycle"], e["answers"] != []) for e in sr1["timeline"]] == [
        (RECORD_CLOSED, True),
        (RECORD_OPEN, False),  # in the cycle, but its answer is a draft
    ]
    assert DRAFT_ANSWER not in str(every(api, "recommendations", api.full))
    assert [c["name"] for c in every(api, "cycles", api.full)] == [RECORD_CLOSED, RECORD_OPEN]


def test_one_recommendation_that_does_not_exist_is_a_404_in_json(api: Api) -> None:
    response = api.client.get("/api/v1/recommendations/999999", headers=api.full)
    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}


@pytest.mark.parametrize(
    ("headers", "params", "codes"),
    [
        ("public", {"report": RECORD_REPORT}, ["SR1", "A1.1", "A1.2", "A2.1"]),
        ("public", {"report": "another report"}, []),
        ("public", {"agenda_point": 1}, ["A1.1", "A1.2"]),
        ("public", {"owner": "BBB"}, ["SR1", "A1.2"]),
        ("public", {"status": "in_progress"}, ["SR1", "A1.1"]),  # A1.1: as the secretariat assessed it
        ("public", {"status": "blocked"}, []),  # A1.2: only its contributor's answer is public
        ("full", {"status": "ongoing", "owner": "AAA"}, ["A1.2"]),  # its lead's, with the contributor's
        ("public", {"status": "completed"}, []),  # completed only in the open cycle
        ("full", {"status": "completed"}, ["A1.1"]),
        ("full", {"status": "not_started", "agenda_point": 2}, ["A2.1"]),
    ],
)
def test_recommendations_are_filtered_by_report_agenda_point_owner_and_latest_status(
    api: Api, headers: str, params: dict[str, Any], codes: list[str]
) -> None:
    found = every(api, "recommendations", getattr(api, headers), **params)
    assert [item["code"] for item in found] == codes


def test_the_status_a_filter_finds_is_the_status_each_recommendation_shows(api: Api) -> None:
    for headers in (api.public, api.full):
        shown = {item["code"]: item["status"] for item in every(api, "recommendations", headers)}
        for status in {s for s in shown.values() if s}:
            found = every(api, "recommendations", headers, status=status)
            assert sorted(item["code"] for item in found) == sorted(
                c for c, s in shown.items() if s == status
            )


def test_pages_of_one_follow_the_cursor_through_every_recommendation_in_a_stable_order(api: Api) -> None:
    one_by_one = every(api, "recommendations", api.full, limit=1)
    whole = api.client.get("/api/v1/recommendations", headers=api.full).json()
    assert whole["next_cursor"] is None
    assert [item["id"] for item in one_by_one] == [item["id"] for item in whole["items"]]
    assert [item["id"] for item in one_by_one] == sorted(api.ids.values())
    # A filtered list continues the same way: the cursor resumes after the last id shown.
    filtered = every(api, "recommendations", api.full, limit=1, owner="AAA")
    assert [item["code"] for item in filtered] == ["A1.1", "A1.2", "A2.1"]


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_the_list_did_not_give_is_refused_with_400(api: Api) -> None:
    cycles = api.client.get("/api/v1/cycles", headers=api.full, params={"limit": 1}).json()["next_cursor"]
    owned = {"limit": "1", "owner": "AAA"}
    of_aaa = api.client.get("/api/v1/recommendations", headers=api.full, params=owned).json()["next_cursor"]
    refused = {
        "nonsense": "bm9uc2Vuc2U",
        "not base64": "not-base64-at-all",
        "a cycles cursor": cycles,
        "a digit to isdigit only": _encoded("r:²"),
        "made up": _encoded("r:1"),
        "made up with a check": _encoded("r:1:000000000000"),
        "padded": of_aaa + "==",
        "too long": "A" * 65,
    }
    for what, cursor in refused.items():
        response = api.client.get("/api/v1/recommendations", headers=api.full, params={"cursor": cursor})
        assert response.status_code == 400, what
        assert "cursor is not valid" in response.json()["detail"]
    # A cursor continues the list it came from, with its filters, and no other.
    other_filters = {"cursor": of_aaa, "owner": "BBB"}
    assert (
        api.client.get("/api/v1/recommendations", headers=api.full, params=other_filters).status_code == 400
    )
    same_filters = {**owned, "cursor": of_aaa}
    assert api.client.get("/api/v1/recommendations", headers=api.full, params=same_filters).status_code == 200


def test_a_cycles_figures_are_the_figures_of_its_stocktake(api: Api) -> None:
    cycles = {c["name"]: c for c in every(api, "cycles", api.full)}
    with api.uow:
        closed = build_stocktake(api.uow, RECORD_CLOSED, today=RECORD_CLOSED_ON).figures.as_dict()
        opened = build_stocktake(api.uow, RECORD_OPEN, today=TODAY).figures.as_dict()
    assert {
        **cycles[RECORD_CLOSED]["figures"],
        "reported_rate": cycles[RECORD_CLOSED]["reported_rate"],
    } == closed
    assert {**cycles[RECORD_OPEN]["figures"], "reported_rate": cycles[RECORD_OPEN]["reported_rate"]} == opened
    assert closed["items"] == 4


def test_a_token_past_its_rate_gets_429_with_retry_after_and_other_tokens_go_on(
    api: Api, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    bind = cast(sessionmaker, api.uow.session_factory).kw["bind"]
    database_url = str(bind.url.render_as_string(hide_password=False))
    with TestClient(portal(database_url, tmp_path, requests_per_minute=2)) as client:
        codes = [client.get("/api/v1/cycles", headers=api.public).status_code for _ in range(3)]
        refused = client.get("/api/v1/cycles", headers=api.public)
        other = client.get("/api/v1/cycles", headers=api.full)
    assert codes == [200, 200, 429]
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 30  # two a minute: one back within 30 seconds
    assert other.status_code == 200


def test_a_token_bucket_refills_continuously_up_to_its_size() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, monotonic=lambda: now[0])
    assert [buckets.take(1) for _ in range(60)] == [0.0] * 60
    assert buckets.take(1) == pytest.approx(1.0)
    now[0] += 2.5
    assert [buckets.take(1) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take(1) == pytest.approx(0.5)
    now[0] += 3600
    assert sum(1 for _ in range(100) if buckets.take(1) == 0.0) == 60


def test_the_openapi_description_lists_every_route_and_its_refusals(api: Api) -> None:
    description = api.client.get("/api/v1/openapi.json").json()
    routes = {path: set(methods) for path, methods in description["paths"].items()}
    assert routes == {
        "/recommendations": {"get"},
        "/recommendations/{recommendation_id}": {"get"},
        "/cycles": {"get"},
    }
    assert description["servers"] == [{"url": "/api/v1"}]
    for methods in description["paths"].values():
        assert {"200", "401", "429", "422"} <= set(methods["get"]["responses"])
    assert description["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A read token from `followup api-token create`",
        }
    }


def test_api_tokens_are_created_listed_and_revoked_from_the_command_line_and_kept_only_hashed(
    database_url: str,
) -> None:
    created = run(database_url, "api-token", "create", "--name", "UNSDG dashboard", "--public-only")
    token = created.splitlines()[1].strip()
    assert created.splitlines()[0] == (
        "Token 'UNSDG dashboard' (public record only); send it as 'Authorization: Bearer <token>':"
    )
    listed = run(database_url, "api-token", "list")
    assert "UNSDG dashboard" in listed and "public" in listed
    assert run(database_url, "api-token", "revoke", "UNSDG dashboard").splitlines()[0] == (
        "Token 'UNSDG dashboard' revoked."
    )
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(tables.api_tokens)).mappings().all()
    engine.dispose()
    assert [row["token_hash"] for row in rows] == [hash_token(token)]
    assert token not in str([dict(row) for row in rows])
    assert rows[0]["revoked_at"] is not None


def test_text_postgresql_cannot_hold_is_refused_as_bad_input_not_a_server_error(api: Api) -> None:
    for name in ("report", "owner"):
        response = api.client.get("/api/v1/recommendations", headers=api.full, params={name: "A\x00B"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", name]
