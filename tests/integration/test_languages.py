"""Agencies and contacts with a language: the registry, the commands, and the messages they get."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.language import Language
from domain.model import Agency, Contact, ContactRole, Recommendation
from notifications.messages import render
from tests.factories import add_agencies, add_recommendations, open_cycle
from tests.fakes import FakeNotifier
from tests.support import KEYED_CONFIG as CONFIG
from workflows.bootstrap import FixedClock
from workflows.services import agencies, closing, follow_up
from workflows.services import launch as launching

DEADLINE = date(2026, 4, 1)
REGISTRY = """
agencies:
  - code: OIF
    name: Organisation internationale de la Francophonie
    language: fr
    contacts:
      - {name: Point focal, email: point.focal@oif.example.org}
      - {name: Head, email: head@oif.example.org, role: head_of_office, language: en}
  - code: CEPAL
    name: Comisión Económica para América Latina y el Caribe
    language: ES
  - code: ILO
    name: International Labour Organization
"""


def test_the_registry_gives_agencies_and_contacts_their_language_and_english_by_default() -> None:
    oif, cepal, ilo = agencies.parse_registry(REGISTRY)

    assert (oif.language, cepal.language, ilo.language) == ("fr", "es", "en")
    assert [c.language for c in oif.contacts] == [None, "en"]  # None: the agency's language
    assert oif.reply_language == Language.FR and oif.escalation_language == Language.EN


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("    language: de\n", "registry: agencies[1].language"),
        (
            "    contacts:\n      - {name: X, email: x@oif.example.org, language: pt}\n",
            "agencies[1].contacts[1].language",
        ),
    ],
)
def test_an_unknown_language_is_refused_naming_its_entry_and_the_languages_there_are(
    entry: str, field: str
) -> None:
    text = "agencies:\n  - code: OIF\n    name: Francophonie\n" + entry

    with pytest.raises(ValidationError) as refused:
        agencies.parse_registry(text)

    assert refused.value.field.endswith(field)
    assert "en (English), fr (French) or es (Spanish)" in refused.value.message


def test_contacts_who_share_a_language_are_written_to_in_it_and_others_in_the_agencys() -> None:
    mixed = Agency(
        code="OIF",
        name="Francophonie",
        language="fr",
        contacts=[
            Contact(name="A", email="a@oif.example.org", language="es"),
            Contact(name="B", email="b@oif.example.org"),
        ],
    )
    alike = Agency(
        code="IOM", name="IOM", contacts=[Contact(name="A", email="a@iom.example.org", language="es")]
    )

    assert mixed.reply_language == Language.FR  # Spanish and French readers: the agency's language
    assert alike.reply_language == Language.ES


def test_a_language_is_stored_loaded_again_and_changed_by_the_commands(uow: SqlUnitOfWork) -> None:
    agencies.load_registry(uow, REGISTRY)
    agencies.set_language(uow, "ILO", "es")
    agencies.set_contact(
        uow,
        "ILO",
        name="Jefa",
        email="jefa@ilo.example.org",
        role=ContactRole.HEAD_OF_OFFICE,
        replace=True,
        language="fr",
    )

    with uow:
        ilo, oif = uow.agencies.require("ILO"), uow.agencies.require("OIF")
        assert ilo.language == "es" and ilo.escalation_language == Language.FR
        assert oif.language == "fr" and [c.language for c in oif.contacts] == [None, "en"]
    with pytest.raises(ValidationError, match="'klingon' is not a language"):
        agencies.set_language(uow, "ILO", "klingon")


def test_each_agency_is_asked_in_its_language_with_the_texts_translated_into_it(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "AAA", "BBB")
    ids = add_recommendations(uow, {"A1.1": ["AAA"], "A1.2": ["BBB"]})
    with uow:
        recommendation = uow.session.get(Recommendation, ids["A1.1"])
        assert recommendation is not None
        recommendation.translations = {"fr": "Faire la chose."}
        uow.commit()
    agencies.set_language(uow, "AAA", "fr")
    notifier = FakeNotifier()
    launching.launch_cycle(
        uow,
        notifier,
        FixedClock(date(2026, 3, 2)),
        CONFIG,
        name="Spring",
        deadline=DEADLINE,
        allow_placeholders=True,
    )

    requests = {m.context["agency"]["code"]: m.context for m in notifier.of_kind("status-request")}
    assert (requests["AAA"]["lang"], requests["BBB"]["lang"]) == ("fr", "en")
    assert requests["AAA"]["items_by_point"][0]["items"][0]["text"] == "Faire la chose."
    assert requests["BBB"]["items_by_point"][0]["items"][0]["text"] == "Recommendation A1.2: do the thing."


def test_an_escalation_is_written_in_the_language_of_the_head_of_office(uow: SqlUnitOfWork) -> None:
    add_agencies(uow, "AAA")
    add_recommendations(uow, {"A1.1": ["AAA"]})
    agencies.set_language(uow, "AAA", "fr")
    agencies.set_contact(
        uow,
        "AAA",
        name="Head",
        email="head.office@aaa.example.org",
        role=ContactRole.HEAD_OF_OFFICE,
        replace=True,
        language="es",
    )
    open_cycle(uow, "Spring", DEADLINE, ["AAA"])
    notifier = FakeNotifier()
    for day in (1, 3):
        follow_up.follow_up(uow, notifier, FixedClock(DEADLINE + timedelta(days=day)), CONFIG)

    (escalation,) = notifier.of_kind("escalation")
    assert escalation.context["lang"] == "es"
    assert escalation.to == ["head.office@aaa.example.org"]


NAMED = """
agencies:
  - code: UNHCR
    name: Office of the United Nations High Commissioner for Refugees
    short_name: UNHCR
    translations: {fr: le HCR, es: el ACNUR}
  - code: ILO
    name: International Labour Organization
    short_name: ILO
    article: the
    translations: {fr: "l'OIT"}
