"""The public site's page paths: two things that would share a page are refused, never overwritten."""

from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.publication import Owner, PublicRecord, RecommendationRecord
from reporting.site import render_site


def recommendation(rid: int, code: str, *owners: str) -> RecommendationRecord:
    return RecommendationRecord(
        id=rid,
        source="CEB/2014/4",
        code=code,
        kind="annex",
        agenda_point=1,
        agenda_title="Protect the human rights of all migrants",
        text=f"Recommendation {code}.",
        state="active",
        owners=tuple(Owner(owner, f"Agency {owner}", "lead") for owner in owners),
        timeline=(),
    )


def test_two_agencies_whose_codes_make_one_page_name_are_refused_naming_the_second() -> None:
    record = PublicRecord(
        recommendations=(recommendation(1, "A1.1", "UN-WOMEN"), recommendation(2, "A1.2", "UN--WOMEN")),
        agencies=(("UN-WOMEN", "UN Women"), ("UN--WOMEN", "UN Women, typed again")),
        cycles=(),
    )

    with pytest.raises(ValidationError, match=r"UN--WOMEN would share the page agencies/un-women\.html"):
        render_site(record)


def test_two_recommendations_whose_codes_make_one_page_name_are_refused_naming_the_second() -> None:
    record = PublicRecord(
        recommendations=(recommendation(1, "A1.1", "ILO"), recommendation(2, "A1-1", "ILO")),
        agencies=(("ILO", "International Labour Organization"),),
        cycles=(),
    )

    with pytest.raises(ValidationError, match="A1-1 would share the page"):
        render_site(record)


def test_agencies_and_recommendations_with_distinct_page_names_each_get_their_page() -> None:
    record = PublicRecord(
        recommendations=(recommendation(1, "A1.1", "ILO"), recommendation(2, "A1.2", "IOM")),
        agencies=(("ILO", "International Labour Organization"), ("IOM", "International Organization")),
        cycles=(),
    )

    files = render_site(record)

    assert {"agencies/ilo.html", "agencies/iom.html"} <= set(files)
    assert {"recommendations/ceb-2014-4/a1-1.html", "recommendations/ceb-2014-4/a1-2.html"} <= set(files)
