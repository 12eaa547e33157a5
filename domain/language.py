"""The languages Follow-up writes to agencies in, and sentences translated where they are shown.

Pure: which languages exist and how a code is checked. A `Message` is a sentence whose values are
kept apart from its words, so that the portal or an e-mail shows it in the reader's language (its
English wording is the catalogue's msgid); `str()` gives the English. `N_` marks a fixed sentence
for the catalogue (`pybabel extract` reads it) without translating it here; `plural_message` makes a
sentence that agrees with a count (gettext's ngettext). `Words` is what a document needs of the
language it is written in (the secretariat's, for the stock-take); `ENGLISH` is English's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from domain.dates import long_date
from domain.errors import ValidationError


class Language(StrEnum):
    """A language agencies are written to in: the UN Secretariat's two, and Spanish."""

    EN = "en"
    FR = "fr"
    ES = "es"

    @property
    def english_name(self) -> str:
        """Its name in the secretariat's messages ("French")."""
        return {"en": "English", "fr": "French", "es": "Spanish"}[self.value]


DEFAULT_LANGUAGE = Language.EN
LANGUAGE_CHOICES = "en (English), fr (French) or es (Spanish)"


def parse_language(value: object, *, field: str = "language") -> Language:
    """A language from its code (en, fr, es; case and spacing ignored); errors name `field`."""
    text = str(value if value is not None else "").strip()
    try:
        return Language(text.lower())
    except ValueError:
        raise ValidationError(
            field, f"'{text[:20]}' is not a language Follow-up writes in: choose {LANGUAGE_CHOICES}"
        ) from None


# Whitespace a line may break at: all but the no-break spaces French typography puts before `:`,
# `;`, `?`, `!` and `%`, which hold a sign to its word.
_BREAKABLE = re.compile(r"[^\S\u00a0\u202f]+")


def words_of(text: str) -> list[str]:
    """The text's words, split where a line may break (a no-break space joins its neighbours)."""
    if "\u00a0" not in text and "\u202f" not in text:
        return text.split()  # nearly every text: at `str.split`'s speed
    return [word for word in _BREAKABLE.split(text) if word]


class RunningName(str):
    """A body's name as running text writes it ("the ILO", "le HCR"): in a sentence, the only value a
    preposition fuses with (a status label or a typed title after "de" stays as it is)."""

    __slots__ = ()


def running_names(values: Iterable[object]) -> list[RunningName]:
    """The bodies' names among a sentence's values."""
    return [value for value in values if isinstance(value, RunningName)]


# French and Spanish fuse a preposition with the article of the name after it: a body named "le HCR"
# is "du HCR" after "de" and "au HCR" after "à"; "el ACNUR" is "del ACNUR" and "al ACNUR". French
# also elides "de" and "que" before a vowel ("d’ONU-Femmes"); not before "y" or "h", which may not.
_FUSED = {
    Language.FR: {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"},
    Language.ES: {("de", "el"): "del", ("a", "el"): "al"},
}
_ELIDED = {Language.FR: {"de": "d’", "que": "qu’"}}
_VOWELS = frozenset("aeiouàâéèêëîïôûüAEIOUÀÂÉÈÊËÎÏÔÛÜ")


def fused(language: Language | str, text: str, names: Iterable[str]) -> str:
    """`text`, a sentence with bodies' `names` put in (`running_names`), with each preposition before
    a name fused with its article as `language` writes them ("de le HCR" becomes "du HCR")."""
    fusions, elisions = _FUSED.get(Language(language)), _ELIDED.get(Language(language), {})
    if not fusions:
        return text
    for name in {n for n in names if n and n in text}:
        # A lower-case article only: a capital one belongs to a proper name ("de El Salvador").
        article, _, rest = name.partition(" ")
        for preposition in {p for p, a in fusions if a == article} if rest else ():
            text = _replaced(text, preposition, name, f"{fusions[preposition, article]} {rest}")
        if name[0] in _VOWELS:
            for word, elided in elisions.items():
                text = _replaced(text, word, name, f"{elided}{name}")
    return text


def _replaced(text: str, preposition: str, value: str, fused_form: str) -> str:
    """`text` with `preposition value` (lower or capital, a whole word) written `fused_form`."""
    capital = fused_form[:1].upper() + fused_form[1:]
    for said, written in ((preposition, fused_form), (preposition.capitalize(), capital)):
        found = re.compile(rf"(?<!\w){re.escape(said)} {re.escape(value)}(?!\w)")
        text = found.sub(lambda _, form=written: form, text)  # type: ignore[misc]  # the form, as it is
    return text


def N_(message: str) -> str:
    """Mark `message` for the translation catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Message:
    """A sentence to show a person: its English wording (the msgid, %(name)s placeholders) and values.

    A value may be a `Message` itself (a status label, translated too), a tuple of them (a list of
    choices), a number or a date, which each reader's language formats its own way.
    """

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)
    plural: str = ""
    """The plural wording, when the sentence agrees with its `num` value (ngettext's msgid_plural)."""

    def __str__(self) -> str:
        wording = self.plural if self.plural and self.values["num"] != 1 else self.msgid
        if not self.values:
            return wording
        return wording % {name: _english(value) for name, value in self.values.items()}


def plural_message(singular: str, plural: str, num: int, **values: object) -> Message:
    """A sentence whose wording agrees with `num` ("1 recommendation is", "3 recommendations are")."""
    return Message(singular, {"num": num, **values}, plural)


class Words(Protocol):
    """A language a document is written in: its sentences, labels and dates."""

    @property
    def language(self) -> Language:
        """Which language it is."""
        ...

    def gettext(self, message: str) -> str:
        """A fixed sentence or label (an English msgid) in this language."""
        ...

    def text(self, message: Message | str) -> str:
        """A sentence in this language, its values formatted for it."""
        ...

    def long_date(self, day: date) -> str:
        """A day as this language writes it in running text."""
        ...

    def __hash__(self) -> int:
        """Hashable: a document's words are cached per language."""
        ...


class English:
    """English's own words: the msgids themselves, dates as `domain.dates.long_date` writes them."""

    language = Language.EN

    def gettext(self, message: str) -> str:
        """The message itself."""
        return message

    def text(self, message: Message | str) -> str:
        """The sentence in English."""
        return str(message)

    def long_date(self, day: date) -> str:
        """26 March 2027."""
        return long_date(day)


ENGLISH = English()


def _english(value: object) -> str:
    """A message's value as English writes it: 4,000; 26 March 2027; a list with commas; a label as it is."""
    if isinstance(value, tuple):
        return ", ".join(_english(part) for part in value)
    if isinstance(value, bool) or not isinstance(value, (int, date)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else long_date(value)
