"""Rendering of e-mail messages from templates: a pure function of the data (no clock, no I/O state).

Each kind has `templates/email/<kind>/{subject.txt, body.txt, body.html}` sharing `_base/`.
HTML is autoescaped, text is not; a missing context value is an error, never an empty string.
A message is written in the context's `lang` (en, fr or es; English without one): its sentences
from the gettext catalogues, its dates and numbers as that language writes them (`i18n`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from icalendar import Alarm, Calendar, Event, vCalAddress, vText, vUri
from icalendar.parser import Contentline, Contentlines
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError, select_autoescape
from markupsafe import escape

from domain.language import Language, words_of
from domain.model import agenda_heading_said
from notifications.i18n import Translator, install, translator

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
KINDS = (
    "status-request",
    "reminder",
    "deadline-extended",
    "escalation",
    "receipt",
    "cycle-summary",
    "returned",
    "cycle-cancelled",
)
# The request, its reminders and the notice of a later deadline invite to the reply deadline as a
# calendar event (a moved deadline updates it); the receipt and the notice of a cancelled cycle cancel
# it (the agency's "reply due" alarm must not ring once it replied, or once nothing is asked). Nothing
# else carries one: the escalation comes after the deadline, when an invitation would be to an event
# already past.
INVITING_KINDS = frozenset({"status-request", "reminder", "deadline-extended"})
CANCELLING_KINDS = frozenset({"receipt", "cycle-cancelled"})
SUBJECT_MAX = 250
# What stored messages hold instead of the agency's reply link: the outbox must not keep a usable
# link (the database stores only tokens' hashes), so the dispatcher derives it again at send time.
# A dead address if ever sent as is; no character that HTML, iCalendar or wrapping would alter.
REPLY_LINK = "https://reply-link.invalid/derived-when-sent"


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered message: one-line subject, text and HTML bodies, and an optional iCalendar event."""

    subject: str
    text: str
    html: str
    ics: str | None


