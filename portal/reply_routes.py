"""The agency's pages: `/r/{token}` (the request, a part at a time when long; saved as a draft or
submitted) and `/r/{token}/receipt` (what the secretariat has on record)."""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.answers import (
    NARRATIVE_MAX,
    AnswerProblem,
    Conflict,
    InvalidAnswers,
    RawAnswer,
    RawMilestone,
    statuses,
)
from domain.errors import ValidationError
from domain.evidence import FIELD, KINDS
from domain.language import Language, Message
from domain.lifecycle import ReviewState
from domain.model import MilestoneOutcome
from domain.numbers import ascii_number
from notifications.i18n import translator
from notifications.immediate import KeyRecorder
from portal.evidence_routes import agency_file, evidence_changes
from portal.security import MAX_BODY_BYTES, NO_STORE, same, too_large_message
from portal.web import CSRF_FIELD, FIELDS, Portal, forbidden, text_fields
from workflows.queries import reply_page, reply_views
from workflows.services import replies
from workflows.services.evidence import EvidenceChanges

# Earlier versions listed under an item: the latest few tell the story; the count says how many exist.
VERSIONS_SHOWN = 3
# The reply page indexes an item's errors by field; every field is present so the template never misses.
NO_ERRORS: dict[str, Message | str] = dict.fromkeys((*FIELDS, "no_change", "milestone", FIELD), "")
# What an agency may report about a milestone, in the order the form offers them.
# (value, label) per outcome offered, by whether the milestone is overdue.
MILESTONE_OUTCOMES = {
    overdue: [(o.value, o.label) for o in MilestoneOutcome.offered(overdue=overdue)]
    for overdue in (False, True)
}
CSRF_COOKIE = "followup_csrf"
# What the file inputs offer to choose (the portal checks each file's content whatever its name).
EVIDENCE_ACCEPT = ",".join(extension for kind in KINDS for extension in kind.extensions)


@functools.cache
def status_options(language: Language) -> dict[str, Markup]:
    """The status <option>s in `language` with each value pre-selected, built once, not once per item."""
    words = translator(language)

    def options(chosen: str) -> Markup:
        first = Markup('<option value=""{}>{}</option>').format(
            Markup(" selected") if not chosen else "", words.gettext("Choose a status")
        )
        rest = (
            Markup('<option value="{}"{}>{}</option>').format(
                value, Markup(" selected") if value == chosen else "", words.gettext(label)
            )
            for value, label in statuses()
        )
        return Markup("\n").join([first, *rest])

    return {chosen: options(chosen) for chosen in ["", *(value for value, _ in statuses())]}


def reply_routes(portal: Portal) -> APIRouter:
    """The routes an agency's reply link opens."""
    router = APIRouter()

    @router.get("/r/{token}")
    def get_reply(token: str, saved: int = 0, part: str = "1", file: str = "") -> Response:
        """The agency's request (a part of it if long), rendered as it is stored now; or one of its files."""
        if file:
            return agency_file(portal, token, file)
        page = _open(portal, token, _part_number(part))
        notice = translator(page.language).gettext("Draft saved.") if saved else ""
        return _reply_form(portal, token, page, notice=notice)

    @router.post("/r/{token}")
    async def post_reply(token: str, request: Request, part: str = "1") -> Response:
        """Save a draft or submit; validation errors and conflicts come back on the page."""
        number = _part_number(part)
        page = _open(portal, token, number)
        # Each item has a file input (an empty one sends a nameless part), which may carry an answer's files.
        # Its texts stay within the limit a form without files has (the body may be larger for the files).
        try:
            form = await request.form(
                max_files=len(page.items) * portal.settings.evidence_max_files,
                max_fields=2000,
                max_part_size=MAX_BODY_BYTES,
            )
        except StarletteHTTPException as exc:
            # Starlette refuses a text field over `max_part_size` with a bare 400 ("Field exceeded
            # maximum size"): it is a reply too large, and says so as the body limit's 413 does.
            if exc.status_code != 400 or "exceeded maximum size" not in str(exc.detail):
                raise
            said = too_large_message(Language(page.language), MAX_BODY_BYTES, uploads=False)
            return PlainTextResponse(
                f"{said}\n", status_code=413, headers={"Content-Language": page.language}
            )
        try:
            # In a worker thread: the files are copied to the storage, which must not hold up other pages.
            return await run_in_threadpool(_post_reply, portal, token, request, page, number, form)
        finally:
            await form.close()  # the uploads' spooled files, whether they were attached or not

    @router.get("/r/{token}/receipt")
    def receipt(token: str) -> HTMLResponse:
        """What the secretariat has on record from this agency."""
        page = _open(portal, token)
        recorded = [
            item for item in page.items if item.current is not None and item.state != ReviewState.DRAFT
        ]
        language = Language(page.language)
        return portal.render("receipt.html", lang=language, page=page, token=token, recorded=recorded)

    return router


