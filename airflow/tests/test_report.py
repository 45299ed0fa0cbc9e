"""The daily report is self-contained, well-formed, and renders in headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from sample_data import anomaly_records
from vigil_airflow import hourly, report, svg
from vigil_airflow.settings import Settings

DAY = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
SETTINGS = Settings(env="test", kafka_bootstrap="127.0.0.1:9092", kafka_topic="t", s3_bucket="bucket",
                    ddb_table="claims")


def _day(hours=range(24), missing=()) -> report.DayData:
    records = []
    for h in hours:
        records += anomaly_records(DAY + dt.timedelta(hours=h), 4 + h % 6, seed=100 + h)
    table = hourly.parse_json_lines([b"".join(
        __import__("sample_data").json_lines([r]) for r in records)])
    closed = [h for h in range(24) if h not in missing]
    return report.DayData(DAY, table, closed, closed[:-2], list(missing))


def _html(day: report.DayData) -> str:
    checks = {"output freshness": {"ok": False, "detail": "hours not closed: 23"}}
    return report.render(day, SETTINGS, checks)


def test_report_is_self_contained_and_deterministic():
    html = _html(_day(missing=(23,)))
    assert html == _html(_day(missing=(23,)))
    assert not re.search(r"<script|<link|src=|href=|@import|url\(", html)
    assert "Vigil daily report — 2026-11-22" in html
    assert "Hours not closed by the stream: 23" in html and 'class="fail">FAIL' in html


def test_report_counts_match_the_data():
    day = _day()
    html = _html(day)
    n = day.table.num_rows
    assert f"<b>{n}</b>anomalies" in html
    devices = len(set(day.table["device_id"].to_pylist()))
    assert f"<b>{devices}</b>devices" in html
    # the 24 hourly bars add up to the total
    bars = [int(v) for v in re.findall(r'<rect class="bar"[^>]*><title>\d\d: (\d+)</title>', html)]
    assert len(bars) == 24 and sum(bars) == n
    # one series plot per top (device, metric) pair, one red point per anomaly of that pair
    plots = re.findall(r'aria-label="(dev-\d+) · (\w+) · (\d+) anomalies"(.*?)</svg>', html, re.S)
    assert len(plots) == report.SERIES_PLOTS
    for _device, _metric, count, body in plots:
        assert body.count('class="anomaly"') == int(count)


def test_every_svg_is_well_formed_xml():
    html = _html(_day())
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 1 + report.SERIES_PLOTS
    for chunk in svgs:
        ET.fromstring(chunk)


def test_empty_day_renders():
    empty = report.DayData(DAY, hourly.ANOMALY_SCHEMA.empty_table(), [], [], list(range(24)))
    html = report.render(empty, SETTINGS)
    assert "No anomalies on this day." in html and "<b>0</b>anomalies" in html


def test_svg_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        svg.bar_chart(["a"], [1, 2], "x")
    with pytest.raises(ValueError, match="empty time range"):
        svg.series_plot([], 10, 10, "x")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def render_and_screenshot(page: pathlib.Path, shot: pathlib.Path, height: int = 2600) -> str:
    """Load `page` in headless Chromium: assert no console or load error, take a screenshot,
    return the rendered DOM."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium package is missing (infra/setup/apt-packages.txt lists it)"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--enable-logging=stderr", "--v=0", f"--user-data-dir={shot.parent / 'chromium-profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line]
    assert console == [], console
    run = subprocess.run([*common, f"--window-size=1200,{height}", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1200, height)
    assert len(data) > 50_000, "the screenshot looks blank"
    return dom.stdout


def test_report_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(_html(_day(missing=(23,))), encoding="utf-8")
    shot = pathlib.Path(os.environ.get("VIGIL_REPORT_SCREENSHOT", tmp_path / "report.png"))
    dom = render_and_screenshot(page, shot)
    assert "Vigil daily report — 2026-11-22" in dom
    assert dom.count("<svg") == 1 + report.SERIES_PLOTS
