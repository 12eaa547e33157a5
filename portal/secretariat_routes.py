"""The secretariat's routes: `/cycles/{slug}` (a cycle's overview and review queue, behind the
secretariat token) and `POST /cycles/{slug}/review` (accept an answer or return it with a question)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from domain.answers import statuses
from domain.errors import DomainError, NotFound
from domain.launch import cycle_slug
from notifications.immediate import KeyRecorder
from portal.security import NO_STORE, same, signed
from portal.web import CSRF_FIELD, Portal, forbidden, text_fields
from workflows.queries.progress import cycle_name_of_slug, cycle_overview
from workflows.queries.review import review_queue
from workflows.services import review

SECRETARIAT_COOKIE = "followup_secretariat"
# Review forms on one page at most: a 10,000-item cycle must not make a page of 10,000 forms.
REVIEW_SHOWN_MAX = 100


def add_secretariat_routes(app: FastAPI, portal: Portal) -> None:
    """The secretariat's page of a cycle and its review form."""

    @app.get("/cycles/{slug}")
    def cycle_page(
        slug: str, request: Request, key: str | None = None, done: str = "", code: str = "", agency: str = ""
    ) -> Response:
        """The secretariat's page of a cycle: who answered, who is overdue, the answers to review."""
        configured = portal.settings.secretariat_token
        if not configured:
            raise NotFound("no secretariat token configured")
        session = signed(portal.secret_key, "secretariat", configured)
        if key is not None:
            if not same(key, configured):
                return _unauthorized()
            response = RedirectResponse(f"/cycles/{quote(slug, safe='')}", status_code=303)
            response.set_cookie(
                SECRETARIAT_COOKIE,
                session,
                httponly=True,
                samesite="lax",
                secure=portal.settings.public_url.startswith("https://"),
                path="/cycles",
            )
            return response
        if not _is_secretariat(portal, request):
            return _unauthorized()
        notice = _review_notice(done, code, agency) if done else ""
        return _cycle_page(portal, cycle_name_of_slug(portal.uow(), slug), notice=notice)

    @app.post("/cycles/{slug}/review")
    async def post_review(slug: str, request: Request) -> Response:
        """Accept an answer (optionally with an assessed status) or return it with a question."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if not _is_secretariat(portal, request):
            return _unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        fields = text_fields(await request.form(max_files=0, max_fields=20))
        if not same(fields.get(CSRF_FIELD), portal.csrf(f"cycles:{name}")):
            return forbidden()
        action, code, agency = fields.get("action", ""), fields.get("code", ""), fields.get("agency", "")
        if action not in ("accept", "return"):
            return PlainTextResponse("Unknown action.\n", status_code=400)
        by = "secretariat (portal)"
        outgoing: list[str] = []
        try:
            if action == "accept":
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
        csrf=portal.csrf(f"cycles:{name}"),
        csrf_field=CSRF_FIELD,
        slug=cycle_slug(name),
        notice=notice,
        error=error,
    )


def _review_notice(done: str, code: str, agency: str) -> str:
    verb = {"accept": "Accepted", "return": "Returned to the agency:"}.get(done)
    return f"{verb} {code} ({agency})." if verb else ""


def _unauthorized() -> PlainTextResponse:
    return PlainTextResponse(
        "The secretariat key is missing or wrong.\n",
        status_code=401,
        headers={"WWW-Authenticate": "Bearer", "Cache-Control": NO_STORE},
    )
