"""The French and Spanish catalogues: complete, placeholders intact, extracted from the code as it is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from domain.language import Language, Message
from domain.model import MilestoneOutcome, ReportedStatus
from notifications.i18n import LOCALES, Translator, catalogue, compiled, translations

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in Language if language != Language.EN]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def forms(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A message's id or string as its forms (one per plural form); a missing string is one empty form."""
    if value is None or isinstance(value, str):
        return (value or "",)
    return tuple(value)


def ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_template_is_translated_and_none_is_fuzzy(language: Language) -> None:
    template, translated = read(LOCALES / "followup.pot"), read(catalogue(language))
    by_id = {message.id: message for message in translated if message.id}

    missing = [m.id for m in template if m.id and m.id not in by_id]
    untranslated = [
        m.id for m in by_id.values() if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in by_id.values() if m.fuzzy]

    assert (missing, untranslated, fuzzy) == ([], [], [])


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_the_placeholders_of_its_message(language: Language) -> None:
    broken = []
    for message in read(catalogue(language)):
        if not message.id:
            continue
        originals = forms(message.id)
        wanted = set().union(*(placeholders(text) for text in originals))
        # A plural's %(num)s may stay implicit in a form (French "un jour"); every other name must stay.
        for form in forms(message.string):
            if placeholders(form) - wanted or (wanted - {"num"}) - placeholders(form):
                broken.append((originals[0], form))

    assert broken == []


def test_french_puts_a_no_break_space_before_its_colons_semicolons_and_marks() -> None:
    broken = [
        form
        for message in read(catalogue(Language.FR))
        if message.id
        for form in forms(message.string)
        if re.search(r" [:;?!]", form)
    ]

    assert broken == []


def test_the_catalogue_template_holds_exactly_the_messages_of_the_code_and_templates(tmp_path: Path) -> None:
    # The same extraction as `make translations` (pybabel skips the e-mails' _base folder: named one by one).
    extracted = tmp_path / "followup.pot"
    shared = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates" / "email" / "_base").iterdir())
    arguments = ["-F", "babel.cfg", "-k", "N_", "-k", "plural_message:1,2", "--no-location", "--omit-header"]
    arguments += ["-o", str(extracted)]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        CommandLineInterface().run(["pybabel", "-q", "extract", *arguments, ".", *shared])

    assert ids(read(extracted)) == ids(read(LOCALES / "followup.pot")), "run `make translations`"


def test_every_status_and_milestone_label_is_a_message_of_the_catalogue() -> None:
    messages = ids(read(LOCALES / "followup.pot"))

    assert {
        member.label for vocabulary in (ReportedStatus, MilestoneOutcome) for member in vocabulary
    } <= messages


def test_a_catalogue_compiles_in_memory_when_its_compiled_file_is_missing() -> None:
    import gettext
    import io

    french = gettext.GNUTranslations(io.BytesIO(compiled(catalogue(Language.FR))))

    assert french.gettext("Status") == translations(Language.FR).gettext("Status") != "Status"


@pytest.mark.parametrize(
    ("language", "long", "week", "moment", "number"),
    [
        ("en", "26 March 2027", "Friday 26 March 2027", "26 March 2027 at 14:05 UTC", "4,000"),
        ("fr", "26 mars 2027", "vendredi 26 mars 2027", "26 mars 2027 à 14:05 UTC", "4\u202f000"),
        (
            "es",
            "26 de marzo de 2027",
            "viernes 26 de marzo de 2027",
            "26 de marzo de 2027 a las 14:05 UTC",
            "4.000",
        ),
    ],
)
def test_dates_and_numbers_are_written_as_each_language_writes_them(
    language: str, long: str, week: str, moment: str, number: str
) -> None:
    words = Translator(language)

    assert words.long_date(date(2027, 3, 26)) == long
    assert words.week_date(date(2027, 3, 26)) == week
    assert words.moment(datetime(2027, 3, 26, 14, 5)) == moment
    assert words.number(4000) == number


def test_french_writes_the_first_of_the_month_as_an_ordinal() -> None:
    assert Translator("fr").long_date(date(2027, 4, 1)) == "1er avril 2027"
    assert Translator("fr").week_date(date(2027, 4, 1)) == "jeudi 1er avril 2027"
    assert Translator("fr").long_date(date(2027, 4, 11)) == "11 avril 2027"


def test_a_domain_sentence_is_translated_with_its_values_formatted_for_the_reader() -> None:
    said = Message("at most %(max)s characters (this one has %(length)s)", {"max": 4000, "length": 4321})
    status = Message(
        "'%(typed)s' is not a status; choose one of: %(choices)s",
        {"typed": "Fini", "choices": (Message("Completed"), Message("Blocked"))},
    )

    assert str(said) == "at most 4,000 characters (this one has 4,321)"
    assert Translator("fr").text(said) == "4\u202f000 caractères au maximum (celui-ci en compte 4\u202f321)"
    assert (
        Translator("es").text(status)
        == "«Fini» no es un estado; elija uno de los siguientes: Concluido, Bloqueado"
    )


def test_a_typed_date_in_the_readers_language_is_shown_back_in_it() -> None:
    assert Translator("fr").written("2027-06-30") == "30 juin 2027"
    assert Translator("es").written("30 June 2027") == "30 de junio de 2027"
    assert Translator("fr").written("bientôt") == "bientôt"
