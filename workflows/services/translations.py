"""A report's recommendations in another language: the same report translated, matched item by code.

The translation is read by the report importer (the same convention, in English, French or
Spanish); every code it gives must be one of the original's, or nothing is stored. Pages and
e-mails then show an agency the text in its language when there is one (`domain.model.text_in`).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import NotFound, ValidationError
from domain.importer import ParsedReport
from domain.language import parse_language
from domain.ports import UnitOfWork


@dataclass(frozen=True)
class TranslationImport:
    """What importing a translation stored: how many of the report's items now have a text in `language`."""

    source: str
    language: str
    translated: int
    items: int


def store_translation(
    uow: UnitOfWork, translation: ParsedReport, *, language: str, filename: str
) -> TranslationImport:
    """Give each item of report `translation.source` its text in `language`; all of them or none.

    A code the original does not have is an error naming the file and the codes (a translation of
    another report, or of another version of it).
    """
    chosen = parse_language(language, field="--lang")
    with uow:
        stored = {rec.code: rec for rec in uow.recommendations.list(source=translation.source)}
        if not stored:
            raise NotFound(f"no report '{translation.source}' is imported: import the original first")
        unknown = [code for code in translation.codes if code not in stored]
        if unknown:
            shown = ", ".join(unknown[:8]) + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
            raise ValidationError(
                filename, f"{len(unknown)} items are not in {translation.source}: {shown}; nothing was stored"
            )
        for item in translation.items:
            recommendation = stored[item.code]
            # A new mapping, not an edit in place: the JSON column is saved when it is reassigned.
            recommendation.translations = {**(recommendation.translations or {}), chosen.value: item.text}
        uow.commit()
        translated = sum(1 for rec in stored.values() if chosen.value in (rec.translations or {}))
    return TranslationImport(translation.source, chosen.value, translated, len(stored))
