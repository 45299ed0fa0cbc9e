"""The daily report: one self-contained HTML page (inline CSS and SVG, no script, no link).

:func:`collect_day` gathers the day's anomalies from the curated Parquet of each hour
(or, for an hour that is closed but not compacted yet, from its JSON lines);
:func:`render` turns them into the page. Both are pure functions of the data interval
and the bucket's content, so a rerun writes the same bytes.

    day = collect_day(s3_hook, settings, data_interval_start)
    html = render(day, settings, checks={"freshness": {...}, "lag": {...}})
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from typing import Any, Mapping

import pyarrow as pa

from vigil_airflow import hourly, svg
from vigil_airflow.settings import Settings

TOP_DEVICES = 10
SERIES_PLOTS = 6
HOUR_MS = 3_600_000


@dataclass
class DayData:
    day_start: dt.datetime
    table: pa.Table
    hours_closed: list[int] = field(default_factory=list)     # 0..23
    hours_compacted: list[int] = field(default_factory=list)
    hours_missing: list[int] = field(default_factory=list)    # no _SUCCESS yet


def collect_day(s3_hook: Any, settings: Settings, day_start: dt.datetime) -> DayData:
    """Read every closed hour of the UTC day that starts at `day_start`."""
    client = s3_hook.get_conn()
    bucket = settings.s3_bucket
    tables, closed, compacted, missing = [], [], [], []
    for h in range(24):
        hour_start = day_start + dt.timedelta(hours=h)
        if not s3_hook.check_for_key(settings.hour_prefix(hour_start) + hourly.SUCCESS, bucket):
            missing.append(h)
            continue
        closed.append(h)
        key = settings.curated_hour_prefix(hour_start) + hourly.PARQUET_NAME
        if s3_hook.check_for_key(key, bucket):
            compacted.append(h)
            table = hourly.read_parquet(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        else:
            hour = hourly.read_hour_input(s3_hook, settings, hour_start)
            table = hourly.parse_json_lines(
                [client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in hour.parts])
        tables.append(table.select(hourly.ANOMALY_SCHEMA.names).cast(hourly.ANOMALY_SCHEMA))
    table = pa.concat_tables(tables) if tables else hourly.ANOMALY_SCHEMA.empty_table()
    return DayData(day_start, table, closed, compacted, missing)


def _counts(column: pa.ChunkedArray | pa.Array) -> list[tuple[str, int]]:
    import pyarrow.compute as pc

    if len(column) == 0:
        return []
    pairs = pc.value_counts(column).to_pylist()
    return sorted(((str(p["values"]), int(p["counts"])) for p in pairs), key=lambda kv: (-kv[1], kv[0]))


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(header)}" class="empty">none</td></tr>'
    return (f'<section class="{css}"><h2>{escape(title)}</h2><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></section>")


def _series_points(table: pa.Table, device: str, metric: str) -> list[svg.Point]:
    import pyarrow.compute as pc

    sel = table.filter(pc.and_(pc.equal(table["device_id"], device), pc.equal(table["metric"], metric)))
    sel = sel.sort_by([("event_time_ms", "ascending")])
    cols = {c: sel[c].to_pylist() for c in ("event_time_ms", "value", "expected_low", "expected_high",
                                            "severity")}
    return [svg.Point(t, v, lo, hi, sev or 0) for t, v, lo, hi, sev in zip(
        cols["event_time_ms"], cols["value"], cols["expected_low"], cols["expected_high"],
        cols["severity"]) if t is not None and v is not None]


STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;color:#1f2933;margin:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}
.meta{color:#52606d;font-size:12px}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #d9e2ec;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:22px}.grid{display:flex;gap:18px;flex-wrap:wrap}
table{border-collapse:collapse;font-size:12px}th,td{border-bottom:1px solid #e4e7eb;padding:3px 10px;text-align:left}
td.empty{color:#9aa5b1}.ok{color:#2f8132}.fail{color:#d64545;font-weight:bold}
"""


