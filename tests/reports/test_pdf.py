"""The PDF executive report: pages that render, text a reader can search, charts or a sentence saying why not."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from crm_core.outcomes.results import campaign_outcome
from crm_core.reports.service import build_report, write_report
from crm_core.store.models import Campaign
from tests.outcomes.builders import build_world
from tests.reports.report_world import RISKY_NAME

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module", autouse=True)
def _poppler():
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("poppler-utils is missing in CI: .ci/run installs it")
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed")


@pytest.fixture
def no_browser(monkeypatch, tmp_path):
    """A machine where kaleido finds no Chromium."""
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium-here"))


def _pages(pdf: Path, tmp_path: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    return sorted(tmp_path.glob("page-*.png"))


def _text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=120)
    return " ".join(done.stdout.decode("utf-8").split())


def _images(pdf: Path) -> int:
    done = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True, timeout=120)
    rows = [line.split() for line in done.stdout.strip().splitlines()[2:]]  # after two header lines
    return sum(1 for row in rows if row[2] == "image")  # not their transparency masks (smask)


def _page_count(pdf: Path) -> int:
    done = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=120)
    return int(next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("Pages:")))


@pytest.mark.slow
def test_the_report_renders_with_its_charts_and_searchable_text(small_world, viewer, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing")
        pytest.skip("Debian chromium is not installed: the charts cannot be drawn here")
    pdf = write_report(small_world.db, viewer, small_world.run_id, tmp_path / "report.pdf")
    pages = _pages(pdf, tmp_path)
    assert len(pages) == _page_count(pdf) >= 2
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2_000 for p in pages)
    assert _images(pdf) == 3  # segments, campaign uplift, funnel
    text = _text(pdf)
    for label in ("Key figures", "Customers contacted", "Customers converted", "Quality level GOOD",
                  "Campaign uplift", "Run parameters", "Newcombe hybrid score"):
        assert label in text, label
    verdict = campaign_outcome(small_world.db, small_world.campaign_id).verdict
    assert f"Verdict: {verdict}" in text
    assert "Charts are unavailable" not in text


def test_without_a_browser_the_report_says_the_charts_are_unavailable(small_world, viewer, tmp_path, no_browser):
    pdf = write_report(small_world.db, viewer, small_world.run_id, tmp_path / "report.pdf")
    assert len(_pages(pdf, tmp_path)) == _page_count(pdf) >= 2
    assert _images(pdf) == 0
    text = _text(pdf)
    assert "Charts are unavailable: no browser could draw them on this machine (no Chromium was found)" in text
    assert "Key figures" in text and "Verdict: Converts" in text


def test_names_print_as_written_never_as_markup(small_world, viewer, tmp_path, no_browser):
    pdf = write_report(small_world.db, viewer, small_world.run_id, tmp_path / "report.pdf")
    assert f"#{small_world.campaign_id} {RISKY_NAME}" in _text(pdf)


def test_the_same_data_gives_the_same_pdf(small_world, viewer, no_browser):
    first = build_report(small_world.db, viewer, small_world.run_id, "pdf")
    assert first.startswith(b"%PDF-") and build_report(small_world.db, viewer, small_world.run_id, "pdf") == first


def test_a_run_without_campaigns_says_so(db, viewer, tmp_path, no_browser):
    world = build_world(db)
    with db.unit_of_work() as s:  # the builder's campaign is exported: make it a draft
        s.execute(update(Campaign).values(state="draft", exported_at=None))
    pdf = write_report(db, viewer, world.run_id, tmp_path / "report.pdf")
    assert "No campaign of this run has been exported yet" in _text(pdf)