def render(kind: str, context: Mapping[str, Any]) -> RenderedMessage:
    """Render message `kind` from `context`; the same data always gives the same message."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind '{kind}'; the kinds are: {', '.join(KINDS)}")
    language = Language(context.get("lang") or Language.EN)
    env = _environment(language)
    data = dict(context)
    try:
        subject = one_line(env.get_template(f"{kind}/subject.txt").render(data))
        data["subject"] = subject
        text = _tidy_text(env.get_template(f"{kind}/body.txt").render(data))
        html = env.get_template(f"{kind}/body.html").render(data).strip() + "\n"
    except UndefinedError as exc:
        raise ValueError(f"{kind}: the context lacks a value the template needs ({exc.message})") from exc
    ics = None
    # A receipt of part of a request (a half-filled sheet) leaves the invitation as it is.
    if kind in INVITING_KINDS or (kind in CANCELLING_KINDS and context.get("request_complete", True)):
        try:
            ics = deadline_calendar(context, cancel=kind in CANCELLING_KINDS, language=language)
        except KeyError as exc:
            raise ValueError(f"{kind}: the context lacks a value the calendar event needs ({exc})") from exc
    return RenderedMessage(subject=subject, text=text, html=html, ics=ics)


def with_reply_link(rendered: RenderedMessage, link: str) -> RenderedMessage:
    """The message with the reply-link placeholder replaced by `link`, in every body and the event."""
    ics = rendered.ics
    if ics is not None and REPLY_LINK in ics:
        ics = _calendar_with_link(ics, link)
    return RenderedMessage(
        subject=rendered.subject,
        text=rendered.text.replace(REPLY_LINK, link),
        html=rendered.html.replace(REPLY_LINK, str(escape(link))),
        ics=ics,
    )


def _calendar_with_link(ics: str, link: str) -> str:
    """The calendar with the link in place of the placeholder, in the event's URL and description.

    Done on its content lines (unfolded, the link written as each property writes it, folded again):
    parsing and writing the whole calendar again cost more than building the e-mail.
    """
    lines = Contentlines.from_ical(ics)
    for number, line in enumerate(lines):
        if REPLY_LINK in line:
            value = vUri(link) if line.startswith("URL") else vText(link)
            lines[number] = Contentline(line.replace(REPLY_LINK, value.to_ical().decode()))
    return str(lines.to_ical().decode())


def carries_reply_link(rendered: RenderedMessage) -> bool:
    """Whether the message holds the reply-link placeholder (to be filled when it is sent)."""
    return any(REPLY_LINK in part for part in (rendered.text, rendered.html, rendered.ics or ""))


def one_line(subject: str) -> str:
    """Collapse whitespace (newlines included, no-break spaces kept) and cap the length: a header
    must stay one line."""
    flat = " ".join(words_of(subject))
    return flat if len(flat) <= SUBJECT_MAX else flat[: SUBJECT_MAX - 1].rstrip() + "…"


def deadline_calendar(
    context: Mapping[str, Any], *, cancel: bool = False, language: Language = Language.EN
) -> str:
    """The agency's reply deadline as an all-day event: an invitation (REQUEST), or its cancellation.

    One UID per request (cycle and agency): the request, its reminders and the receipt's cancellation
    all update one event instead of collecting duplicates. DTSTAMP is when the message was made
    (`made_at`, its Date header). SEQUENCE rises with each move of the deadline (`deadline_moves`),
    and the cancellation of a deadline outranks its invitations (RFC 5546 asks a CANCEL to raise it).
    Its summary, description and alarm are in `language`, the message's.
    """
    words = translator(language)
    cycle, agency = context["cycle"], context["agency"]
    deadline: date = cycle["deadline"]
    digest = hashlib.sha256(f"{cycle['name']}\x1f{agency['code']}".encode()).hexdigest()[:32]
    organizer = vCalAddress(f"mailto:{context['secretariat_email']}")
    organizer.params["cn"] = vText("HLCP Secretariat")
    made_at: datetime = context["made_at"]

    event = Event()
    event.add("uid", f"reply-deadline-{digest}@followup")
    event.add("dtstamp", made_at.astimezone(UTC))
    # Two steps per deadline: its invitations (even), then their cancellation (odd); a moved
    # deadline's invitation (the next even number) outranks both.
    event.add("sequence", 2 * int(context["deadline_moves"]) + int(cancel))
    event.add("dtstart", deadline)
    event.add("dtend", deadline + timedelta(days=1))
    # Named as the message's own sentences name it, in its language ("The ILO", "Le HCR"): a calendar
    # shows the summary alone, where a registry code (WORLD-BANK) or an English name reads as a glitch.
    names = {"cycle": cycle["name"], "agency": agency["display_start"], "name": agency["display_start"]}
    event.add("summary", words.gettext("%(agency)s: reply due for stock-take %(cycle)s") % names)
    event.add(
        "description",
        words.gettext("%(name)s: reply to stock-take %(cycle)s at %(url)s")
        % {**names, "url": context["reply_url"]},
    )
    event.add("url", context["reply_url"])
    event.add("organizer", organizer)
    event.add("transp", "TRANSPARENT")
    if cancel:
        event.add("status", "CANCELLED")
    else:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", words.gettext("Stock-take %(cycle)s: reply due in two days") % names)
        alarm.add("trigger", timedelta(days=-2))
        event.add_component(alarm)

    calendar = Calendar()
    calendar.add("prodid", "-//HLCP Secretariat//Follow-up//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    calendar.add_component(event)
    return calendar.to_ical().decode()


@cache
def _environment(language: Language) -> Environment:
    """The templates in one language (gettext is an environment global in Jinja's i18n extension)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: parsed once per process, never stat'ed again per message.
        auto_reload=False,
    )
    words = install(env, language)
    env.filters.update(
        days_left=lambda days: _days_left(words, days),
        point_heading=lambda group: _point_heading(words, group),
        wrap=wrap,
    )
    return env


def _tidy_text(text: str) -> str:
    # Templates stay readable with generous blank lines; the mail gets at most one in a row.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def wrap(text: str, width: int = 72) -> str:
    """Lines of at most `width` characters, broken at spaces; a longer word keeps a line of its own.

    Jinja's `wordwrap` (textwrap) costs ~0.1 ms an item, most of a 20,000-item launch's rendering.
    """
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in words_of(paragraph):  # never at a no-break space (French `\u00a0:`)
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\n".join(lines)


def _days_left(words: Translator, days: int) -> str:
    if days <= 0:
        return words.gettext("today")
    if days == 1:
        return words.gettext("tomorrow")
    return words.ngettext("in %(num)s day", "in %(num)s days", days)


def _point_heading(words: Translator, group: Mapping[str, Any]) -> str:
    """The heading of a group of items, by the domain's one rule (`agenda_heading`), in the reader's words."""
    return words.text(agenda_heading_said(group.get("kind"), group["agenda_point"], group["agenda_title"]))
