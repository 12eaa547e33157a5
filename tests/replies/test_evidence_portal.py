"""Evidence files through the portal: attached from the reply page, refused with a clear message,
downloaded as attachments by the agency's link and the secretariat only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from db import tables
from tests.support import (
    CYCLE,
    SECRETARIAT_TOKEN,
    Scenario,
    all_items,
    evidence_folder_files,
    form_of,
    portal_with,
    sample_file,
    save,
)
from workflows.services import agencies

AUTH = {"Authorization": f"Bearer {SECRETARIAT_TOKEN}"}
Sent = list[tuple[str, tuple[str, bytes, str]]]


@pytest.fixture
def client(site: Scenario, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with portal_with(site, monkeypatch) as test_client:
        yield test_client


def send(client: TestClient, token: str, files: Sent, action: str = "save", **typed: str) -> httpx2.Response:
    """The reply form as the page holds it, with these files chosen (multipart, as a browser sends it)."""
    fields = {**form_of(client.get(f"/r/{token}")), **typed, "action": action}
    return client.post(f"/r/{token}", data=fields, files=files, follow_redirects=False)


def file_links(page: httpx2.Response) -> dict[str, str]:
    """The files a page lists: name -> the link that downloads it."""
    return {name: href for href, name in re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', page.text)}


def test_a_focal_point_attaches_a_pdf_and_downloads_it_back_as_an_attachment(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    pdf = sample_file("pdf")

    saved = send(
        client, token, [(f"evidence_files-{rid}", ("Terms of reference.pdf", pdf, "application/pdf"))]
    )

    assert saved.status_code == 303
    page = client.get(f"/r/{token}")
    link = file_links(page)["Terms of reference.pdf"]
    assert re.fullmatch(r"\?file=\d+", link) and token not in page.text  # relative: no token spelled out
    assert f'name="remove_evidence-{link.removeprefix("?file=")}"' in page.text
    # Its Remove box names the file to a screen reader (every box read "Remove" alone).
    assert 'Remove<span class="visually-hidden"> Terms of reference.pdf</span></label>' in page.text
    download = client.get(f"/r/{token}{link}")
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Terms of reference.pdf\"; filename*=UTF-8''Terms%20of%20reference.pdf"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"].startswith("no-store")


def test_a_file_that_is_not_what_it_says_comes_back_on_the_page_naming_file_and_item(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    refused = send(
        client,
        token,
        [(f"evidence_files-{rid}", ("photo.pdf", sample_file("png"), "application/pdf"))],
        **{f"status-{rid}": "completed", f"narrative-{rid}": "Meeting held."},
    )

    assert refused.status_code == 422
    assert "A1.1, Evidence files: &#39;photo.pdf&#39; is not a PDF document: its content is a PNG image" in (
        refused.text
    )
    assert "No file was attached either: choose the files again" in refused.text
    assert f'id="evidence_files-{rid}-error"' in refused.text
    assert "Meeting held." in refused.text  # what was typed stays in the form
    assert evidence_folder_files() == [] and site.update("A1.1") is None
    with site.uow:
        assert site.uow.session.execute(select(tables.evidence_files)).first() is None


def test_html_passed_off_as_text_is_only_ever_served_as_a_plain_text_attachment(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A2.1"]
    script = b"<html><script>alert(document.cookie)</script></html>\n"
    send(client, token, [(f"evidence_files-{rid}", ("notes.txt", script, "text/html"))])

    download = client.get(f"/r/{token}{file_links(client.get(f'/r/{token}'))['notes.txt']}")

    assert download.content == script
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["content-security-policy"]


def test_another_agencys_link_and_a_made_up_file_number_find_nothing(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    send(client, token, [(f"evidence_files-{rid}", ("a.pdf", sample_file("pdf"), "application/pdf"))])
    link = file_links(client.get(f"/r/{token}"))["a.pdf"]

    assert client.get(f"/r/{site.tokens['BBB']}{link}").status_code == 404
    for wrong in ("999999", "-1", "1e3", "x"):
        assert client.get(f"/r/{token}?file={wrong}").status_code == 404
    assert client.get(f"/r/not-a-token{link}").status_code == 404


def test_the_secretariat_page_lists_the_files_and_downloads_them_behind_its_token(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    docx = sample_file("docx")
    send(client, token, [(f"evidence_files-{rid}", ("Plan.docx", docx, "application/octet-stream"))])
    save(site, all_items(site), submit=True)

    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)
    link = file_links(page)["Plan.docx"]
    assert link.startswith(f"/cycles/{CYCLE}/evidence/")
    assert "Make its 1 evidence file public" in page.text
    assert client.get(link).status_code == 401
    download = client.get(link, headers=AUTH)
    assert download.content == docx and download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-type"].endswith("wordprocessingml.document")


def test_accepting_with_the_box_ticked_makes_the_answers_files_public(
    site: Scenario, client: TestClient
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    send(client, token, [(f"evidence_files-{rid}", ("a.pdf", sample_file("pdf"), "application/pdf"))])
    save(site, all_items(site), submit=True)
    page = client.get(f"/cycles/{CYCLE}", headers=AUTH)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None

    fields = {"csrf": csrf.group(1), "action": "accept", "code": "A1.1", "agency": "AAA"}
    done = client.post(
        f"/cycles/{CYCLE}/review",
        data={**fields, "publish_evidence": "yes"},
        headers=AUTH,
        follow_redirects=False,
    )

    assert done.status_code == 303
    with site.uow:
        su = tables.status_updates.c
        published = dict(site.uow.session.execute(select(su.recommendation_id, su.evidence_public)).all())
    assert published[rid] is True and not published[site.ids["A1.2"]]


def test_files_over_what_one_save_may_carry_are_refused_with_413_saying_how_much_fits(
    site: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    with portal_with(site, monkeypatch, evidence_max_mb="1", evidence_max_files="2") as client:
        big = b"%PDF-1.4\n" + bytes(3 * 1024 * 1024)
        refused = send(client, token, [(f"evidence_files-{rid}", ("big.pdf", big, "application/pdf"))])
        assert refused.status_code == 413
        assert "the files attached in one save may come to at most 2 MB" in refused.text
        over = b"%PDF-1.4\n" + bytes(1024 * 1024)
        too_big = send(client, token, [(f"evidence_files-{rid}", ("over.pdf", over, "application/pdf"))])
        assert too_big.status_code == 422
        assert "&#39;over.pdf&#39; is larger than 1 MB, the most a file may have" in too_big.text
        french = client.post(
            f"/r/{token}",
            data=form_of(client.get(f"/r/{token}")),
            files=[(f"evidence_files-{rid}", ("big.pdf", big, "application/pdf"))],
            headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"},
        )
        assert french.status_code == 413 and french.headers["content-language"] == "fr"
        assert "ne peuvent dépasser 2\u00a0Mo au total" in french.text
    assert evidence_folder_files() == []


def test_a_french_agency_reads_the_file_rules_refusals_lists_and_receipt_in_french(
    site: Scenario, client: TestClient
) -> None:
    agencies.set_language(site.uow, "AAA", "fr")
    token, rid = site.tokens["AAA"], site.ids["A1.1"]
    pdf = sample_file("pdf")

    page = client.get(f"/r/{token}")
    assert f'<label for="evidence_files-{rid}">Fichiers justificatifs</label>' in page.text
    assert "Facultatif\u00a0: 5 fichiers par réponse au maximum, de 10\u00a0Mo chacun au plus" in page.text
    refused = send(
        client, token, [(f"evidence_files-{rid}", ("photo.pdf", sample_file("png"), "application/pdf"))]
    )
    assert refused.status_code == 422
    assert (
        "«\u00a0photo.pdf\u00a0» n’est pas un document PDF\u00a0: son contenu est une image PNG"
        in refused.text
    )
    assert "Aucun fichier n’a été joint non plus" in refused.text
    send(client, token, [(f"evidence_files-{rid}", ("Mandat.pdf", pdf, "application/pdf"))])
    assert f"{len(pdf)}\u00a0octets, SHA-256" in client.get(f"/r/{token}").text
    assert re.search(
        r"> Supprimer<span class=\"visually-hidden\"> [^<]+</span></label>", client.get(f"/r/{token}").text
    )
    save(site, all_items(site), submit=True)

    receipt = client.get(f"/r/{token}/receipt")
    assert '<th scope="col">Fichiers justificatifs</th>' in receipt.text and ">Aucun</td>" in receipt.text
    (mail,) = site.outbox("receipt")
    assert f"Fichier justificatif\u00a0: Mandat.pdf ({len(pdf)}\u00a0octets, SHA-256" in str(
        mail["body_text"]
    )
