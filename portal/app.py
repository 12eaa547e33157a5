"""The reply portal: agencies answer their status request through a secure link, no account needed.

Routes: `/r/{token}` (the whole request on one page, saved as a draft or submitted),
`/r/{token}/receipt` (what was recorded), `/cycles/{slug}` (the secretariat's overview and review
queue, behind the secretariat token; `POST /cycles/{slug}/review` accepts or returns an answer;
`/cycles/{slug}/reports/{file}` downloads its stock-take reports), `/healthz`; the read API under
`/api/v1/` (`portal.api`). Every page is rendered on the server and works without JavaScript; every
form carries a CSRF token; every error is a plain page without internals.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import text
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.unit_of_work import SqlUnitOfWork
from domain.answers import (
    NARRATIVE_MAX,
    AnswerProblem,
    Conflict,
    InvalidAnswers,
    RawAnswer,
    RawMilestone,
    status_label,
    statuses,
)
from domain.dates import DATE_HINT, as_written, long_date, long_moment, week_date
from domain.errors import DomainError, NotFound, ValidationError
from domain.launch import cycle_slug
from domain.lifecycle import ReviewState
from domain.model import MilestoneOutcome
from domain.numbers import ascii_number
from domain.ports import Clock, Notifier
from notifications.immediate import KeyRecorder
from portal.api import create_api
from portal.security import (
    NO_STORE,
    SECURITY_HEADERS,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    same,
    signed,
)
from reporting import FORMATS
from workflows import bootstrap
from workflows.queries import reply_page
from workflows.queries.progress import cycle_name_of_slug, cycle_overview
from workflows.queries.review import review_queue
from workflows.services import replies, review
from workflows.services.recommendations import CLOSE_AS, close_item
from workflows.services.stocktake import report_file_name
from workflows.settings import Settings, get_settings

log = logging.getLogger("followup.portal")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "portal"
STATIC = Path(__file__).resolve().parent / "static"
CSRF_FIELD = "csrf"
CSRF_COOKIE = "followup_csrf"
SECRETARIAT_COOKIE = "followup_secretariat"
FIELDS = ("status", "narrative", "evidence", "next_milestone_date", "obstacle")
# What the reply form calls each input: its labels, and the names problems are listed under.
FIELD_LABELS = {
    "status": "Status",
    "narrative": "What changed and why",
    "evidence": "Evidence links",
    "next_milestone_date": "Next milestone date",
    "obstacle": "Obstacle",
    "no_change": "No change since last time",
    "milestone": "Milestones",
    "milestone_on": "Date (done on, or the new date)",
    "milestone_why": "Why (if rescheduled or dropped)",
}
NotifierFactory = Callable[[SqlUnitOfWork, Clock], Notifier]
# Review forms on one page at most: a 10,000-item cycle must not make a page of 10,000 forms.
REVIEW_SHOWN_MAX = 100
# Earlier versions listed under an item: the latest few tell the story; the count says how many exist.
VERSIONS_SHOWN = 3
# The reply page indexes an item's errors by field; every field is present so the template never misses.
NO_ERRORS: dict[str, str] = dict.fromkeys((*FIELDS, "no_change", "milestone"), "")
# What an agency may report about a milestone, in the order the form offers them.
MILESTONE_OUTCOMES = [(o.value, o.label) for o in MilestoneOutcome]


def _status_options() -> dict[str, Markup]:
    """The status <option>s with each value pre-selected, built once instead of once per item."""

    def options(chosen: str) -> Markup:
        first = Markup('<option value=""{}>Choose a status</option>').format(
            Markup(" selected") if not chosen else ""
        )
        rest = (
            Markup('<option value="{}"{}>{}</option>').format(
                value, Markup(" selected") if value == chosen else "", label
            )
            for value, label in statuses()
        )
        return Markup("\n").join([first, *rest])

    return {chosen: options(chosen) for chosen in ["", *(value for value, _ in statuses())]}


STATUS_OPTIONS = _status_options()


class Portal:
    """What the routes need: settings, database, clock, notifier and templates."""

    def __init__(self, settings: Settings, clock: Clock, notifier: NotifierFactory | None) -> None:
        self.settings = settings
        self.clock = clock
        self.notifier_factory = notifier or bootstrap.notifier
        self.secret_key = bootstrap.secret_key(settings, record=True)  # refuses another key
        self.config = bootstrap.cycle_config()
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            # No blank lines left by block tags: a 200-item page is otherwise a tenth whitespace.
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            status_label=status_label,
            longdate=long_date,
            weekdate=week_date,
            timestamp=long_moment,
            written_date=as_written,
        )
        self.templates.globals.update(labels=FIELD_LABELS, date_hint=DATE_HINT)

    def uow(self) -> SqlUnitOfWork:
        """A unit of work on the portal's database."""
        return bootstrap.uow(self.settings.resolved_database_url)

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A page from templates/portal, never cached (it may show an agency's answers)."""
        body = self.templates.get_template(name).render(
            secretariat_email=self.settings.secretariat_email, **context
        )
        return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": NO_STORE})

    def mail_after(self, response: Response, keys: list[str]) -> Response:
        """The response, with these queued messages handed to the mail server once it has been sent."""
        if keys:
            # After the response: the person never waits for the mail server, however slow it is.
            response.background = BackgroundTask(bootstrap.send_now, keys, self.clock, self.settings)
        return response

    def csrf(self, token: str) -> str:
        """The CSRF value of a reply page: bound to its token, so it is useless on any other page."""
        return signed(self.secret_key, "csrf", token)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, notifier: NotifierFactory | None = None
) -> FastAPI:
    """Build the portal application (settings from the environment unless given)."""
    portal = Portal(settings or get_settings(), clock or bootstrap.SystemClock(), notifier)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few threads for the (blocking) routes: many threads waiting to take the GIL back after their
        # database calls slow each other down (measured on PostgreSQL at 20 clients: p95 186 ms with
        # anyio's default 40 threads, 107 ms with 4). Renders are not serialised either: with a lock
        # around them a process rendered a third of the pages a second on PostgreSQL (its waits on
        # the database no longer overlapped) and fewer on SQLite.
        anyio.to_thread.current_default_thread_limiter().total_tokens = portal.settings.portal_threads
        yield

    app = FastAPI(
        title="Follow-up reply portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.portal = portal
    app.add_middleware(BodyLimitMiddleware)
    # Pure ASGI, not `@app.middleware("http")`: that wrapper costs about a millisecond a request.
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(
        "/api/v1",
        create_api(portal.uow, portal.clock, requests_per_minute=portal.settings.api_requests_per_minute),
    )
    _install_error_pages(app, portal)

    @app.get("/healthz")
    def healthz() -> PlainTextResponse:
        """Liveness and database reachability."""
        with portal.uow() as uow:
            uow.session.execute(text("SELECT 1"))
        return PlainTextResponse("ok\n", headers={"Cache-Control": NO_STORE})

    @app.get("/r/{token}")
    def get_reply(token: str, saved: int = 0, part: str = "1") -> Response:
        """The agency's request (a part of it if long), rendered as it is stored now."""
        notice = "Draft saved." if saved else ""
        return _reply_form(portal, token, _open(portal, token, _part_number(part)), notice=notice)

    @app.post("/r/{token}")
    async def post_reply(token: str, request: Request, part: str = "1") -> Response:
        """Save a draft or submit; validation errors and conflicts come back on the page."""
        number = _part_number(part)
        page = _open(portal, token, number)
        fields = _text_fields(await request.form(max_files=0, max_fields=2000))
        expected = portal.csrf(token)
        if not same(fields.get(CSRF_FIELD), expected) or not same(request.cookies.get(CSRF_COOKIE), expected):
            return _forbidden()
        action = fields.get("action", "")
        if action not in ("save", "next", "submit"):
            return PlainTextResponse("Unknown action.\n", status_code=400)
        answers = _answers_from(fields, page)
        in_parts = len(page.parts) > 1
        submit = action == "submit"
        try:
            # Submitting from a part is one transaction (this part as typed, the others as stored),
            # like a short page.
            result, queued = _save(portal, token, answers, submit=submit)
        except InvalidAnswers as exc:
            if submit and in_parts and page.answered_at is None:
                # A first submission from a part while other parts still lack answers: keep this
                # part's typing as a draft (when it is a valid one), then say what is missing where.
                with contextlib.suppress(InvalidAnswers):
                    kept, _ = _save(portal, token, answers, submit=False)
                    conflicted = {c.recommendation_id for c in kept.conflicts}
                    return _reply_form(
                        portal,
                        token,
                        _open(portal, token, number),
                        typed=[a for a in answers if a.recommendation_id in conflicted],
                        errors=_errors_of(exc),
                        problems=exc.problems,
                        conflicts=kept.conflicts,
                        draft_kept=True,
                    )
            return _reply_form(
                portal, token, page, typed=answers, errors=_errors_of(exc), problems=exc.problems
            )
        except ValidationError as exc:  # the request as a whole can no longer take answers
            return PlainTextResponse(
                f"Your answers were not saved: {exc.message}.\n",
                status_code=409,
                headers={"Cache-Control": NO_STORE},
            )
        if result.conflicts:
            fresh = _open(portal, token, number)
            return _reply_form(
                portal, token, fresh, typed=answers, conflicts=result.conflicts, saved=result.saved
            )
        if result.submitted:
            return portal.mail_after(RedirectResponse(f"/r/{token}/receipt", status_code=303), queued)
        shown = page.next_part if action == "next" and page.next_part else number
        query = {"part": shown, "saved": 1} if len(page.parts) > 1 else {"saved": 1}
        return RedirectResponse(f"/r/{token}?{urlencode(query)}", status_code=303)

    @app.get("/r/{token}/receipt")
    def receipt(token: str) -> HTMLResponse:
        """What the secretariat has on record from this agency."""
        page = _open(portal, token)
        recorded = [
            item for item in page.items if item.current is not None and item.state != ReviewState.DRAFT
        ]
        return portal.render("receipt.html", page=page, token=token, recorded=recorded)

    @app.get("/cycles/{slug}")
    def cycle_page(
        slug: str, request: Request, key: str | None = None, done: str = "", code: str = "", agency: str = ""
    ) -> Response:
        """The secretariat's page of a cycle: who answered, who is overdue, the answers to review."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if key is not None:
            return _sign_in(portal, key, f"/cycles/{quote(slug, safe='')}")
        if not _is_secretariat(portal, request):
            return _unauthorized()
        notice = _review_notice(done, code, agency) if done else ""
        return _cycle_page(portal, cycle_name_of_slug(portal.uow(), slug), notice=notice)

    @app.get("/cycles/{slug}/reports/{file_name}")
    def report_file(slug: str, file_name: str, request: Request, key: str | None = None) -> Response:
        """A stock-take report of the cycle, for the secretariat to download (Prefect's links point here)."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if key is not None:
            return _sign_in(portal, key, f"/cycles/{quote(slug, safe='')}/reports/{quote(file_name)}")
        if not _is_secretariat(portal, request):
            return _unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        # Only the cycle's own report files, by the names they are written under: no path from outside.
        formats = {report_file_name(name, fmt): fmt for fmt in FORMATS}
        if file_name not in formats:
            raise NotFound(f"'{file_name}' is not a stock-take report of '{name}'")
        path = portal.settings.reports_dir / file_name
        if not path.is_file():
            raise NotFound(f"no {formats[file_name]} stock-take of '{name}' yet: it is written at the close")
        return FileResponse(path, filename=file_name, headers={"Cache-Control": NO_STORE})

    @app.post("/cycles/{slug}/review")
    async def post_review(slug: str, request: Request) -> Response:
        """Accept an answer (an assessed status optional), return it with a question, or close the item."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if not _is_secretariat(portal, request):
            return _unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        fields = _text_fields(await request.form(max_files=0, max_fields=20))
        if not same(fields.get(CSRF_FIELD), portal.csrf(f"cycles:{name}")):
            return _forbidden()
        action, code, agency = fields.get("action", ""), fields.get("code", ""), fields.get("agency", "")
        if action not in ("accept", "return", "close"):
            return PlainTextResponse("Unknown action.\n", status_code=400)
        by = "secretariat (portal)"
        outgoing: list[str] = []
        try:
            if action == "close":
                close_item(
                    portal.uow(),
                    portal.clock,
                    code,
                    how=fields.get("how", ""),
                    why=fields.get("why", ""),
                    by=by,
                )
            elif action == "accept":
                review.accept(
                    portal.uow(),
                    portal.clock,
                    name,
                    code,
                    agency,
                    by=by,
                    assess=fields.get("assess") or None,
                    why=fields.get("why", ""),
                )
            else:
                uow = portal.uow()
                recorder = KeyRecorder(portal.notifier_factory(uow, portal.clock))
                review.return_item(
                    uow,
                    recorder,
                    portal.clock,
                    portal.config,
                    name,
                    code,
                    agency,
                    question=fields.get("question", ""),
                    by=by,
                )
                outgoing = recorder.keys
        except DomainError as exc:
            return _cycle_page(portal, name, error=str(exc), status_code=422)
        target = f"/cycles/{cycle_slug(name)}?{urlencode({'done': action, 'code': code, 'agency': agency})}"
        return portal.mail_after(RedirectResponse(target, status_code=303), outgoing)

    return app


def _sign_in(portal: Portal, key: str, target: str) -> Response:
    """Exchange the secretariat token given as `?key=` for a session cookie, then go to `target`."""
    configured = portal.settings.secretariat_token
    if not configured or not same(key, configured):
        return _unauthorized()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SECRETARIAT_COOKIE,
        signed(portal.secret_key, "secretariat", configured),
        httponly=True,
        samesite="lax",
        secure=portal.settings.public_url.startswith("https://"),
        path="/cycles",
    )
    return response


def _is_secretariat(portal: Portal, request: Request) -> bool:
    """The request carries the secretariat token (bearer) or the session cookie it was exchanged for."""
    configured = portal.settings.secretariat_token
    if not configured:
        return False
    session = signed(portal.secret_key, "secretariat", configured)
    bearer = request.headers.get("authorization", "")
    presented = bearer[7:] if bearer.lower().startswith("bearer ") else None
    return same(presented, configured) or same(request.cookies.get(SECRETARIAT_COOKIE), session)


def _cycle_page(
    portal: Portal, name: str, *, notice: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    """The secretariat's page of a cycle: who answered, who is overdue, and the review queue."""
    overview = cycle_overview(portal.uow(), name, portal.clock.today())
    queue = review_queue(portal.uow(), name)
    return portal.render(
        "cycle.html",
        status_code=status_code,
        overview=overview,
        queue=queue,
        shown_max=REVIEW_SHOWN_MAX,
        statuses=statuses(),
        close_as=list(CLOSE_AS),
        csrf=portal.csrf(f"cycles:{name}"),
        csrf_field=CSRF_FIELD,
        slug=cycle_slug(name),
        notice=notice,
        error=error,
    )


def _review_notice(done: str, code: str, agency: str) -> str:
    verb = {
        "accept": "Accepted",
        "return": "Returned to the agency:",
        "close": "Closed (no longer asked):",
    }.get(done)
    return f"{verb} {code} ({agency})." if verb else ""


def _open(portal: Portal, token: str, part: int | None = None) -> reply_page.ReplyPage:
    """The request's page (one part of it when `part` is given); NotFound for a bad link or part."""
    return reply_page.open_request(
        portal.uow(),
        portal.clock,
        portal.config,
        token,
        grace_days=portal.settings.token_grace_days,
        part=part,
        part_size=portal.settings.portal_part_size,
    )


def _save(
    portal: Portal, token: str, answers: list[RawAnswer], *, submit: bool
) -> tuple[replies.SaveResult, list[str]]:
    """Save (or submit) answers in a unit of work of their own; the result and the keys of messages queued."""
    uow = portal.uow()  # save_reply opens and commits it; the notifier writes in its transaction
    recorder = KeyRecorder(portal.notifier_factory(uow, portal.clock))
    result = replies.save_reply(
        uow,
        recorder,
        portal.clock,
        portal.config,
        token,
        answers,
        submit=submit,
        grace_days=portal.settings.token_grace_days,
    )
    return result, recorder.keys


def _errors_of(exc: InvalidAnswers) -> dict[int, dict[str, str]]:
    """The first problem of each field of each item, as the form shows them."""
    errors: dict[int, dict[str, str]] = {}
    for problem in exc.problems:
        errors.setdefault(problem.recommendation_id, {}).setdefault(problem.field, problem.message)
    return errors


def _part_number(text: str) -> int:
    """The part asked for in the query; anything but a small positive ASCII number is a page not found."""
    number = ascii_number(text, max_digits=4)
    if number is None or number < 1:
        raise reply_page.NoSuchPart("no such part")
    return number


def _reply_form(
    portal: Portal,
    token: str,
    page: reply_page.ReplyPage,
    *,
    notice: str = "",
    typed: list[RawAnswer] | None = None,
    errors: dict[int, dict[str, str]] | None = None,
    problems: list[AnswerProblem] | None = None,
    conflicts: tuple[Conflict, ...] = (),
    saved: tuple[str, ...] = (),
    draft_kept: bool = False,
) -> HTMLResponse:
    """The reply form; after a failed post it shows what was typed, the problems and any conflicts.

    Problems on this page are listed one by one; those on other parts of a long request are counted
    per part, with a link to it.
    """
    values = {item.recommendation_id: _form_values(item) for item in page.items}
    conflicted = {c.recommendation_id for c in conflicts}
    for raw in typed or []:
        if raw.recommendation_id not in values:
            continue
        if raw.recommendation_id in conflicted:
            # Keep their typing, now against the stored version: resubmitting replaces it knowingly.
            values[raw.recommendation_id] = _typed_values(raw, values[raw.recommendation_id]["version"])
        elif errors:
            # Nothing was saved: show what was typed, with the version it was typed against.
            values[raw.recommendation_id] = _typed_values(raw, raw.loaded_version)
    csrf = portal.csrf(token)
    status_code = 422 if errors else 409 if conflicts else 200
    response = portal.render(
        "reply.html",
        status_code=status_code,
        page=page,
        token=token,
        csrf=csrf,
        csrf_field=CSRF_FIELD,
        status_options=STATUS_OPTIONS,
        values=values,
        errors={rid: {**NO_ERRORS, **found} for rid, found in (errors or {}).items()},
        no_errors=NO_ERRORS,
        problems=problems or [],
        problems_here=[p for p in problems or [] if page.part_of.get(p.recommendation_id) == page.part],
        problems_elsewhere=_problems_elsewhere(page, problems or []),
        draft_kept=draft_kept,
        conflicts={c.recommendation_id: c for c in conflicts},
        saved=saved,
        notice=notice,
        narrative_max=f"{NARRATIVE_MAX:,}",
        milestone_outcomes=MILESTONE_OUTCOMES,
        versions_shown=VERSIONS_SHOWN,
    )
    _set_csrf_cookie(portal, response, token)
    return response


def _problems_elsewhere(
    page: reply_page.ReplyPage, problems: list[AnswerProblem]
) -> list[tuple[reply_page.PartView, int]]:
    """How many problems each other part of a long request has (parts without any left out)."""
    counts = Counter(page.part_of.get(p.recommendation_id) for p in problems)
    others = [part for part in page.parts if part.number != page.part]
    return [(part, counts[part.number]) for part in others if counts[part.number]]


def _set_csrf_cookie(portal: Portal, response: Response, token: str) -> None:
    """The CSRF cookie of a reply page, scoped to its path (a double submit with the form's field)."""
    response.set_cookie(
        CSRF_COOKIE,
        portal.csrf(token),
        httponly=True,
        samesite="strict",
        secure=portal.settings.public_url.startswith("https://"),
        path=f"/r/{token}",
    )


def _form_values(item: reply_page.ReplyItem) -> dict[str, Any]:
    """What an item's inputs start with: this cycle's stored answer, else nothing (never last cycle's)."""
    start = item.prefill
    if start is None:
        return {**dict.fromkeys(FIELDS, ""), "no_change": False, "milestones": {}, "version": item.version}
    return {
        # A confirmation stores last cycle's status; the form shows the No change box instead.
        "status": "" if start.no_change else start.status,
        "narrative": start.narrative,
        "evidence": "\n".join(start.evidence),
        "next_milestone_date": start.next_milestone_date,
        "obstacle": start.obstacle,
        "no_change": start.no_change,
        "milestones": {mid: (outcome, on, why) for mid, outcome, on, why in start.milestones},
        "version": item.version,
    }


def _typed_values(raw: RawAnswer, version: int | None) -> dict[str, Any]:
    return {
        "status": raw.status,
        "narrative": raw.narrative,
        "evidence": raw.evidence,
        "next_milestone_date": raw.next_milestone_date,
        "obstacle": raw.obstacle,
        "no_change": raw.no_change,
        "milestones": {m.milestone_id: (m.outcome, m.on, m.why) for m in raw.milestones},
        "version": version,
    }


def _text_fields(form: FormData) -> dict[str, str]:
    """A form's text fields; a NUL character, which no browser sends and PostgreSQL refuses, is a 422."""
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if any("\x00" in key or "\x00" in value for key, value in fields.items()):
        raise StarletteHTTPException(422, "the form holds a NUL character")
    return fields


def _answers_from(fields: dict[str, str], page: reply_page.ReplyPage) -> list[RawAnswer]:
    """One raw answer per item of this request; fields naming any other item are ignored."""
    answers = []
    for item in page.items:
        rid = item.recommendation_id
        if not item.editable or f"status-{rid}" not in fields:
            continue
        version = fields.get(f"version-{rid}", "")
        loaded_version = ascii_number(version, max_digits=9)
        if version and loaded_version is None:  # the form writes a small ASCII number: it was altered
            raise StarletteHTTPException(422, f"version-{rid} is not a version number")
        answers.append(
            RawAnswer(
                recommendation_id=rid,
                status=fields.get(f"status-{rid}", ""),
                narrative=fields.get(f"narrative-{rid}", ""),
                evidence=fields.get(f"evidence-{rid}", ""),
                next_milestone_date=fields.get(f"next_milestone_date-{rid}", ""),
                obstacle=fields.get(f"obstacle-{rid}", ""),
                # A tampered version can only cause a conflict, never a silent overwrite.
                loaded_version=-1 if loaded_version is None else loaded_version,
                no_change=fields.get(f"no_change-{rid}", "") == "yes",
                milestones=tuple(
                    RawMilestone(
                        m.id,
                        m.title,
                        outcome=fields.get(f"milestone-{m.id}", ""),
                        on=fields.get(f"milestone_on-{m.id}", ""),
                        why=fields.get(f"milestone_why-{m.id}", ""),
                    )
                    for m in item.milestones
                    if m.is_open
                ),
            )
        )
    return answers


def _forbidden() -> PlainTextResponse:
    return PlainTextResponse(
        "This form could not be verified (it is missing its security token or comes from another page).\n"
        "Open your reply link again and resend your answers.\n",
        status_code=403,
        headers={"Cache-Control": NO_STORE},
    )


def _unauthorized() -> PlainTextResponse:
    return PlainTextResponse(
        "The secretariat key is missing or wrong.\n",
        status_code=401,
        headers={"WWW-Authenticate": "Bearer", "Cache-Control": NO_STORE},
    )


def _install_error_pages(app: FastAPI, portal: Portal) -> None:
    """Plain error pages: one 404 for every bad link, and never a stack trace or an id."""

    def not_found(*, part_missing: bool = False) -> HTMLResponse:
        return portal.render("not_found.html", status_code=404, part_missing=part_missing)

    @app.exception_handler(NotFound)
    async def on_not_found(_request: Request, exc: NotFound) -> HTMLResponse:
        # A wrong part number says so (it reveals nothing about the link); any other miss looks the same.
        return not_found(part_missing=isinstance(exc, reply_page.NoSuchPart))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found()
        return PlainTextResponse(f"{exc.status_code}: request refused.\n", status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def on_error(_request: Request, _exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(
            "Something went wrong on our side; your answers may not have been saved. "
            f"Please try again later or write to {portal.settings.secretariat_email}.\n",
            status_code=500,
            headers=dict(SECURITY_HEADERS),
        )
