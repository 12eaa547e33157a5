"""Follow-up in its reader's language: the gettext catalogues, dates and numbers as each language writes them.

The catalogues are `notifications/locales/<lang>/LC_MESSAGES/followup.po` (English is the msgids
themselves), compiled to `.mo` files by the install (`make install` runs `pybabel compile`). A
checkout whose `.mo` is missing or older than its `.po` (a fresh clone, a pulled translation)
compiles it in memory at first use instead, so no page or e-mail ever shows a stale translation.
Dates and numbers are formatted by Babel from the CLDR data: "26 mars 2027", "4 000".
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from domain.answers import DATE_HINT_SAID
from domain.dates import parse_day
from domain.evidence import size_said
from domain.language import Language, Message, fused, running_names
from domain.model import MilestoneOutcome, ReportedStatus
from domain.stocktake import sentence_start

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "followup"
# The CLDR locale behind each language; British English writes "26 March 2027", as the pages always have.
_CLDR = {Language.EN: "en_GB", Language.FR: "fr_FR", Language.ES: "es_ES"}
# The written date of each language: day, month's name and year (no numeric form: it reads both ways).
_DATE = {Language.EN: "d MMMM y", Language.FR: "d MMMM y", Language.ES: "d 'de' MMMM 'de' y"}
_WEEK_DATE = {
    Language.EN: "EEEE d MMMM y",
    Language.FR: "EEEE d MMMM y",
    Language.ES: "EEEE d 'de' MMMM 'de' y",
}


def catalogue(language: Language) -> Path:
    """The `.po` file of a language other than English."""
    return LOCALES / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(po: Path) -> bytes:
    """A `.po` catalogue compiled to `.mo` bytes (fuzzy entries left out, as `pybabel compile` does)."""
    with po.open("rb") as file:
        messages = read_po(file)
    out = io.BytesIO()
    write_mo(out, messages)
    return out.getvalue()


@cache
def translations(language: Language) -> gettext.NullTranslations:
    """The language's translations: its compiled catalogue (compiled now if missing or stale)."""
    if language == Language.EN:
        return gettext.NullTranslations()  # the msgids are the English
    po = catalogue(language)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as file:
            return gettext.GNUTranslations(file)
    return gettext.GNUTranslations(io.BytesIO(compiled(po)))


class Translator:
    """Sentences, labels, dates and numbers in one language."""

    def __init__(self, language: Language | str) -> None:
        self.language = Language(language)
        # Parsed once: Babel parses a locale given by name at every call (a third of a number's cost).
        self.locale = Locale.parse(_CLDR[self.language])
        self.translations = translations(self.language)

    def gettext(self, message: str) -> str:
        """`message` (an English msgid) in this language; as it is when the catalogue lacks it."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural sentence, as this language chooses for `count`, with %(num)s filled in."""
        return self.translations.ngettext(singular, plural, count) % {"num": self.number(count)}

    def text(self, message: Message | str) -> str:
        """A domain sentence in this language, its values formatted for it (a plain string: looked up)."""
        if isinstance(message, str):
            return self.gettext(message) if message else message
        count = message.values.get("num")
        if message.plural and isinstance(count, int):
            wording = self.translations.ngettext(message.msgid, message.plural, count)
        else:
            wording = self.gettext(message.msgid)
        if not message.values:
            return wording
        said = wording % {name: self.value(value) for name, value in message.values.items()}
        return fused(self.language, said, running_names(message.values.values()))

    def value(self, value: object) -> str:
        """A sentence's value as this language writes it: a nested sentence, a number, a date."""
        if isinstance(value, Message):
            return self.text(value)
        if isinstance(value, tuple):
            return ", ".join(self.value(part) for part in value)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, (int, float)):
            return self.number(value)
        if isinstance(value, date):
            return self.long_date(value)
        return str(value)

    def long_date(self, day: date) -> str:
        """26 March 2027, 26 mars 2027, 26 de marzo de 2027 (and French's 1er avril 2027)."""
        return self._first(day, format_date(day, _DATE[self.language], locale=self.locale))

    def week_date(self, day: date) -> str:
        """Friday 26 March 2027, vendredi 26 mars 2027, viernes 26 de marzo de 2027."""
        return self._first(day, format_date(day, _WEEK_DATE[self.language], locale=self.locale))

    def _first(self, day: date, written: str) -> str:
        # French writes the first of the month as an ordinal: "1er avril", "jeudi 1er avril".
        if self.language != Language.FR or day.day != 1:
            return written
        at = 0 if written.startswith("1 ") else written.index(" 1 ") + 1
        return f"{written[:at]}1er{written[at + 1 :]}"

    def moment(self, moment: datetime) -> str:
        """A moment in UTC: 26 March 2027 at 14:05 UTC, 26 mars 2027 à 14:05 UTC."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return self.gettext("%(date)s at %(time)s UTC") % {
            "date": self.long_date(moment.date()),
            "time": format_time(moment.time(), "HH:mm", locale=self.locale),
        }

    def number(self, number: float) -> str:
        """4,000 in English, 4 000 in French, 4.000 in Spanish."""
        if isinstance(number, int) and 0 <= number < 1000:
            # Written alike in every language (no group separator below a thousand); a reply page
            # writes a few hundred such numbers, and Babel takes ~30 µs for each.
            return str(number)
        return format_decimal(number, locale=self.locale)

    def file_size(self, size: int) -> str:
        """A file's size as this language writes it: 1.2 MB, 1,2 Mo, 1,2 MB."""
        return self.text(size_said(size))

    def percent(self, whole: float) -> str:
        """A whole-number percentage as this language writes it: 78%, 78 %."""
        return format_percent(whole / 100, locale=self.locale)

    def written(self, text: str) -> str:
        """A typed or stored date in this language's written form, or the text as typed when it is none."""
        try:
            return self.long_date(parse_day(text))
        except ValueError:
            return text

    def date_hint(self) -> str:
        """How a date field asks for a date: day, month and year, e.g. 26 March 2027."""
        return self.text(DATE_HINT_SAID)

    def status_label(self, value: str | None) -> str:
        """A status's or milestone outcome's label ("En cours"); 'Not reported' for none; other text as is."""
        if not value:
            return self.gettext("Not reported")
        label = _LABELS.get(value)
        return self.gettext(label) if label is not None else value


