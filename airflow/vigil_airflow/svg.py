"""Small inline-SVG charts for the daily report: no plotting library, no script, no external file.

Every function returns one ``<svg>`` element as a string, well-formed XML with all text
escaped, sized in CSS pixels through its ``viewBox`` so it scales with the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import Sequence

INK = "#1f2933"
GRID = "#d9e2ec"
BAR = "#3e7cb1"
BAND = "#c6e6c3"
ANOMALY = "#d64545"


def _num(x: float) -> str:
    return f"{x:.1f}"


def bar_chart(labels: Sequence[str], values: Sequence[int], title: str,
              width: int = 720, height: int = 220) -> str:
    """Vertical bars, one per label, with the value above each non-zero bar."""
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels for {len(values)} values")
    left, right, top, bottom = 40, 10, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([*values, 1])
    step = plot_w / max(len(values), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="18" font-size="13" fill="{INK}" font-weight="bold">'
             f'{escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
                     f'stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 4}" y="{_num(y + 4)}" font-size="10" fill="{INK}" '
                     f'text-anchor="end">{round(peak * frac)}</text>')
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * value / peak
        x = left + i * step + step * 0.15
        parts.append(f'<rect class="bar" x="{_num(x)}" y="{_num(top + plot_h - h)}" '
                     f'width="{_num(step * 0.7)}" height="{_num(h)}" fill="{BAR}">'
                     f'<title>{escape(label)}: {value}</title></rect>')
        if value:
            parts.append(f'<text x="{_num(x + step * 0.35)}" y="{_num(top + plot_h - h - 3)}" '
                         f'font-size="9" fill="{INK}" text-anchor="middle">{value}</text>')
        if len(labels) <= 24 or i % 2 == 0:
            parts.append(f'<text x="{_num(x + step * 0.35)}" y="{height - bottom + 14}" font-size="10" '
                         f'fill="{INK}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Point:
    """One anomaly on a series: when, what was seen, what was expected, how bad."""

    t_ms: int
    value: float
    low: float | None
    high: float | None
    severity: int


def series_plot(points: Sequence[Point], start_ms: int, end_ms: int, title: str,
                width: int = 720, height: int = 200) -> str:
    """Observed values at each anomaly (red, sized by severity) over the expected range (green)."""
    if end_ms <= start_ms:
        raise ValueError(f"series_plot: empty time range {start_ms}..{end_ms}")
    left, right, top, bottom = 56, 10, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ys = [p.value for p in points] + [v for p in points for v in (p.low, p.high) if v is not None]
    lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def x_of(t: int) -> float:
        return left + plot_w * (t - start_ms) / (end_ms - start_ms)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="18" font-size="13" fill="{INK}" font-weight="bold">'
             f'{escape(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
             f'stroke="{GRID}"/>']
    for frac in (0.0, 0.5, 1.0):
        v = lo + (hi - lo) * frac
        parts.append(f'<text x="{left - 4}" y="{_num(y_of(v) + 4)}" font-size="10" fill="{INK}" '
                     f'text-anchor="end">{v:.4g}</text>')
    for hour in range(0, 25, 6):
        t = start_ms + hour * 3_600_000
        if t > end_ms:
            break
        label = dt.datetime.fromtimestamp(t / 1000, tz=dt.timezone.utc).strftime("%H:%M")
        parts.append(f'<line x1="{_num(x_of(t))}" y1="{top}" x2="{_num(x_of(t))}" '
                     f'y2="{top + plot_h}" stroke="{GRID}"/>')
        parts.append(f'<text x="{_num(x_of(t))}" y="{height - 10}" font-size="10" fill="{INK}" '
                     f'text-anchor="middle">{label}</text>')
    band_w = max(plot_w / 288, 2.0)  # at least a 5-minute-wide band per anomaly
    for p in points:
        if p.low is not None and p.high is not None and p.high >= p.low:
            parts.append(f'<rect class="band" x="{_num(x_of(p.t_ms) - band_w / 2)}" '
                         f'y="{_num(y_of(p.high))}" width="{_num(band_w)}" '
                         f'height="{_num(max(y_of(p.low) - y_of(p.high), 1.0))}" fill="{BAND}"/>')
    for p in points:
        radius = 2.5 + 3.5 * max(0, min(p.severity, 100)) / 100
        when = dt.datetime.fromtimestamp(p.t_ms / 1000, tz=dt.timezone.utc).strftime("%H:%M:%S")
        expected = (f", expected {p.low:.4g}..{p.high:.4g}"
                    if p.low is not None and p.high is not None else "")
        parts.append(f'<circle class="anomaly" cx="{_num(x_of(p.t_ms))}" cy="{_num(y_of(p.value))}" '
                     f'r="{_num(radius)}" fill="{ANOMALY}" fill-opacity="0.8">'
                     f'<title>{when} value {p.value:.4g}{escape(expected)}, severity {p.severity}'
                     f'</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
