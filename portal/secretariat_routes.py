"""The secretariat's pages: `/cycles/{slug}` (who answered, who is overdue, the answers to review),
`POST /cycles/{slug}/review` and `/cycles/{slug}/reports/{file}`, behind the secretariat token."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from domain.answers import statuses
from domain.errors import DomainError, NotFound
from domain.launch import cycle_slug
from notifications.immediate import KeyRecorder
from portal.security import NO_STORE, same, signed
from portal.web import CSRF_FIELD, Portal, forbidden, text_fields, unauthorized
from reporting import FORMATS
from workflows.queries.evidence import cycle_files
from workflows.queries.progress import cycle_name_of_slug, cycle_overview
from workflows.queries.review import review_queue
from workflows.services import review
from workflows.services.recommendations import CLOSE_AS, close_item
from workflows.services.stocktake import report_file_name

SECRETARIAT_COOKIE = "followup_secretariat"
# Review forms on one page at most: a 10,000-item cycle must not make a page of 10,000 forms.
REVIEW_SHOWN_MAX = 100


def secretariat_routes(portal: Portal) -> APIRouter:
    """The routes of the secretariat's cycle pages."""
    router = APIRouter()

    @router.get("/cycles/{slug}")
    def cycle_page(
        slug: str, request: Request, key: str | None = None, done: str = "", code: str = "", agency: str = ""
    ) -> Response:
        """The secretariat's page of a cycle: who answered, who is overdue, the answers to review."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if key is not None:
            return sign_in(portal, key, f"/cycles/{quote(slug, safe='')}")
        if not is_secretariat(portal, request):
            return unauthorized()
        notice = _review_notice(done, code, agency) if done else ""
        return _cycle_page(portal, cycle_name_of_slug(portal.uow(), slug), notice=notice)

    @router.get("/cycles/{slug}/reports/{file_name}")
    def report_file(slug: str, file_name: str, request: Request, key: str | None = None) -> Response:
        """A stock-take report of the cycle, for the secretariat to download (Prefect's links point here)."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if key is not None:
            return sign_in(portal, key, f"/cycles/{quote(slug, safe='')}/reports/{quote(file_name)}")
        if not is_secretariat(portal, request):
            return unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        # Only the cycle's own report files, by the names they are written under: no path from outside.
        formats = {report_file_name(name, fmt): fmt for fmt in FORMATS}
        if file_name not in formats:
            raise NotFound(f"'{file_name}' is not a stock-take report of '{name}'")
        path = portal.settings.reports_dir / file_name
        if not path.is_file():
            raise NotFound(f"no {formats[file_name]} stock-take of '{name}' yet: it is written at the close")
        return FileResponse(path, filename=file_name, headers={"Cache-Control": NO_STORE})

    @router.post("/cycles/{slug}/review")
    async def post_review(slug: str, request: Request) -> Response:
        """Accept an answer (an assessed status optional), return it with a question, or close the item."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if not is_secretariat(portal, request):
            return unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        fields = text_fields(await request.form(max_files=0, max_fields=20))
        if not same(fields.get(CSRF_FIELD), portal.csrf(f"cycles:{name}")):
            return forbidden()
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
                    publish_evidence=fields.get("publish_evidence") == "yes",
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

    return router


def sign_in(portal: Portal, key: str, target: str) -> Response:
    """Exchange the secretariat token given as `?key=` for a session cookie, then go to `target`."""
    configured = portal.settings.secretariat_token
    if not configured or not same(key, configured):
        return unauthorized()
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


def is_secretariat(portal: Portal, request: Request) -> bool:
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
    with portal.uow() as reading:
        overview = cycle_overview(reading.session, name, portal.clock.today())
    queue = review_queue(portal.uow(), name)
    return portal.render(
        "cycle.html",
        status_code=status_code,
        overview=overview,
        queue=queue,
        files=cycle_files(portal.uow(), name),
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
    """The line shown after a review action, naming the item and the agency."""
    verb = {
        "accept": "Accepted",
        "return": "Returned to the agency:",
        "close": "Closed (no longer asked):",
    }.get(done)
    return f"{verb} {code} ({agency})." if verb else ""