"""


def test_a_body_keeps_its_names_in_french_and_spanish_and_a_registry_without_them_leaves_them(
    uow: SqlUnitOfWork,
) -> None:
    agencies.load_registry(uow, NAMED)
    agencies.load_registry(uow, "agencies:\n  - code: ILO\n    name: International Labour Organization\n")

    with uow:
        unhcr, ilo = uow.agencies.require("UNHCR"), uow.agencies.require("ILO")
        assert [unhcr.name_in(language) for language in Language] == ["UNHCR", "le HCR", "el ACNUR"]
        assert ilo.translations == {"fr": "l’OIT"}
        assert ilo.name_in(Language.ES) == "International Labour Organization"  # no short name any more


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("    translations: [le HCR]\n", "registry: agencies[1].translations"),
        ("    translations: {de: UNHCR}\n", "registry: agencies[1].translations.de"),
        ("    translations: {fr: ''}\n", "registry: agencies[1].translations.fr"),
        ("    translations: []\n", "registry: agencies[1].translations"),
        ("    translations: {fr: yes}\n", "registry: agencies[1].translations.fr"),
        ("    translations: {fr: 2020-01-01}\n", "registry: agencies[1].translations.fr"),
        ("    translations: {fr: le HCR, FR: le HCNUR}\n", "registry: agencies[1].translations.FR"),
    ],
)
def test_a_translated_name_the_registry_cannot_use_is_refused_naming_it(entry: str, field: str) -> None:
    text = "agencies:\n  - code: UNHCR\n    name: UNHCR\n" + entry

    with pytest.raises(ValidationError) as refused:
        agencies.parse_registry(text)

    assert refused.value.field == field


def test_the_shipped_registry_names_in_other_languages_the_bodies_registered_without_them(
    uow: SqlUnitOfWork,
) -> None:
    with uow:
        uow.agencies.add(Agency(code="ILO", name="ILO, as registered before names were translated"))
        uow.agencies.add(Agency(code="WHO", name="WHO", translations={"fr": "l'Organisation"}))
        uow.commit()

    agencies.load_shipped_registry(uow)

    with uow:
        ilo, who = uow.agencies.require("ILO"), uow.agencies.require("WHO")
        assert ilo.translations == {"fr": "l’OIT", "es": "la OIT"}
        assert ilo.name == "ILO, as registered before names were translated"  # the rest as edited
        assert who.translations == {"fr": "l’Organisation"}  # the secretariat's own, kept


def test_the_cycle_summary_names_the_late_agencies_in_the_secretariats_language(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    agencies.load_registry(uow, NAMED)
    add_recommendations(uow, {"A1.1": ["UNHCR"], "A1.2": ["ILO"]})
    open_cycle(uow, "Spring", DEADLINE, ["UNHCR", "ILO"])
    notifier = FakeNotifier()

    closing.close_cycle(
        lambda: uow,
        lambda _uow: notifier,
        FixedClock(DEADLINE + timedelta(days=5)),
        replace(CONFIG, secretariat_language="fr"),
        cycle_name="Spring",
        inbox_dir=tmp_path / "inbox",
        reports_dir=tmp_path / "reports",
        formats=["md"],
    )

    (summary,) = notifier.of_kind("cycle-summary")
    assert [a["display"] for a in summary.context["overdue_agencies"]] == ["l’OIT", "le HCR"]
    assert (
        "  - Le HCR (Office of the United Nations High Commissioner for Refugees)"
        in render("cycle-summary", summary.context).text
    )
