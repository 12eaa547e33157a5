"""The read API at /api/v1/: recommendations, their history and the cycles' figures, as JSON.

Every route but the OpenAPI description (/api/v1/openapi.json) needs a read token from
`followup api-token create`, sent as `Authorization: Bearer <token>`. A public-only token reads what
the published site shows (accepted answers of closed cycles); any other token also reads answers
submitted or accepted in open cycles. Drafts are nobody's business but their agency's.

Lists come a page at a time in a stable order (by id); `next_cursor` is opaque and continues the
list. Each token may make `api_requests_per_minute` requests in a minute (a token bucket of that
size, refilled continuously, per process); past it the answer is 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.figures import StocktakeFigures
from domain.model import ReportedStatus
from domain.numbers import ascii_number
from domain.ports import Clock
from domain.publication import Audience, CycleEntry, RecommendationRecord
from portal.security import NO_STORE
from workflows.queries import public_record
from workflows.queries.api_tokens import active_token
from workflows.queries.figures import figures_of

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]
# Ids and agenda points are 32-bit in the schema: larger numbers can match nothing, say so up front.
ID_MAX = 2**31 - 1
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a server error


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


class OwnerOut(BaseModel):
    code: str
    name: str
    role: str


class EvidenceFileOut(BaseModel):
    name: str
    size: int = Field(description="In bytes")
    sha256: str


class AnswerOut(BaseModel):
    agency_code: str
    agency_name: str
    role: str
    review_state: str = Field(description="accepted (or, for tokens that are not public-only, submitted)")
    status: ReportedStatus | None = Field(
        description="The secretariat's assessment if any, else the agency's"
    )
    narrative: str
    evidence: list[str]
    evidence_files: list[EvidenceFileOut] = Field(
        description="Evidence files the secretariat made public when it accepted the answer"
    )
    reviewed_on: date | None


class CycleEntryOut(BaseModel):
    cycle: str
    cycle_state: str
    closed_on: date | None
    status: ReportedStatus | None = Field(
        description="Rolled up from the answers this token may read, as the stock-take does "
        "(null: its lead's answer is not among them)"
    )
    answers: list[AnswerOut]


class RecommendationOut(BaseModel):
    id: int
    report: str
    code: str
    kind: str
    agenda_point: int | None
    agenda_title: str | None
    heading: str
    text: str
    state: str
    owners: list[OwnerOut]
    status: ReportedStatus | None = Field(
        description="The status at the latest cycle that reported on it, as this token may read (null: none)"
    )


class RecommendationHistoryOut(RecommendationOut):
    timeline: list[CycleEntryOut] = Field(description="Every cycle of the recommendation, oldest first")


class RecommendationPage(BaseModel):
    items: list[RecommendationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class CycleOut(BaseModel):
    name: str
    state: str
    hlcp_session: str | None
    deadline: date
    launched_on: date | None
    closed_on: date | None
    figures: StocktakeFigures = Field(
        description="The stock-take's figures (as of the close of a closed cycle, of today for an open one)"
    )
    reported_rate: int = Field(description="`reported` as a whole percent of `items`")


class CyclePage(BaseModel):
    items: list[CycleOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class TokenBuckets:
    """Per-token token buckets: `capacity` requests at once, refilled at `capacity` a minute."""

    def __init__(self, capacity: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.per_second = capacity / 60
        self.monotonic = monotonic
        self.buckets: dict[int, tuple[float, float]] = {}  # token id -> (tokens left, when counted)
        self.lock = threading.Lock()  # the routes run in a thread pool

    def take(self, key: int) -> float:
        """Take one request from `key`'s bucket: 0 if allowed, else the seconds until one is back."""
        with self.lock:
            now = self.monotonic()
            left, then = self.buckets.get(key, (float(self.capacity), now))
            left = min(float(self.capacity), left + (now - then) * self.per_second)
            if left >= 1:
                self.buckets[key] = (left - 1, now)
                return 0.0
            self.buckets[key] = (left, now)
            return (1 - left) / self.per_second


# No length or pattern here: any cursor the list did not give is a 400 (see `_after`), not a 422.
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No read token, or one unknown or revoked"},
    429: {"model": Problem, "description": "Too many requests for this token; see Retry-After"},
}


def _check(kind: str, after: int, filters: object) -> str:
    # Not a secret: it tells a cursor of this list and filters from a made-up or a mixed-up one.
    return hashlib.blake2b(f"{kind}:{after}:{filters!r}".encode(), digest_size=6).hexdigest()


def _cursor(kind: str, after: int, filters: object = None) -> str:
    payload = f"{kind}:{after}:{_check(kind, after, filters)}"
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _after(kind: str, cursor: str | None, filters: object = None) -> int:
    """The id a cursor continues after (0 without one); 400 for a cursor this list did not give."""
    if cursor is None:
        return 0
    decoded = ""
    with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
        if _CURSOR.fullmatch(cursor):
            decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    prefix, number, check = [*decoded.split(":"), "", ""][:3]
    after = ascii_number(number, max_digits=10)  # "²" is a digit to `str.isdigit`, not to `int`
    if prefix != kind or after is None or not hmac.compare_digest(check, _check(kind, after, filters)):
        raise HTTPException(
            400, "cursor is not valid: pass the next_cursor of the previous page, with the same filters"
        )
    return after


