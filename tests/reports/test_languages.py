"""The stock-take in the secretariat's language: French and Spanish words, the English report's numbers."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from db.unit_of_work import SqlUnitOfWork
from domain.figures import every_figure
from domain.language import ENGLISH
from domain.model import Recommendation
from domain.stocktake import StockTake
from notifications.i18n import translator
from reporting.docx import render_docx
from reporting.markdown import render_markdown
from reporting.outline import outline, wording
from reporting.xlsx import render_xlsx
from tests.support import CURRENT, build_two_cycles
from tests.support import STOCKTAKE_TODAY as TODAY
from workflows.bootstrap import FixedClock
from workflows.services.stocktake import build_stocktake, set_document, write_reports

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the words do not depend on the database


def _stocktakes(uow: SqlUnitOfWork) -> dict[str, StockTake]:
    """The HLCP 28 stock-take as each language's report has it, dated 1 December 2026 (SR1.i's text
    imported in French too)."""
    ids = build_two_cycles(uow)
    with uow:
        recommendation = uow.session.get(Recommendation, ids["SR1.i"])
        assert recommendation is not None
        recommendation.translations = {"fr": "Recommandation SR1.i : faire la chose."}
        uow.commit()
    set_document(uow, CURRENT, document_date=date(2026, 12, 1), symbol="CEB/2026/HLCP-28/CRP.1")
    with uow:
        return {
            lang: build_stocktake(uow, CURRENT, today=TODAY, language=lang) for lang in ("en", "fr", "es")
        }


@pytest.fixture
def reports(uow: SqlUnitOfWork) -> dict[str, StockTake]:
    return _stocktakes(uow)


def _numbers(text: str) -> list[int]:
    return sorted(int(n) for n in re.findall(r"\d+", text))


def test_every_paragraph_of_the_french_report_states_the_numbers_of_the_english_one(
    backend: str, reports: dict[str, StockTake]
) -> None:
    english = outline(reports["en"], wording())
    french = outline(reports["fr"], wording(translator("fr")))

    assert [part.key for part in french] == [part.key for part in english]
    assert [(p.number, _numbers(p.text)) for part in french for p in part.paragraphs] == [
        (p.number, _numbers(p.text)) for part in english for p in part.paragraphs
    ]


def test_the_french_markdown_has_french_headings_sentences_dates_and_status_labels(
    backend: str, reports: dict[str, StockTake]
) -> None:
    markdown = render_markdown(reports["fr"], translator("fr"))

    assert (
        "Conseil des chefs de secrétariat des organismes des Nations Unies pour la coordination" in markdown
    )
    assert "Comité de haut niveau sur les programmes" in markdown
    assert "1er décembre 2026" in markdown
    assert "# Bilan des mesures de suivi\u00a0: HLCP 28" in markdown
    assert "*Note du secrétariat*" in markdown
    for heading in ("## Résumé", "### Faits saillants", "### Chiffres", "## Annexe II. Méthode"):
        assert f"\n{heading}\n" in markdown
    assert "L’entité chef de file a fait rapport sur 7 des 9 recommandations (78\u202f%)" in markdown
    assert "Depuis HLCP 27, 3 recommandations ont changé d’état d’avancement" in markdown
    answered = "Entités ayant répondu\u00a0: 5 sur 6 entités, dont 2 intégralement\u00a0;"
    assert f"{answered} 1 n’a pas répondu du tout (Agency WHO)" in markdown  # without English's article
    assert "| Point de l’ordre du jour | Achevé | Permanent | En cours | Non commencé | Bloqué |" in markdown
    assert "10 mars 2026\u00a0: Achevé." in markdown
    for english in ("Executive summary", "Status:", "No answer", "March", "Annex I.", "(lead)", "newly"):
        assert english not in markdown


def test_the_report_names_agencies_as_running_text_does_in_each_language_and_lowercase_in_brackets(
    backend: str, uow: SqlUnitOfWork
) -> None:
    build_two_cycles(uow)
    with uow:
        for code, short, translations in (("ILO", "ILO", {"fr": "l’OIT"}), ("WHO", "WHO", {"fr": "l’OMS"})):
            agency = uow.agencies.require(code)
            agency.short_name, agency.article, agency.translations = short, "the", translations
        uow.commit()
    with uow:
        english, french = (build_stocktake(uow, CURRENT, today=TODAY, language=lang) for lang in ("en", "fr"))

    english_text = render_markdown(english)
    french_text = render_markdown(french, translator("fr"))

    assert "“Stock-take note tabled at HLCP 28” (the ILO). SR1.ii.a is blocked" in english_text
    assert "1 did not answer at all (the WHO)" in english_text
    quoted = "«\u00a0Stock-take note tabled at HLCP 28\u00a0»"
    assert f"{quoted} (l’OIT). La recommandation SR1.ii.a" in french_text
    assert "1 n’a pas répondu du tout (l’OMS)" in french_text


def test_a_recommendation_imported_in_french_too_is_quoted_in_french_and_the_others_as_written(
    backend: str, reports: dict[str, StockTake]
) -> None:
    french = render_markdown(reports["fr"], translator("fr"))

    assert "### SR1.i Recommandation SR1.i : faire la chose." in french
    assert "### SR1.ii.a Recommendation SR1.ii.a: do the thing." in french
    assert "### SR1.i Recommendation SR1.i: do the thing." in render_markdown(reports["en"])


def test_the_french_status_table_counts_what_the_english_one_counts(
    backend: str, reports: dict[str, StockTake]
) -> None:
    def table(markdown: str, heading: str) -> list[list[str]]:
        block = markdown.split(f"#### {heading}\n\n", 1)[1].split("\n\n", 1)[0]
        return [line.split("|")[2:] for line in block.splitlines()[2:]]

    french = table(
        render_markdown(reports["fr"], translator("fr")), "État d’avancement par point de l’ordre du jour"
    )

    assert french == table(render_markdown(reports["en"]), "Status by agenda point")


def test_the_french_word_document_is_french_from_its_heading_block_to_its_footer(
    backend: str, reports: dict[str, StockTake]
) -> None:
    document = Document(io.BytesIO(render_docx(reports["fr"], translator("fr"))))
    texts = [p.text for p in document.paragraphs]
    headers = [cell.text for table in document.tables for cell in table.rows[0].cells]

    assert texts[:5] == [
        "CEB/2026/HLCP-28/CRP.1",
        "1er décembre 2026",
        "Conseil des chefs de secrétariat des organismes des Nations Unies pour la coordination",
        "Comité de haut niveau sur les programmes",
        "HLCP 28",
    ]
    assert {
        "Bilan des mesures de suivi\u00a0: HLCP 28",
        "Note du secrétariat",
        "Résumé",
        "Annexe II. Méthode",
    } <= set(texts)
    assert (
        "Agency ILO (chef de file), 10 mars 2026\u00a0: Achevé. Stock-take note tabled at HLCP 28." in texts
    )
    assert {"Point de l’ordre du jour", "Achevé", "Pas de réponse", "Taux de réponse"} <= set(headers)
    assert document.sections[0].footer.paragraphs[0].text.startswith("CEB/2026/HLCP-28/CRP.1   Page ")
    assert document.core_properties.author == "Secrétariat du CCS"


def test_the_french_spreadsheet_names_its_sheets_columns_and_figures_in_french_with_the_same_values(
    backend: str, reports: dict[str, StockTake]
) -> None:
    french = openpyxl.load_workbook(io.BytesIO(render_xlsx(reports["fr"], translator("fr"))))
    english = openpyxl.load_workbook(io.BytesIO(render_xlsx(reports["en"])))
    words = translator("fr")

    assert french.sheetnames == ["Synthèse", "Recommandations"]
    summary = {row[0]: row[1] for row in french["Synthèse"].iter_rows(values_only=True) if row and row[0]}
    figures = every_figure(reports["fr"].figures)
    assert {words.gettext(label): summary[words.gettext(label)] for label, _ in figures} == {
        words.gettext(label): value for label, value in figures
    }
    assert summary["Date limite de réponse"] == "15 mars 2026"
    items, english_items = french["Recommandations"], english["Items"]
    header = [cell.value for cell in next(items.iter_rows(max_row=1))]
    assert header[:9] == [
        "Section", "Code", "Type", "Recommandation", "Thème", "Entité", "Nom de l’entité", "Rôle",
        "État d’avancement communiqué",
    ]  # fmt: skip
    numbers = [[v for v in row if isinstance(v, int)] for row in items.iter_rows(min_row=2, values_only=True)]
    assert numbers == [
        [v for v in row if isinstance(v, int)] for row in english_items.iter_rows(min_row=2, values_only=True)
    ]


def test_the_spanish_report_is_spanish(backend: str, reports: dict[str, StockTake]) -> None:
    markdown = render_markdown(reports["es"], translator("es"))
    document = Document(io.BytesIO(render_docx(reports["es"], translator("es"))))

    assert "# Balance de las medidas de seguimiento: HLCP 28" in markdown
    assert "1 de diciembre de 2026" in markdown
    assert "Junta de los Jefes Ejecutivos del Sistema de las Naciones Unidas para la Coordinación" in markdown
    assert "La entidad principal informó sobre 7 de 9 recomendaciones (78\u00a0%)" in markdown
    assert "## Anexo II. Método" in markdown
    assert "Comité de Alto Nivel sobre Programas" in [p.text for p in document.paragraphs]


def test_english_written_through_the_translator_is_the_english_report(
    backend: str, reports: dict[str, StockTake]
) -> None:
    assert render_markdown(reports["en"], translator("en")) == render_markdown(reports["en"])
    through, english = (
        zipfile.ZipFile(io.BytesIO(render_docx(reports["en"], words)))
        for words in (translator("en"), ENGLISH)
    )
    assert [(i.filename, through.read(i)) for i in through.infolist()] == [
        (i.filename, english.read(i)) for i in english.infolist()
    ]


def test_the_report_command_writes_in_the_language_it_is_given(
    backend: str, uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    build_two_cycles(uow)
    clock = FixedClock(TODAY)

    paths = write_reports(uow, CURRENT, formats=["md"], out_dir=tmp_path, clock=clock, language="fr")

    assert "## Résumé" in paths["md"].read_text()
