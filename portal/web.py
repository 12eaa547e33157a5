"""What every portal page shares: the `Portal` (settings, database, clock, notifier, templates in each
language), CSRF names, form reading and the plain error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.language import N_, Language
from domain.ports import Clock, Notifier
from notifications.i18n import install, negotiated, translator
from portal.security import NO_STORE, SECURITY_HEADERS, signed
from workflows import bootstrap
from workflows.queries import reply_views
from workflows.queries.evidence import NoSuchFile
from workflows.settings import Settings

log = logging.getLogger("followup.portal")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "portal"
STATIC = Path(__file__).resolve().parent / "static"
CSRF_FIELD = "csrf"
FIELDS = ("status", "narrative", "evidence", "next_milestone_date", "obstacle")
# What the reply form calls each input: its labels, and the names problems are listed under.
FIELD_LABELS = {
    "status": N_("Status"),
    "narrative": N_("What changed and why"),
    "evidence": N_("Evidence links"),
    "evidence_files": N_("Evidence files"),
    "next_milestone_date": N_("Next milestone date"),
    "obstacle": N_("Obstacle"),
    "no_change": N_("No change since last time"),
    "milestone": N_("Milestones"),
    "milestone_on": N_("Date (done on, or the new date)"),
    "milestone_why": N_("Why (if rescheduled or dropped)"),
}
NotifierFactory = Callable[[SqlUnitOfWork, Clock], Notifier]


class Portal:
    """What the routes need: settings, database, clock, notifier and templates."""

    def __init__(self, settings: Settings, clock: Clock, notifier: NotifierFactory | None) -> None:
        self.settings = settings
        self.clock = clock
        self.notifier_factory = notifier or bootstrap.notifier
        self.secret_key = bootstrap.secret_key(settings, record=True)  # refuses another key
        self.config = bootstrap.cycle_config()
        self.evidence = bootstrap.evidence_store(settings)
        # One template environment per language: gettext is an environment global in Jinja's i18n.
        self.templates = {language: _environment(language) for language in Language}

    def uow(self) -> SqlUnitOfWork:
        """A unit of work on the portal's database."""
        return bootstrap.uow(self.settings.resolved_database_url)

    def render(
        self, name: str, status_code: int = 200, *, lang: Language = Language.EN, **context: Any
    ) -> HTMLResponse:
        """A page from templates/portal in `lang`, never cached (it may show an agency's answers)."""
        body = (
            self.templates[lang]
            .get_template(name)
            .render(secretariat_email=self.settings.secretariat_email, **context)
        )
        return HTMLResponse(
            body,
            status_code=status_code,
            headers={"Cache-Control": NO_STORE, "Content-Language": lang.value},
        )

    def mail_after(self, response: Response, keys: list[str]) -> Response:
        """The response, with these queued messages handed to the mail server once it has been sent."""
        if keys:
            # After the response: the person never waits for the mail server, however slow it is.
            response.background = BackgroundTask(bootstrap.send_now, keys, self.clock, self.settings)
        return response

    def csrf(self, token: str) -> str:
        """The CSRF value of a reply page: bound to its token, so it is useless on any other page."""
        return signed(self.secret_key, "csrf", token)


def _environment(language: Language) -> Environment:
    """The portal's templates in one language, with its labels, dates and numbers."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # No blank lines left by block tags: a 200-item page is otherwise a tenth whitespace.
        trim_blocks=True,
        lstrip_blocks=True,
    )
    words = install(env, language)
    env.globals.update(labels={name: words.gettext(label) for name, label in FIELD_LABELS.items()})
    return env


def text_fields(form: FormData) -> dict[str, str]:
    """A form's text fields; a NUL character, which no browser sends and PostgreSQL refuses, is a 422."""
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if any("\x00" in key or "\x00" in value for key, value in fields.items()):
        raise StarletteHTTPException(422, "the form holds a NUL character")
    return fields


def forbidden(language: Language = Language.EN) -> PlainTextResponse:
    """A form whose CSRF token does not match: nothing was saved."""
    words = translator(language)
    return PlainTextResponse(
        words.gettext(
            "This form could not be verified (it is missing its security token or comes from another page)."
        )
        + "\n"
        + words.gettext("Open your reply link again and resend your answers.")
        + "\n",
        status_code=403,
        headers={"Cache-Control": NO_STORE, "Content-Language": language.value},
    )


def unauthorized() -> PlainTextResponse:
    """A secretariat page asked for without the secretariat token."""
    return PlainTextResponse(
        "The secretariat key is missing or wrong.\n",
        status_code=401,
        headers={"WWW-Authenticate": "Bearer", "Cache-Control": NO_STORE},
    )


def install_error_pages(app: FastAPI, portal: Portal) -> None:
    """Plain error pages: one 404 for every bad link, and never a stack trace or an id."""

    def not_found(request: Request, language: str | None = None, missing: str = "") -> HTMLResponse:
        # A part missing from a valid link: in the link's language; any other miss: in the browser's.
        shown = Language(language) if language else negotiated(request.headers.get("accept-language", ""))
        return portal.render("not_found.html", status_code=404, lang=shown, missing=missing)

    @app.exception_handler(NotFound)
    async def on_not_found(request: Request, exc: NotFound) -> HTMLResponse:
        # A wrong part number or a file no longer there says so (neither reveals anything a working
        # link does not show); any other miss looks the same.
        if isinstance(exc, reply_views.NoSuchPart):
            return not_found(request, exc.language, missing="part")
        return not_found(request, missing="file" if isinstance(exc, NoSuchFile) else "")

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found(request)
        # A form the page did not make (altered, or more files than a save takes): in the browser's
        # language, as the 413 and 500 pages, with no detail of what was refused. Only a reply link's
        # page is told to open its link again: the secretariat's pages have none.
        language = negotiated(request.headers.get("accept-language", ""))
        words = translator(language)
        refused = words.gettext("This request could not be handled (error %(code)s).")
        said = [refused % {"code": exc.status_code}]
        if request.url.path.startswith("/r/"):
            said.append(words.gettext("Open your reply link again and resend your answers."))
        return PlainTextResponse(
            " ".join(said) + "\n",
            status_code=exc.status_code,
            headers={"Cache-Control": NO_STORE, "Content-Language": language.value},
        )

    @app.exception_handler(Exception)
    async def on_error(request: Request, _exc: Exception) -> PlainTextResponse:
        language = negotiated(request.headers.get("accept-language", ""))
        said = translator(language).gettext(
            "Something went wrong on our side; your answers may not have been saved. "
            "Please try again later or write to %(address)s."
        )
        return PlainTextResponse(
            said % {"address": portal.settings.secretariat_email} + "\n",
            status_code=500,
            headers={**SECURITY_HEADERS, "Content-Language": language.value},
        )