# Each status and milestone outcome, by its value and by its English label, to that label (a msgid).
_LABELS = {
    key: member.label
    for vocabulary in (ReportedStatus, MilestoneOutcome)
    for member in vocabulary
    for key in (member.value, member.label)
}


@cache
def translator(language: Language | str) -> Translator:
    """The translator of a language (one per process and language)."""
    return Translator(language)


def negotiated(accept_language: str) -> Language:
    """The language a browser prefers among Follow-up's (its Accept-Language header), English if none."""
    wanted = []
    for part in accept_language.split(",")[:20]:
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        wanted.append((weight, tag.strip()))
    preferred = [tag.replace("-", "_") for _, tag in sorted(wanted, key=lambda pair: -pair[0]) if tag]
    try:
        chosen = Locale.negotiate(preferred, [language.value for language in Language])
    except (UnknownLocaleError, ValueError):
        chosen = None
    return Language(chosen.language) if chosen else Language.EN


def every_wording(message: str) -> frozenset[str]:
    """`message` as each language writes it (a reply sheet's header, read whatever its language)."""
    return frozenset(translator(language).gettext(message) for language in Language)


def number_kept_with_its_word(text: str) -> str:
    """`text` with a no-break space before each number after a word: "HLCP 53" never wraps between them."""
    return _SPACE_BEFORE_NUMBER.sub("\u00a0", text)


_SPACE_BEFORE_NUMBER = re.compile(r"(?<=\S) (?=\d)")


def _fusing(say: Callable[..., str], language: Language) -> Callable[..., str]:
    """A template's gettext whose sentences fuse a preposition with the name after it ("du HCR")."""

    @pass_context
    def said(context: Context, *args: Any, **values: Any) -> str:
        text = say(context, *args, **values)
        names = running_names(values.values())
        if isinstance(text, Markup):  # the names are in it escaped, and the result stays markup
            return Markup(fused(language, str(text), [escape(name) for name in names]))
        return fused(language, text, names)

    return said


def install(env: Environment, language: Language | str) -> Translator:
    """Give a template environment the i18n extension's gettext and the formatting filters of `language`.

    One environment per language: gettext is an environment global in Jinja's i18n extension.
    """
    words = translator(language)
    env.add_extension("jinja2.ext.i18n")
    # A {% trans %} block's msgid is its text with whitespace collapsed, as `pybabel extract` reads it.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(words.translations, newstyle=True)  # type: ignore[attr-defined]
    if words.language != Language.EN:
        for name in ("_", "gettext", "ngettext"):
            env.globals[name] = _fusing(env.globals[name], words.language)  # type: ignore[arg-type]
    filters: dict[str, Any] = {
        "longdate": words.long_date,
        "weekdate": words.week_date,
        "timestamp": words.moment,
        "number": words.number,
        "filesize": words.file_size,
        "percent": words.percent,
        "status_label": words.status_label,
        "translate": words.text,
        "written_date": words.written,
        "sentence_start": sentence_start,  # not `capitalize`, which lowers the rest ("26 march")
        "nobreak": number_kept_with_its_word,
    }
    env.filters.update(filters)
    env.globals.update(lang=words.language.value, date_hint=words.date_hint())
    return words