def _recommendation(rec: RecommendationRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "report": rec.source,
        "code": rec.code,
        "kind": rec.kind,
        "agenda_point": rec.agenda_point,
        "agenda_title": rec.agenda_title,
        "heading": rec.heading,
        "text": rec.text,
        "state": rec.state,
        "owners": [vars(owner) for owner in rec.owners],
        "status": rec.status,
    }


def _entry(entry: CycleEntry) -> dict[str, Any]:
    return {
        "cycle": entry.cycle,
        "cycle_state": entry.cycle_state,
        "closed_on": entry.closed_on,
        "status": entry.status,
        "answers": [
            {
                **vars(answer),
                "evidence": list(answer.evidence),
                "evidence_files": [
                    {"name": f.name, "size": f.size, "sha256": f.sha256} for f in answer.files
                ],
            }
            for answer in entry.answers
        ],
    }


def create_api(uow: UnitOfWorkFactory, clock: Clock, *, requests_per_minute: int) -> FastAPI:
    """The read API, to mount at /api/v1 (its OpenAPI description at /api/v1/openapi.json)."""
    api = FastAPI(
        title="Follow-up read API",
        version="1",
        description=(__doc__ or "").split("\n", 1)[1].strip(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    buckets = TokenBuckets(requests_per_minute)
    bearer = HTTPBearer(auto_error=False, description="A read token from `followup api-token create`")

    def reader(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Audience:
        """The audience the presented token reads as; 401 without a valid one, 429 past its rate."""
        token = active_token(uow(), credentials.credentials) if credentials else None
        if token is None:
            raise HTTPException(401, "a valid read token is needed", {"WWW-Authenticate": "Bearer"})
        wait = buckets.take(token.id)
        if wait:
            raise HTTPException(
                429, "too many requests for this token", {"Retry-After": str(math.ceil(wait))}
            )
        return Audience.PUBLIC if token.public_only else Audience.SECRETARIAT

    @api.get(
        "/recommendations", response_model=RecommendationPage, responses={**REFUSALS, 400: {"model": Problem}}
    )
    def recommendations(
        audience: Audience = Depends(reader),
        cursor: Cursor = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        report: Annotated[
            str | None, Query(max_length=200, pattern=NO_NUL, description="The report (source)")
        ] = None,
        agenda_point: Annotated[int | None, Query(ge=0, le=ID_MAX)] = None,
        owner: Annotated[
            str | None, Query(max_length=32, pattern=NO_NUL, description="An owning agency's code")
        ] = None,
        status: Annotated[
            ReportedStatus | None, Query(description="The latest status this token may read")
        ] = None,
    ) -> dict[str, Any]:
        """Recommendations by id, filtered by report, agenda point, owner and latest status."""
        filters = public_record.RecommendationFilter(
            report=report, agenda_point=agenda_point, owner=owner, status=status.value if status else None
        )
        page, after = public_record.recommendation_page(
            uow(), audience, filters, after=_after("r", cursor, filters), limit=limit
        )
        return {
            "items": [_recommendation(rec) for rec in page],
            "next_cursor": _cursor("r", after, filters) if after is not None else None,
        }

    @api.get(
        "/recommendations/{recommendation_id}",
        response_model=RecommendationHistoryOut,
        responses={**REFUSALS, 404: {"model": Problem}},
    )
    def recommendation(
        recommendation_id: Annotated[int, Path(ge=1, le=ID_MAX)], audience: Audience = Depends(reader)
    ) -> dict[str, Any]:
        """One recommendation with its history: each cycle it was in, with the answers this token may read."""
        rec = public_record.record(uow(), audience, recommendation_id)
        return {**_recommendation(rec), "timeline": [_entry(entry) for entry in rec.timeline]}

    @api.get("/cycles", response_model=CyclePage, responses={**REFUSALS, 400: {"model": Problem}})
    def cycles(
        audience: Audience = Depends(reader),
        cursor: Cursor = None,
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> dict[str, Any]:
        """Cycles by id (public-only tokens: closed ones) with their stock-take figures."""
        page, after = public_record.cycle_page(uow(), audience, after=_after("c", cursor), limit=limit)
        items = []
        for cycle in page:
            with uow() as reading:
                figures = figures_of(reading.session, cycle.name, today=clock.today())
            items.append(
                {
                    "name": cycle.name,
                    "state": cycle.state,
                    "hlcp_session": cycle.hlcp_session,
                    "deadline": cycle.deadline,
                    "launched_on": cycle.launched_on,
                    "closed_on": cycle.closed_on,
                    "figures": figures,
                    "reported_rate": figures.reported_rate,
                }
            )
        return {"items": items, "next_cursor": _cursor("c", after) if after is not None else None}

    @api.middleware("http")
    async def never_cached(request: Request, call_next: Callable[[Request], Any]) -> Any:
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", NO_STORE)
        return response

    @api.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @api.exception_handler(NotFound)
    async def on_not_found(_request: Request, _exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @api.exception_handler(Exception)
    async def on_error(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "something went wrong on our side"}, status_code=500)

    return api
