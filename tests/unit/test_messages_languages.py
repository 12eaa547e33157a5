"""E-mails in the recipient's language: French and Spanish sentences, dates, numbers and calendar event."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from domain.language import Message
from notifications.messages import KINDS, render
from tests.support import agency_names, context

# A sentence each kind's English body holds, which a translated one must not.
ENGLISH = {
    "status-request": "Please tell us where each",
    "reminder": "still unanswered",
    "deadline-extended": "still to answer",
    "cycle-cancelled": "please disregard our request",
    "escalation": "Could you make sure the reply reaches us",
    "receipt": "the secretariat has the following on record",
    "cycle-summary": "The lead agency reported on",
    "returned": "Before we can accept",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_kind_is_written_in_the_recipients_language_with_no_english_sentence_left(
    kind: str, language: str
) -> None:
    english = render(kind, context(kind))
    message = render(kind, context(kind, lang=language))

    assert ENGLISH[kind] in english.text
    for part in (message.subject, message.text, message.html):
        assert ENGLISH[kind] not in part and "Dear colleague" not in part
    assert f'<html lang="{language}">' in message.html


def test_a_french_request_writes_its_deadline_and_statuses_in_french() -> None:
    message = render("status-request", context("status-request", lang="fr"))

    assert "réponse attendue d’ici au 3 avril 2026" in message.subject
    assert "d’ici au vendredi 3 avril 2026" in message.text
    assert "Dernier état communiqué\u00a0: En cours" in message.text
    assert "Point 1 de l’ordre du jour\u00a0: Migration and development" in message.text


def test_a_spanish_reminder_counts_its_days_and_recommendations_in_spanish() -> None:
    message = render("reminder", context("reminder", lang="es", days_left=5, unanswered_count=1))

    assert message.subject.startswith("Recordatorio: 1 de 3 recomendaciones siguen sin respuesta")
    assert "dentro de 5 días" in message.subject
    assert "1 sigue sin respuesta" in message.text
    assert "el viernes 3 de abril de 2026" in message.text


def test_the_calendar_event_of_a_french_request_is_in_french_and_names_the_body_as_the_text_does() -> None:
    iom = agency_names("IOM", "International Organization for Migration", "l’OIM")
    ics = render("status-request", context("status-request", lang="fr", agency=iom)).ics
    assert ics is not None
    (event,) = Calendar.from_ical(ics).walk("VEVENT")

    # Never by its registry code or its English name: a calendar shows the summary alone.
    assert str(event["summary"]) == "L’OIM\u00a0: réponse attendue pour le bilan 2026-spring"
    assert str(event["description"]).startswith("L’OIM\u00a0: répondre au bilan 2026-spring")
    assert "réponse attendue dans deux jours" in str(event.walk("VALARM")[0]["description"])


def test_a_french_receipt_lists_the_milestones_reported_with_their_dates_in_french() -> None:
    said = Message("%(title)s: done on %(on)s", {"title": "EGM", "on": date(2026, 2, 27)})
    recorded = [{"code": "A1.1", "status": "completed", "narrative": "", "milestones": [said]}]

    text = render("receipt", context("receipt", lang="fr", recorded=recorded)).text

    assert "A1.1\u00a0: Achevé" in text
    assert "Jalon EGM\u00a0: réalisé le 27 février 2026" in text


def test_a_french_request_names_its_agency_with_the_article_french_fuses_with_de() -> None:
    unhcr = agency_names("UNHCR", "Office of the United Nations High Commissioner for Refugees", "le HCR")

    message = render("status-request", context("status-request", lang="fr", agency=unhcr))

    assert "pour le HCR, réponse attendue" in message.subject
    assert message.text.startswith("Chères et chers collègues du HCR,")
    assert "Chères et chers collègues du HCR," in message.html
    assert "de le HCR" not in message.text + message.html


def test_a_spanish_request_writes_del_and_al_before_a_name_with_el() -> None:
    unhcr = agency_names("UNHCR", "Office of the United Nations High Commissioner for Refugees", "el ACNUR")

    message = render("status-request", context("status-request", lang="es", agency=unhcr))

    assert message.text.startswith("Estimados colegas del ACNUR:")
    assert "Responder en nombre del ACNUR" in message.html
    assert "de el ACNUR" not in message.text + message.html


def test_a_name_with_an_apostrophe_is_fused_and_escaped_once_in_the_html_part() -> None:
    rapporteur = agency_names(
        "SR-MIGRANTS", "Special Rapporteur", "le Rapporteur spécial sur les droits de l'homme des migrants"
    )

    message = render("status-request", context("status-request", lang="fr", agency=rapporteur))

    assert "collègues du Rapporteur spécial sur les droits de l&#39;homme des migrants," in message.html
    assert "collègues du Rapporteur spécial sur les droits de l'homme des migrants," in message.text
