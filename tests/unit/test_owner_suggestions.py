"""Owner suggestions: actors named in the text, thematic defaults, and a reason for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import ValidationError
from domain.importer import parse_report
from domain.model import Agency, OwnerRole, Recommendation
from domain.owners import AliasIndex, suggest
from workflows.services.agencies import SHIPPED_REGISTRY, parse_registry

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "seed" / "CEB-2014-4-Annex-V.md"


@pytest.fixture(scope="module")
def registry() -> list[Agency]:
    return parse_registry(SHIPPED_REGISTRY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample_suggestions(registry):
    report = parse_report(SAMPLE.read_text(encoding="utf-8"))
    return suggest([item.to_recommendation(report.source) for item in report.items], registry)


def _rec(code: str, text: str, **fields) -> Recommendation:
    kind = "annex" if code.startswith("A") else "strategic"
    return Recommendation(source="T/1", code=code, kind=kind, text=text, position=1, **fields)


def test_every_sample_item_gets_exactly_one_lead_and_a_reason_for_each_owner(sample_suggestions) -> None:
    assert len(sample_suggestions) == 85
    for code, owners in sample_suggestions.items():
        assert [o.role for o in owners].count(OwnerRole.LEAD) == 1, code
        assert owners[0].role == OwnerRole.LEAD
        assert all(o.reason for o in owners)
        assert len({o.agency_code for o in owners}) == len(owners)


def test_strategic_items_are_owned_by_the_bodies_they_name(sample_suggestions) -> None:
    owners = {
        code: [(o.agency_code, o.role.value) for o in found] for code, found in sample_suggestions.items()
    }
    assert owners["SR1.ii.a"] == [("UNDG", "lead"), ("GMG", "contributor")]
    # "The CEB could request the GMG to ...": the body asked to act leads.
    assert owners["SR1.iii"][0] == ("GMG", "lead")
    assert {a for a, _ in owners["SR1.i"]} == {"CEB", "HLCP", "GMG", "UNDG"}
    reasons = [o.reason for o in sample_suggestions["SR1.ii.a"]]
    assert reasons == ["named in the text: 'UNDG'", "named in the text: 'GMG'"]


def test_appendix_items_without_a_named_actor_get_the_thematic_default(sample_suggestions) -> None:
    lead = {code: found[0] for code, found in sample_suggestions.items()}
    assert (lead["A1.2"].agency_code, lead["A1.2"].reason) == ("WHO", "thematic default for point 1 / health")
    assert lead["A1.5"].agency_code == "UNHCR"
    assert lead["A3.4"].agency_code == "UNODC"
    assert [o.agency_code for o in sample_suggestions["A2.3"]][:2] == ["WORLD-BANK", "UNCTAD"]
    assert lead["A2.1"].agency_code == "ILO"
    assert lead["A7.3"].agency_code == "UN-DESA"


def test_acronyms_match_case_sensitively_and_longer_names_win(registry) -> None:
    index = AliasIndex(registry)
    assert index.named_in("Those who work for the people.") == []
    assert [c for c, _, _ in index.named_in("The WHO and the World Bank.")] == ["WHO", "WORLD-BANK"]
    named = index.named_in("The Office of the High Commissioner for Human Rights will report.")
    assert [c for c, _, _ in named] == ["OHCHR"]
    assert [c for c, _, _ in index.named_in("The Population Division of UN-DESA")] == ["UN-DESA"]


def test_a_nested_strategic_item_without_names_inherits_its_parents_named_bodies(registry) -> None:
    recs = [
        _rec("SR1", "Coordinate better"),
        _rec("SR1.i", "The CEB could request the GMG to:", parent_code="SR1"),
        _rec("SR1.i.a", "Develop tools.", parent_code="SR1.i"),
    ]
    found = suggest(recs, registry)
    assert [(o.agency_code, o.role) for o in found["SR1.i.a"]] == [
        ("GMG", OwnerRole.LEAD),
        ("CEB", OwnerRole.CONTRIBUTOR),
    ]
    assert found["SR1.i.a"][0].reason == "named in SR1.i: 'GMG'"
    assert found["SR1"][0].agency_code == "GMG" and "default" in found["SR1"][0].reason


def test_an_item_matching_no_theme_falls_back_to_the_coordinating_body(registry) -> None:
    found = suggest([_rec("A9.1", "Do something else.", agenda_point=9, agenda_title="Miscellany")], registry)
    assert [(o.agency_code, o.role) for o in found["A9.1"]] == [("GMG", OwnerRole.LEAD)]


def test_suggestions_need_the_default_owner_in_the_registry() -> None:
    with pytest.raises(ValidationError, match="no GMG"):
        suggest([_rec("A1.1", "Health.")], [Agency(code="WHO", name="WHO")])
