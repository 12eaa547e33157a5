"""Rendering e-mail messages: pure, escaped where it must be, one-line subjects, calendar events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from notifications.messages import (
    CANCELLING_KINDS,
    INVITING_KINDS,
    KINDS,
    REPLY_LINK,
    render,
    with_reply_link,
    wrap,
)
from tests.support import IOM, MAIL_CYCLE, REPLY_URL, agency_names, context


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_one_line_subject_a_text_and_an_html_body(kind: str) -> None:
    message = render(kind, context(kind))

    assert message.subject and "\n" not in message.subject
    assert "2026-spring" in message.subject
    assert "Friday 3 April 2026" in message.text
    assert message.html.lstrip().startswith("<!DOCTYPE html>")
    assert "hlcp.secretariat@un.example.org" in message.text


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_data_always_gives_the_same_message(kind: str) -> None:
    assert render(kind, context(kind)) == render(kind, context(kind))


@pytest.mark.parametrize("kind", ["status-request", "reminder", "escalation", "receipt", "returned"])
def test_the_reply_link_is_in_both_the_text_and_the_html_body(kind: str) -> None:
    message = render(kind, context(kind))

    assert REPLY_URL in message.text
    assert f'href="{REPLY_URL}"' in message.html


@pytest.mark.parametrize(
    "link",
    [REPLY_URL, "https://reply.example.org/r/a;b,c\\d" + "x" * 90],  # escaped in text, folded when long
)
@pytest.mark.parametrize("cycle_name", ["2026-spring", "Stock-take d'été, avant la session " + "é" * 40])
def test_the_link_filled_in_when_sent_gives_the_message_rendered_with_it(link: str, cycle_name: str) -> None:
    for kind in sorted(INVITING_KINDS):
        cycle = {**MAIL_CYCLE, "name": cycle_name}
        stored = render(kind, context(kind, cycle=cycle, reply_url=REPLY_LINK))

        sent = with_reply_link(stored, link)

        expected = render(kind, context(kind, cycle=cycle, reply_url=link))
        assert sent == expected


def test_a_newline_in_a_name_never_reaches_the_subject() -> None:
    agency = agency_names("IOM", "International\r\nBcc: victim@example.org Organization")

    subject = render("reminder", context("reminder", agency=agency)).subject

    assert "\n" not in subject and "\r" not in subject
    assert "International Bcc: victim@example.org Organization" in subject


def test_a_very_long_subject_is_cut_with_an_ellipsis() -> None:
    agency = agency_names("IOM", "Organisation " * 40)

    subject = render("reminder", context("reminder", agency=agency)).subject

    assert len(subject) <= 250 and subject.endswith("…")


def test_html_escapes_a_script_in_a_narrative_while_the_text_keeps_it_as_written() -> None:
    attack = "<script>alert('x')</script> & more"
    recorded = [{"code": "A1.1", "status": "completed", "narrative": attack}]

    message = render("receipt", context("receipt", recorded=recorded))

    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in message.html
    assert attack in message.text


def test_an_untitled_agenda_point_is_headed_by_its_number_alone_in_the_status_request() -> None:
    (group, strategic) = context("status-request")["items_by_point"]
    untitled = {**group, "agenda_point": 3, "agenda_title": ""}

    text = render("status-request", context("status-request", items_by_point=[untitled, strategic])).text

    assert "Agenda point 3\n" in text and "Agenda point 3:" not in text
    assert text.count("Strategic recommendations") == 1


def test_the_status_request_groups_items_by_agenda_point_with_what_was_reported_last() -> None:
    message = render("status-request", context("status-request"))

    text = message.text
    assert text.index("Agenda point 1: Migration and development") < text.index("A1.1")
    assert text.index("A1.2") < text.index("Strategic recommendations") < text.index("SR1.ii.a")
    assert "Last reported: In progress. Terms of reference agreed; first meeting held in Genève." in text
    assert "Last reported: Not reported" in text
    assert "A1.2 (contributor)" in text
    assert "3 recommendations" in message.subject
    assert "<h3" in message.html and "Migration and development" in message.html


def test_a_first_status_request_leaves_out_last_times_line_and_sets_items_apart_from_the_instructions() -> (
    None
):
    never = [
        {**group, "items": [{**item, "last_status": None, "last_narrative": ""} for item in group["items"]]}
        for group in context("status-request")["items_by_point"]
    ]
    message = render("status-request", context("status-request", items_by_point=never, reported_before=False))

    for body in (message.text, message.html):
        assert "Last reported" not in body  # "Not reported" under every item of a first cycle said nothing
    assert "on track).\n\nAgenda point 1: Migration and development" in message.text


def test_a_long_status_request_lists_codes_under_each_agenda_point_and_leaves_the_texts_to_the_page() -> None:
    codes = [f"A1.{n}" for n in range(1, 42)] + ["<A1.42>"]
    group = {"agenda_point": 1, "agenda_title": "Migration and development", "codes": codes}
    message = render(
        "status-request",
        context("status-request", item_count=len(codes), in_parts=True, items_by_point=[group]),
    )

    for body in (message.text, message.html):
        assert "Agenda point 1: Migration and development" in body
        assert "A1.1, A1.2, A1.3" in body and "A1.41" in body
        assert "Last reported" not in body
        assert "one agenda point at a time" in body
    assert "&lt;A1.42&gt;" in message.html and "<A1.42>" not in message.html
    assert max(len(line) for line in message.text.splitlines() if "A1." in line) <= 72
    assert f"{len(codes)} recommendations" in message.subject
    short = render("status-request", context("status-request"))
    assert "Establish an inter-agency working group" in short.text and "one agenda point" not in short.text


def test_accented_agency_names_come_through_unchanged() -> None:
    message = render("status-request", context("status-request"))

    assert IOM["name"] in message.subject
    assert IOM["name"] in message.text
    assert IOM["name"] in message.html


def calendar_of(kind: str, **overrides: Any) -> Calendar:
    """The calendar a message of `kind` carries, parsed with `icalendar`."""
    ics = render(kind, context(kind, **overrides)).ics
    assert ics is not None, f"{kind} carries no calendar"
    return Calendar.from_ical(ics)


@pytest.mark.parametrize("kind", sorted(INVITING_KINDS))
def test_the_request_and_its_reminders_invite_to_an_all_day_event_on_the_deadline(kind: str) -> None:
    calendar = calendar_of(kind)

    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == MAIL_CYCLE["deadline"]
    assert event.decoded("DTEND") == date(2026, 4, 4)
    assert str(event["URL"]) == REPLY_URL
    assert "2026-spring" in str(event["SUMMARY"])
    # Two steps per deadline (its invitations, then their cancellation): a notice of a new deadline is 2.
    assert event.decoded("SEQUENCE") == 2 * context(kind)["deadline_moves"]
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-2)


@pytest.mark.parametrize("kind", sorted(INVITING_KINDS | CANCELLING_KINDS))
def test_the_calendars_stamp_is_when_the_message_was_made_not_the_deadline(kind: str) -> None:
    made_at = datetime(2026, 3, 25, 16, 45, 12, tzinfo=UTC)

    (event,) = calendar_of(kind, made_at=made_at).walk("VEVENT")

    assert event.decoded("DTSTAMP") == made_at


def test_the_receipt_cancels_the_event_of_the_request_and_takes_its_alarm_away() -> None:
    (invited,) = calendar_of("reminder").walk("VEVENT")
    calendar = calendar_of("receipt")

    (cancelled,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == str(invited["UID"])
    assert cancelled.decoded("SEQUENCE") > invited.decoded("SEQUENCE")
    assert cancelled.walk("VALARM") == []


def test_the_receipt_of_part_of_a_request_leaves_the_deadlines_event_and_its_alarm_in_place() -> None:
    # A half-filled sheet: the items still owed keep their "reply due" alarm.
    assert render("receipt", context("receipt", request_complete=False)).ics is None
    assert render("receipt", context("receipt", request_complete=True)).ics is not None


@pytest.mark.parametrize("kind", ["escalation", "returned", "cycle-summary"])
def test_the_escalation_and_other_messages_carry_no_calendar(kind: str) -> None:
    assert render(kind, context(kind)).ics is None


def test_every_message_to_one_agency_in_one_cycle_updates_the_same_calendar_event() -> None:
    uids = {str(calendar_of(kind).walk("VEVENT")[0]["UID"]) for kind in INVITING_KINDS | CANCELLING_KINDS}
    other_agency = calendar_of("reminder", agency=agency_names("UNDP", "UNDP"))

    assert len(uids) == 1
    assert str(other_agency.walk("VEVENT")[0]["UID"]) not in uids


def test_a_moved_deadline_raises_the_sequence_above_every_earlier_message() -> None:
    moved = {**MAIL_CYCLE, "deadline": date(2026, 4, 17)}
    before = [calendar_of(kind).walk("VEVENT")[0] for kind in ("status-request", "reminder", "receipt")]

    (after,) = calendar_of("deadline-extended", cycle=moved, deadline_moves=1).walk("VEVENT")
    (reminded,) = calendar_of("reminder", cycle=moved, deadline_moves=1).walk("VEVENT")

    assert after.decoded("DTSTART") == reminded.decoded("DTSTART") == date(2026, 4, 17)
    assert after.decoded("SEQUENCE") == reminded.decoded("SEQUENCE")
    assert all(after.decoded("SEQUENCE") > event.decoded("SEQUENCE") for event in before)
    (cancelled,) = calendar_of("receipt", cycle=moved, deadline_moves=1).walk("VEVENT")
    assert cancelled.decoded("SEQUENCE") > after.decoded("SEQUENCE")


def test_a_context_without_the_deadline_moves_is_refused_rather_than_given_a_sequence() -> None:
    incomplete = context("reminder")
    del incomplete["deadline_moves"]

    with pytest.raises(ValueError, match=r"reminder: .*calendar.*deadline_moves"):
        render("reminder", incomplete)


def test_the_cycle_summary_goes_to_the_secretariat_without_a_calendar_event() -> None:
    message = render("cycle-summary", context("cycle-summary", report_url="http://127.0.0.1:8000/reports/1"))

    assert message.ics is None
    assert "reported by their lead 7 of 9 (78%), 4 overdue requests, 2 overdue milestones" in message.subject
    assert "Overdue requests: 4" in message.text and "Overdue milestones: 2" in message.text
    assert "overdue items" not in (message.subject + message.text).lower()
    assert "  - Organisation internationale pour les migrations — Genève\n" in message.text
    assert 'href="http://127.0.0.1:8000/reports/1"' in message.html


def test_the_cycle_summary_gives_a_late_bodys_full_name_only_when_it_says_more_than_its_short_one() -> None:
    late = [
        agency_names("WB", "The World Bank", "the World Bank"),
        agency_names("NGO-CM", "NGO Committee on Migration", "the NGO Committee on Migration"),
        agency_names("UNESCO", "United Nations Educational, Scientific and Cultural Organization", "UNESCO"),
        agency_names("UN-WOMEN", "United Nations Entity for Gender Equality (UN Women)", "UN Women"),
    ]

    message = render("cycle-summary", context("cycle-summary", overdue_agencies=late))

    assert "  - The World Bank\n" in message.text
    assert "  - The NGO Committee on Migration\n" in message.text
    assert "  - UNESCO (United Nations Educational, Scientific and Cultural Organization)\n" in message.text
    assert "  - UN Women (United Nations Entity for Gender Equality)\n" in message.text
    assert "<li>The World Bank</li>" in message.html


def test_an_unknown_kind_is_refused_naming_the_known_kinds() -> None:
    with pytest.raises(ValueError, match=r"unknown message kind 'nag'.*status-request, reminder"):
        render("nag", context("reminder"))


def test_a_missing_context_value_is_an_error_rather_than_an_empty_string() -> None:
    incomplete = context("reminder")
    del incomplete["days_left"]

    with pytest.raises(ValueError, match=r"reminder: .*days_left"):
        render("reminder", incomplete)


def test_wrapped_text_keeps_every_word_and_paragraph_within_the_width() -> None:
    long_word = "https://example.org/" + "x" * 80
    text = "The HLCP secretariat is taking stock of the recommendations " * 4 + f"\n\nSee {long_word} now."

    wrapped = wrap(text, 72)

    assert wrapped.split() == text.split()
    assert all(len(line) <= 72 for line in wrapped.splitlines() if line != long_word)
    assert long_word in wrapped.splitlines()
    assert "\n\n" in wrapped  # the blank line between paragraphs stays


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rendered_e_mails_name_an_agency_by_its_display_name_never_its_code(kind: str) -> None:
    bank = agency_names("WORLD-BANK", "The World Bank", "the World Bank")
    other = agency_names("NGO-CM", "NGO Committee on Migration", "the NGO Committee on Migration")
    message = render(kind, context(kind, agency=bank, overdue_agencies=[bank, other]))

    for part in (message.subject, message.text, message.html):
        assert "WORLD-BANK" not in part and "NGO-CM" not in part
    assert "World Bank" in message.subject + message.text


def test_a_request_answered_through_a_chair_is_addressed_to_the_chair_on_behalf_of_the_body() -> None:
    gmg = agency_names("GMG", "Global Migration Group", "the GMG")
    message = render("status-request", context("status-request", agency=gmg, through=IOM))

    assert f"Dear colleagues at {IOM['display']}," in message.text
    assert "the GMG leads or contributes to, which you answer for as its chair" in message.text
    assert "Reply for the GMG" in message.html


def test_the_receipt_puts_each_status_on_its_own_line_before_the_narrative() -> None:
    recorded = [
        {"code": "A1.1", "status": "in_progress", "narrative": "Work has started."},
        {"code": "A1.2", "status": "ongoing", "narrative": "", "no_change": True},
    ]

    text = render("receipt", context("receipt", recorded=recorded)).text

    assert "A1.1: In progress\nWork has started." in text
    assert "A1.2: Ongoing (no change since last time)\n" in text


@pytest.mark.parametrize("kind", ["status-request", "reminder", "escalation", "cycle-summary"])
def test_the_html_body_never_breaks_a_session_name_before_its_number_and_the_text_body_keeps_the_space(
    kind: str,
) -> None:
    message = render(kind, context(kind))

    assert "HLCP\u00a051st session" in message.html and "HLCP 51st session" not in message.html
    assert "HLCP 51st session" in message.text


def test_a_first_request_for_one_recommendation_reads_as_one_and_offers_no_confirmation() -> None:
    group = context("status-request")["items_by_point"][0]
    only = {**group, "items": [group["items"][1]]}  # A1.2, never reported on
    message = render(
        "status-request",
        context("status-request", item_count=1, items_by_point=[only], reported_before=False),
    )
    for body in (message.text, message.html):
        assert "Please tell us where the recommendation below stands by" in body
        assert "each of the" not in body and "No change since last time" not in body
        assert "as a spreadsheet to fill in and send back" in body  # the other way to answer


def test_a_reminder_when_nothing_is_answered_yet_says_so_plainly_in_its_subject_and_body() -> None:
    all_open = render("reminder", context("reminder", unanswered_count=3))
    assert "None of the 3 recommendations we asked" in all_open.text and "3 of the 3" not in all_open.text
    assert all_open.subject.startswith("Reminder: none of 3 recommendations answered yet, due in 7 days")
    one = render("reminder", context("reminder", unanswered_count=1, item_count=1))
    assert "The recommendation we asked" in one.text and "1 of the 1" not in one.text
    assert one.subject.startswith("Reminder: 1 recommendation unanswered, due in 7 days")
    assert "still unanswered, due in 7 days" in render("reminder", context("reminder")).subject


def test_a_receipt_after_the_deadline_does_not_promise_changes_until_a_day_gone_by() -> None:
    late = render("receipt", context("receipt", changeable=False))
    for body in (late.text, late.html):
        assert "You can still change your reply until" not in body
        assert "your answers can no longer be changed, unless the secretariat returns one" in body
    assert (
        "You can still change your reply until" in render("receipt", context("receipt", changeable=True)).text
    )


def test_a_french_subject_keeps_its_no_break_space_before_a_colon_and_a_line_never_breaks_there() -> None:
    reminder = render("reminder", context("reminder", lang="fr", unanswered_count=3))
    assert reminder.subject.startswith("Rappel\u00a0: aucune des 3 recommandations n’a encore de réponse")
    assert "Rappel :" not in reminder.subject

    text = "Le groupe d’experts s’est réuni\u00a0: " * 6
    wrapped = wrap(text, 40)

    assert all(not line.startswith(":") and "\u00a0:" in line for line in wrapped.splitlines())
    assert wrapped.replace("\n", " ") == text.strip()


def test_the_notice_of_a_later_deadline_starts_its_sentence_with_a_capital_even_after_an_article() -> None:
    agency = agency_names("ILO", "International Labour Organization", "the ILO")

    message = render("deadline-extended", context("deadline-extended", agency=agency))

    assert "\nThe ILO has 2 recommendations still to answer" in message.text
    assert "The ILO has 2 recommendations still to answer" in message.html
