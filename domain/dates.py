"""Dates as people read and write them: one written form ("26 March 2027") everywhere we show one.

Pages and e-mails show dates only through `long_date` (and `long_moment` for a time of day); forms
take what a person types: "26 March 2027", "26 Mar 2027" or 2027-03-26. Numeric day/month forms
(03/04/2027) are refused: half the world reads them the other way round.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# "26 March 2027", "26 mar. 2027", "26-Mar-2027": the day, a month's name (or first three letters), the year.
_WRITTEN = re.compile(r"(\d{1,2})[\s-]+([A-Za-z]{3,9})\.?[\s-]+(\d{4})")
EXAMPLE = "26 March 2027"
DATE_HINT = f"day, month and year, e.g. {EXAMPLE}"


def long_date(day: date) -> str:
    """The date as the pages and e-mails write it: 26 March 2027."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def week_date(day: date) -> str:
    """The date with its weekday, where a deadline is announced: Friday 26 March 2027."""
    return f"{day:%A} {long_date(day)}"


def long_moment(moment: datetime) -> str:
    """A moment as the pages and e-mails write it, in UTC: 26 March 2027 at 14:05 UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{long_date(moment.date())} at {moment:%H:%M} UTC"


def parse_day(text: str) -> date:
    """The date a person typed (26 March 2027, 26 Mar 2027 or 2027-03-26); ValueError if it is none."""
    cleaned = " ".join(text.split())
    written = _WRITTEN.fullmatch(cleaned)
    if written:
        day, name, year = written.groups()
        month = next((n for n, full in enumerate(MONTHS, 1) if full.lower().startswith(name.lower())), 0)
        if month and (len(name) == 3 or MONTHS[month - 1].lower() == name.lower()):
            return date(int(year), month, int(day))  # ValueError for 31 February
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        return date.fromisoformat(cleaned)
    raise ValueError(f"'{cleaned[:30]}' is not a date: write it as {EXAMPLE}")


def as_written(text: str) -> str:
    """A typed date in the written form (26 March 2027), or the text as typed when it is not a date."""
    try:
        return long_date(parse_day(text))
    except ValueError:
        return text