def render(day: DayData, settings: Settings, checks: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Return the report page for `day`; `checks` maps a check name to its result dict."""
    import pyarrow.compute as pc

    table = day.table
    date = day.day_start.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")
    start_ms = int(day.day_start.timestamp() * 1000)
    n = table.num_rows
    by_device = _counts(table["device_id"])
    by_metric = _counts(table["metric"])
    by_kind = _counts(pc.list_flatten(table["detectors"])) if n else []
    per_hour = [0] * 24
    if n:
        hours = pc.divide(pc.subtract(table["event_time_ms"], start_ms), HOUR_MS)
        for h, c in _counts(hours):
            if 0 <= int(h) < 24:
                per_hour[int(h)] = c
    high = int(pc.sum(pc.greater_equal(table["severity"], 70)).as_py() or 0) if n else 0

    cards = [("anomalies", n), ("devices", len(by_device)), ("severity ≥ 70", high),
             ("hours closed", f"{len(day.hours_closed)}/24")]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Vigil daily report {date}</title><style>{STYLE}</style></head><body>",
           f"<h1>Vigil daily report — {date}</h1>",
           f'<p class="meta">environment {escape(settings.env)} · bucket {escape(settings.s3_bucket)} · '
           f"UTC day {date}T00:00Z to next day · source: curated Parquet of "
           f"{len(day.hours_compacted)} hours, JSON lines of "
           f"{len(day.hours_closed) - len(day.hours_compacted)}</p>",
           '<div class="cards">' + "".join(
               f'<div class="card"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in cards) + "</div>"]
    if checks:
        rows = []
        for name, result in checks.items():
            status = "ok" if result.get("ok") else "FAIL"
            rows.append((name, status, result.get("detail", "")))
        section = _table("Checks", ("check", "status", "detail"), rows, "checks")
        out.append(section.replace("<td>FAIL</td>", '<td class="fail">FAIL</td>')
                   .replace("<td>ok</td>", '<td class="ok">ok</td>'))
    if day.hours_missing:
        out.append(f'<p class="fail">Hours not closed by the stream: '
                   f'{", ".join(f"{h:02d}" for h in day.hours_missing)}</p>')
    out.append("<section><h2>Anomalies per hour (UTC)</h2>" + svg.bar_chart(
        [f"{h:02d}" for h in range(24)], per_hour, "anomalies per hour") + "</section>")
    out.append('<div class="grid">')
    out.append(_table(f"Top {TOP_DEVICES} devices", ("device", "anomalies"), by_device[:TOP_DEVICES]))
    out.append(_table("Per metric", ("metric", "anomalies"), by_metric))
    out.append(_table("Per kind (detector)", ("detector", "anomalies"), by_kind))
    out.append("</div>")

    out.append("<section><h2>Series of the top devices</h2>"
               '<p class="meta">Each red point is an anomaly: its observed value, sized by severity; '
               "the green band is the range the detectors expected at that moment. The stream stores "
               "anomalies, not raw readings, so only anomalous points are drawn.</p>")
    pairs: list[tuple[str, str, int]] = []
    if n:
        grouped = table.group_by(["device_id", "metric"]).aggregate([("anomaly_id", "count")])
        pairs = sorted(zip(grouped["device_id"].to_pylist(), grouped["metric"].to_pylist(),
                           grouped["anomaly_id_count"].to_pylist()), key=lambda r: (-r[2], r[0], r[1]))
    for device, metric, count in pairs[:SERIES_PLOTS]:
        out.append(svg.series_plot(_series_points(table, device, metric), start_ms, start_ms + 24 * HOUR_MS,
                                   f"{device} · {metric} · {count} anomalies"))
    if not pairs:
        out.append('<p class="meta">No anomalies on this day.</p>')
    out.append("</section>")

    top = table.sort_by([("severity", "descending"), ("event_time_ms", "ascending"),
                         ("anomaly_id", "ascending")]).slice(0, 20) if n else table
    rows = [(r["event_time"], r["device_id"], r["metric"], f'{r["value"]:.4g}' if r["value"] is not None
             else "", r["severity"], ",".join(r["detectors"] or []), r["explanation"] or "")
            for r in top.to_pylist()]
    out.append(_table("Most severe anomalies", ("event time", "device", "metric", "value", "severity",
                                                "detectors", "explanation"), rows))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
