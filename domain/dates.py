"""Dates as people read and write them: one written form ("26 March 2027") everywhere we show one.

Pages and e-mails show dates only through `long_date` (and `long_moment` for a time of day), or,
in a reader's own language, through `notifications.i18n`; forms take what a person types, in
English, French or Spanish: "26 March 2027", "26 mars 2027", "26 de marzo de 2027", "26 Mar 2027"
or 2027-03-26. Numeric day/month forms (03/04/2027) are refused: half the world reads them the
other way round.
"""

from __future__ import annotations

import re
import unicodedata
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
# The months as French and Spanish write them, without accents (a date typed without them is read too).
MONTHS_FR = (
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
)
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
# "26 March 2027", "26 mar. 2027", "26-Mar-2027", "26 de marzo de 2027", "1er avril 2027": the day, a
# month's name (or its first letters, at least three), the year.
_WRITTEN = re.compile(
    r"(\d{1,2})(?:er|st|nd|rd|th)?(?:[\s-]+de)?[\s-]+([^\W\d_]{3,10})\.?(?:[\s-]+de)?[\s-]+(\d{4})"
)
EXAMPLE_DAY = date(2027, 3, 26)
EXAMPLE = "26 March 2027"
DATE_HINT = f"day, month and year, e.g. {EXAMPLE}"


def utc_day(moment: datetime | None) -> date | None:
    """The UTC calendar day of a stored timestamp (naive ones are stored in UTC already); None for None."""
    if moment is None:
        return None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


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
    written = _WRITTEN.fullmatch(cleaned.lower())
    if written:
        day, name, year = written.groups()
        month = month_named(name)
        if month:
            return date(int(year), month, int(day))  # ValueError for 31 February
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
        return date.fromisoformat(cleaned)
    raise ValueError(f"'{cleaned[:30]}' is not a date: write it as {EXAMPLE}")


def month_named(name: str) -> int:
    """The month (1-12) a name or abbreviation gives in English, French or Spanish ("mar", "févr"), or 0.

    An abbreviation is a name's first letters (at least three) that only one month starts with.
    """
    bare = "".join(c for c in unicodedata.normalize("NFD", name.lower()) if not unicodedata.combining(c))
    months = {
        n
        for names in (tuple(m.lower() for m in MONTHS), MONTHS_FR, MONTHS_ES)
        for n, full in enumerate(names, 1)
        if full == bare or (len(bare) >= 3 and full.startswith(bare))
    }
    return months.pop() if len(months) == 1 else 0


def as_written(text: str) -> str:
    """A typed date in the written form (26 March 2027), or the text as typed when it is not a date."""
    try:
        return long_date(parse_day(text))
    except ValueError:
        return text