def _post_reply(
    portal: Portal, token: str, request: Request, page: reply_views.ReplyPage, number: int, form: FormData
) -> Response:
    """Save a draft or submit what the form sends (answers and evidence files), or say what is wrong."""
    language = Language(page.language)
    fields = text_fields(form)
    expected = portal.csrf(token)
    if not same(fields.get(CSRF_FIELD), expected) or not same(request.cookies.get(CSRF_COOKIE), expected):
        return forbidden(language)
    action = fields.get("action", "")
    if action not in ("save", "next", "submit"):
        return PlainTextResponse("Unknown action.\n", status_code=400)
    answers = _answers_from(fields, page)
    evidence = evidence_changes(form, fields, page)
    in_parts = len(page.parts) > 1
    submit = action == "submit"
    try:
        # Submitting from a part is one transaction (this part as typed, the others as stored),
        # like a short page.
        result, queued = _save(portal, token, answers, evidence, submit=submit)
    except InvalidAnswers as exc:
        if submit and in_parts and page.answered_at is None:
            # A first submission from a part while other parts still lack answers: keep this
            # part's typing as a draft (when it is a valid one), then say what is missing where.
            with contextlib.suppress(InvalidAnswers):
                kept, _ = _save(portal, token, answers, evidence, submit=False)
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
            portal,
            token,
            page,
            typed=answers,
            errors=_errors_of(exc),
            problems=exc.problems,
            files_dropped=bool(evidence.uploads),
        )
    except ValidationError as exc:  # the request as a whole can no longer take answers
        words = translator(language)
        said = words.gettext("Your answers were not saved: %(reason)s.")
        return PlainTextResponse(
            said % {"reason": words.gettext(exc.message)} + "\n",
            status_code=409,
            headers={"Cache-Control": NO_STORE, "Content-Language": language.value},
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
    # Back where the focal point was working (the last item this save stored, now shown as a draft
    # saved), not at the top of a page of up to 40 items; the next part opens at its top.
    last = [item.recommendation_id for item in page.items if item.code in result.saved][-1:]
    where = f"#item-{last[0]}" if last and shown == number else ""
    return RedirectResponse(f"/r/{token}?{urlencode(query)}{where}", status_code=303)


def _open(portal: Portal, token: str, part: int | None = None) -> reply_views.ReplyPage:
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
    portal: Portal, token: str, answers: list[RawAnswer], evidence: EvidenceChanges, *, submit: bool
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
        evidence=evidence,
        store=portal.evidence,
    )
    return result, recorder.keys


def _errors_of(exc: InvalidAnswers) -> dict[int, dict[str, Message | str]]:
    """The first problem of each field of each item, as the form shows them (translated there)."""
    errors: dict[int, dict[str, Message | str]] = {}
    for problem in exc.problems:
        errors.setdefault(problem.recommendation_id, {}).setdefault(
            problem.field, problem.said or problem.message
        )
    return errors


def _part_number(text: str) -> int:
    """The part asked for in the query; anything but a small positive ASCII number is a page not found."""
    number = ascii_number(text, max_digits=4)
    if number is None or number < 1:
        raise reply_views.NoSuchPart("no such part")
    return number


def _reply_form(
    portal: Portal,
    token: str,
    page: reply_views.ReplyPage,
    *,
    notice: str = "",
    typed: list[RawAnswer] | None = None,
    errors: dict[int, dict[str, Message | str]] | None = None,
    problems: list[AnswerProblem] | None = None,
    conflicts: tuple[Conflict, ...] = (),
    saved: tuple[str, ...] = (),
    draft_kept: bool = False,
    files_dropped: bool = False,
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
    language = Language(page.language)
    status_code = 422 if errors else 409 if conflicts else 200
    response = portal.render(
        "reply.html",
        status_code=status_code,
        lang=language,
        page=page,
        token=token,
        csrf=csrf,
        csrf_field=CSRF_FIELD,
        status_options=status_options(language),
        values=values,
        errors={rid: {**NO_ERRORS, **found} for rid, found in (errors or {}).items()},
        no_errors=NO_ERRORS,
        problems=problems or [],
        problems_here=[p for p in problems or [] if page.part_of.get(p.recommendation_id) == page.part],
        problems_elsewhere=_problems_elsewhere(page, problems or []),
        draft_kept=draft_kept,
        files_dropped=files_dropped,
        evidence_limits=portal.settings.evidence_limits,
        evidence_accept=EVIDENCE_ACCEPT,
        conflicts={c.recommendation_id: c for c in conflicts},
        saved=saved,
        notice=notice,
        narrative_max=NARRATIVE_MAX,
        milestone_outcomes=MILESTONE_OUTCOMES,
        versions_shown=VERSIONS_SHOWN,
    )
    _set_csrf_cookie(portal, response, token)
    return response


def _problems_elsewhere(
    page: reply_views.ReplyPage, problems: list[AnswerProblem]
) -> list[tuple[reply_views.PartView, int]]:
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


def _form_values(item: reply_views.ReplyItem) -> dict[str, Any]:
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
    """What an item's inputs show after a failed post: what was typed, against this version."""
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


def _answers_from(fields: dict[str, str], page: reply_views.ReplyPage) -> list[RawAnswer]:
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
