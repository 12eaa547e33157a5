"""The Word report as the Committee prints it: converted to PDF by LibreOffice, read with poppler.

The demo-like stock-take (85 recommendations, 19 agencies) must print on A4 in at most 15 pages,
open with the heading block, and put no word outside the text block (a table wider than the page
would). `.ci/run` installs `libreoffice-writer-nogui` and `poppler-utils` when they are missing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reporting.docx import render_docx
from tests.reports.demo_like import demo_like_stocktake

MAX_PAGES = 15
A4_POINTS = (595, 842)
MARGIN_POINTS = 2.5 / 2.54 * 72  # the 2.5 cm margins
TOLERANCE_POINTS = 2.0


def _pdf_of(docx: Path, out: Path) -> Path:
    # A private LibreOffice profile: parallel test runs must not share (and lock) one.
    profile = f"-env:UserInstallation=file://{out / 'profile'}"
    subprocess.run(
        ["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir", str(out), str(docx)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / (docx.stem + ".pdf")


@pytest.mark.slow
def test_the_demo_like_stocktake_prints_on_at_most_15_a4_pages_within_the_text_block(tmp_path: Path) -> None:
    stocktake = demo_like_stocktake()
    source = tmp_path / "stocktake.docx"
    source.write_bytes(render_docx(stocktake))
    pdf = _pdf_of(source, tmp_path)

    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)[1])  # type: ignore[index]
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
    assert size is not None
    width, height = float(size[1]), float(size[2])
    assert (round(width), round(height)) == A4_POINTS
    assert 2 <= pages <= MAX_PAGES, f"{pages} pages"

    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    right_edges = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= width - MARGIN_POINTS + TOLERANCE_POINTS

    first_page = subprocess.run(
        ["pdftotext", "-l", "1", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for line in ("CEB/2015/HLCP-29/CRP.3", "High-Level Committee on Programmes", "Note by the secretariat"):
        assert line in first_page
