"""How a body is named in running text in each language, and the prepositions fused with its article."""

from __future__ import annotations

import pytest

from domain.answers import label_said
from domain.errors import ValidationError
from domain.language import Message, RunningName, fused
from domain.model import Agency
from notifications.i18n import Translator
from workflows.queries.emails import name_in_full

ILO = Agency(
    code="ILO",
    name="International Labour Organization",
    short_name="ILO",
    article="the",
    translations={"fr": "l'OIT", "es": "la OIT"},
)


def test_a_body_is_named_with_its_article_in_each_language_else_by_its_short_name() -> None:
    unctad = Agency(code="UNCTAD", name="UN Conference on Trade and Development", short_name="UNCTAD")

    # French's apostrophe is the typographic one its sentences use, however the registry typed it.
    assert [ILO.name_in(language) for language in ("en", "fr", "es")] == ["the ILO", "l’OIT", "la OIT"]
    assert ILO.display_name == "the ILO"
    assert unctad.name_in("fr") == "UNCTAD"


@pytest.mark.parametrize(
    ("translations", "field", "says"),
    [
        ({"de": "die IAO"}, "translations.de", "not a language Follow-up writes in"),
        ({"en": "the ILO"}, "translations.en", "short_name and article"),
        ({"fr": "  "}, "translations.fr", "with its article"),
        ({"es": "x" * 201}, "translations.es", "1 to 200 characters"),
    ],
)
def test_a_translated_name_that_cannot_be_used_is_refused_naming_its_language(
    translations: dict[str, str], field: str, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Agency(code="ILO", name="ILO", translations=translations)

    assert refused.value.field == field and says in refused.value.message


@pytest.mark.parametrize(
    ("language", "sentence", "name", "written"),
    [
        ("fr", "les réponses de le HCR", "le HCR", "les réponses du HCR"),
        ("fr", "réservé à le PNUD", "le PNUD", "réservé au PNUD"),
        ("fr", "la part de les Nations Unies", "les Nations Unies", "la part des Nations Unies"),
        ("fr", "envoyé à les Nations Unies", "les Nations Unies", "envoyé aux Nations Unies"),
        ("fr", "De le HCR, rien.", "le HCR", "Du HCR, rien."),
        ("fr", "collègues de ONU-Femmes", "ONU-Femmes", "collègues d’ONU-Femmes"),
        ("fr", "les réponses de l'OIT", "l'OIT", "les réponses de l'OIT"),
        ("fr", "de la Banque mondiale", "la Banque mondiale", "de la Banque mondiale"),
        ("fr", "garde le HCR", "le HCR", "garde le HCR"),  # "de" ends another word: not a preposition
        ("es", "colegas de el ACNUR", "el ACNUR", "colegas del ACNUR"),
        ("es", "consultamos a el ACNUR", "el ACNUR", "consultamos al ACNUR"),
        ("es", "de la OIT", "la OIT", "de la OIT"),
        ("es", "la oficina de El Salvador", "El Salvador", "la oficina de El Salvador"),  # a proper name
        ("en", "from the ILO", "the ILO", "from the ILO"),
    ],
)
def test_a_preposition_is_fused_with_the_article_of_the_name_after_it(
    language: str, sentence: str, name: str, written: str
) -> None:
    assert fused(language, sentence, [name]) == written


def test_only_the_names_put_into_a_sentence_are_fused_not_its_own_words() -> None:
    sentence = "merci de le transmettre à le HCR"

    assert fused("fr", sentence, ["le HCR"]) == "merci de le transmettre au HCR"


def test_a_sentence_fuses_its_prepositions_with_the_bodies_names_in_it_and_no_other_value() -> None:
    french = Translator("fr")
    on_record = "For stock-take %(cycle)s, the secretariat has the following on record from %(agency)s."
    changed = "required because the status changed from %(previous)s to %(status)s: say what changed and why"

    named = french.text(Message(on_record, {"cycle": "Automne", "agency": RunningName("le HCR")}))
    typed = french.text(Message(on_record, {"cycle": "Automne", "agency": "le HCR"}))
    labels = french.text(
        Message(changed, {"previous": label_said("in_progress"), "status": label_said("completed")})
    )

    assert named.endswith("les réponses suivantes du HCR.")
    assert typed.endswith("les réponses suivantes de le HCR.")  # not a name: as typed
    assert "est passé de En cours à Achevé" in labels
    assert isinstance(ILO.name_in("fr"), RunningName) and isinstance(ILO.display_name, RunningName)


def test_the_full_name_in_brackets_drops_the_short_name_it_ends_with_and_nothing_else() -> None:
    un_women = "United Nations Entity for Gender Equality and the Empowerment of Women (UN Women)"
    un_desa = "United Nations Department of Economic and Social Affairs (Population Division)"

    assert name_in_full(un_women, "ONU-Femmes", "UN Women") == name_in_full(un_women, "UN Women")
    assert name_in_full(un_women, "ONU-Femmes", "UN Women").endswith("Empowerment of Women")
    assert name_in_full(un_desa, "le DAES", "UN DESA") == un_desa  # the division asked stays
    assert name_in_full("The World Bank", "the World Bank") == ""  # an article apart, the same name
