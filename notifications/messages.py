"""Rendering of e-mail messages from templates: a pure function of the data (no clock, no I/O state).

Each kind has `templates/email/<kind>/{subject.txt, body.txt, body.html}` sharing `_base/`.
HTML is autoescaped, text is not; a missing context value is an error, never an empty string.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from icalendar import Alarm, Calendar, Event, vCalAddress, vText, vUri
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError, select_autoescape
from markupsafe import escape

from domain.model import ReportedStatus, agenda_heading

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
KINDS = ("status-request", "reminder", "escalation", "receipt", "cycle-summary", "returned")
# Messages about an agency's reply deadline carry it as a calendar event.
DEADLINE_KINDS = frozenset({"status-request", "reminder", "escalation", "receipt"})
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
    env = _environment()
    data = dict(context)
    try:
        subject = one_line(env.get_template(f"{kind}/subject.txt").render(data))
        data["subject"] = subject
        text = _tidy_text(env.get_template(f"{kind}/body.txt").render(data))
        html = env.get_template(f"{kind}/body.html").render(data).strip() + "\n"
    except UndefinedError as exc:
        raise ValueError(f"{kind}: the context lacks a value the template needs ({exc.message})") from exc
    ics = deadline_calendar(context) if kind in DEADLINE_KINDS else None
    return RenderedMessage(subject=subject, text=text, html=html, ics=ics)


def with_reply_link(rendered: RenderedMessage, link: str) -> RenderedMessage:
    """The message with the reply-link placeholder replaced by `link`, in every body and the event."""
    ics = rendered.ics
    if ics is not None and REPLY_LINK in ics:
        calendar = Calendar.from_ical(ics)
        for event in calendar.walk("VEVENT"):
            event["url"] = vUri(link)
            event["description"] = vText(str(event["description"]).replace(REPLY_LINK, link))
        ics = calendar.to_ical().decode()
    return RenderedMessage(
        subject=rendered.subject,
        text=rendered.text.replace(REPLY_LINK, link),
        html=rendered.html.replace(REPLY_LINK, str(escape(link))),
        ics=ics,
    )


def carries_reply_link(rendered: RenderedMessage) -> bool:
    """Whether the message holds the reply-link placeholder (to be filled when it is sent)."""
    return any(REPLY_LINK in part for part in (rendered.text, rendered.html, rendered.ics or ""))


def one_line(subject: str) -> str:
    """Collapse whitespace (newlines included) and cap the length: a header must stay one line."""
    flat = " ".join(subject.split())
    return flat if len(flat) <= SUBJECT_MAX else flat[: SUBJECT_MAX - 1].rstrip() + "…"


def deadline_calendar(context: Mapping[str, Any]) -> str:
    """An all-day iCalendar event for the agency's reply deadline, with a UID stable across messages.

    Every message of one cycle and agency carries the same UID and DTSTAMP, so a calendar updates
    one event instead of collecting duplicates.
    """
    cycle, agency = context["cycle"], context["agency"]
    deadline: date = cycle["deadline"]
    digest = hashlib.sha256(f"{cycle['name']}\x1f{agency['code']}".encode()).hexdigest()[:32]
    organizer = vCalAddress(f"mailto:{context['secretariat_email']}")
    organizer.params["cn"] = vText("HLCP Secretariat")

    event = Event()
    event.add("uid", f"reply-deadline-{digest}@followup")
    event.add("dtstamp", datetime.combine(deadline, time(0), tzinfo=UTC))
    event.add("sequence", 0)
    event.add("dtstart", deadline)
    event.add("dtend", deadline + timedelta(days=1))
    event.add("summary", f"Reply due: stock-take {cycle['name']} ({agency['code']})")
    event.add(
        "description", f"{agency['name']}: reply to stock-take {cycle['name']} at {context['reply_url']}"
    )
    event.add("url", context["reply_url"])
    event.add("organizer", organizer)
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Stock-take {cycle['name']}: reply due in two days")
    alarm.add("trigger", timedelta(days=-2))
    event.add_component(alarm)

    calendar = Calendar()
    calendar.add("prodid", "-//HLCP Secretariat//Follow-up//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add_component(event)
    return calendar.to_ical().decode()


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: parsed once per process, never stat'ed again per message.
        auto_reload=False,
    )
    env.filters.update(
        plural=_plural,
        longdate=_long_date,
        weekdate=_week_date,
        timestamp=_timestamp,
        status_label=_status_label,
        percent=_percent,
        days_left=_days_left,
        point_heading=_point_heading,
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
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\n".join(lines)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _week_date(day: date) -> str:
    return f"{day:%A} {_long_date(day)}"


def _timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{_long_date(moment.date())} at {moment:%H:%M} UTC"


def _status_label(value: str | None) -> str:
    return ReportedStatus(value).label if value else "Not reported"


def _percent(rate: float) -> str:
    return f"{round(rate * 100)}%"


def _days_left(days: int) -> str:
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else f"in {days} days"


def _point_heading(group: Mapping[str, Any]) -> str:
    """The heading of a group of items, by the domain's one rule (`agenda_heading`)."""
    return agenda_heading(group.get("kind"), group["agenda_point"], group["agenda_title"])
