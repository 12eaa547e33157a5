"""Values from outside that once slipped through: Unicode digits, control characters, odd addresses."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import ValidationError
from domain.launch import Readiness, check_new_cycle, cycle_slug
from domain.model import Contact, validate_email
from domain.numbers import ascii_number

READY = Readiness(ownerless=[], owners=["AAA"], reachable=frozenset({"AAA"}))


@pytest.mark.parametrize("text", ["²", "١٢", "1" * 5000, "", "-1", "1.0", " 1", "0x1"])
def test_numbers_from_outside_are_ascii_decimal_with_a_length_cap(text: str) -> None:
    assert ascii_number(text, max_digits=9) is None


def test_a_plain_ascii_number_is_read() -> None:
    assert ascii_number("0042", max_digits=9) == 42


@pytest.mark.parametrize("name", ["HLCP 53\r\nBcc: x@evil.org", "HLCP\x0053", "HLCP\u202e53", "tab\there"])
def test_a_cycle_name_with_control_characters_is_refused(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_new_cycle(name, date(2026, 3, 1), date(2026, 1, 1), READY, allow_unowned=False)
    assert caught.value.field == "name" and "control character" in caught.value.message


def test_a_cycle_name_with_a_slash_and_accents_may_open() -> None:
    check_new_cycle("HLCP 53/1 — été", date(2026, 3, 1), date(2026, 1, 1), READY, allow_unowned=False)


@pytest.mark.parametrize(
    "address",
    ["x:y@b.org", "a(comment)@b.org", '"a b"@b.org', "@a.org:b@c.org", "a@[192.0.2.1]", "a@b", "a b@c.org"],
)
def test_only_plain_local_at_domain_addresses_are_accepted(address: str) -> None:
    with pytest.raises(ValidationError, match="not a valid e-mail address"):
        validate_email(address)
    with pytest.raises(ValidationError):
        Contact(name="Focal point", email=address)


def test_an_ordinary_address_is_kept_as_written() -> None:
    assert validate_email("  Jane.Doe+hlcp@un.example.org ") == "Jane.Doe+hlcp@un.example.org"


def test_every_printable_name_has_a_url_slug_and_two_cycles_never_share_one() -> None:
    assert [cycle_slug(n) for n in ("HLCP 53/1", "Été 2026", "2026-spring")] == [
        "hlcp-53-1",
        "ete-2026",
        "2026-spring",
    ]
    assert cycle_slug("会议").startswith("cycle-") and cycle_slug("会议") != cycle_slug("会")
    with pytest.raises(ValidationError, match="HLCP 53/1"):
        check_new_cycle(
            "hlcp 53-1",
            date(2026, 3, 1),
            date(2026, 1, 1),
            READY,
            allow_unowned=False,
            other_names=["HLCP 53/1"],
        )
