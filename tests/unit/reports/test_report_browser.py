"""The HTML report opened in headless Chromium: the browser lays out every chart bar with a size, and a
screenshot is taken (kept under var/ for a person to look at). Skipped, saying why, where no Chromium
is installed (.ci/run installs it); test_report_page.py checks the same SVG without a browser."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from shared.reports import render_report_html
from tests.unit.reports.sample import sample_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage"]


def _chromium(*args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *_FLAGS, *args], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_chromium_draws_every_chart_bar(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report_html(sample_report()), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri())
    drawn = re.search(r'data-bars-drawn="(\d+)"', dom)
    expected = re.search(r'data-bars-expected="(\d+)"', dom)
    assert drawn and expected, "the page's script did not run"
    assert int(expected.group(1)) == 17  # 12 allocation bars less the zero cash target; 8 drift bars less 2 zeros
    assert drawn.group(1) == expected.group(1)

    shot = tmp_path / "report.png"
    _chromium("--window-size=1200,1700", f"--screenshot={shot}", page.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 1700)
    assert len(png) > 30_000  # a blank page compresses to a few kilobytes
    keep = Path("var") / "report-screenshot.png"
    keep.parent.mkdir(exist_ok=True)
    keep.write_bytes(png)
