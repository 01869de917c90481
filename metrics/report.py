"""The sprint report: one document built from the API, rendered as JSON, Markdown or HTML."""

from __future__ import annotations

import datetime as dt
import getpass
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import store
from metrics import aggregate, catalog, novelty, oncall, reviews
from metrics.aggregate import plain
from metrics.period import Period
from metrics.registry import formula, label
from metrics.sprint import sprint_figures
from settings import Settings

# The machine-readable contract (METRICS.md, last section): these keys, in this order.
JSON_FIGURES = (
    "alerts",
    "tta_median_s",
    "tta_mean_s",
    "tta_p90_s",
    "ttr_median_s",
    "ttr_mean_s",
    "ttr_p90_s",
    "unacknowledged",
    "auto_resolved",
    "transient",
    "flaps",
    "interruptions",
    "business_hours_interruptions",
    "off_hours_interruptions",
    "sleep_interruptions",
    "disturbed_nights",
    "new_signature_share",
    "actionable_rate",
)
NOISY_KEYS = (
    "signature",
    "alerts",
    "transient",
    "flaps",
    "unacknowledged",
    "noise_ratio",
    "ttr_median_s",
    "interruptions",
    "sleep_interruptions",
)
# The headline table of the Markdown/HTML forms: the contract's figures and a few more.
HEADLINE = JSON_FIGURES + ("noise_ratio", "wake_ups", "runbook_coverage", "hours_lost")


@dataclass
class Table:
    """A titled table of plain cells; the renderers escape every cell."""

    title: str
    note: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Document:
    """Everything a report shows, before rendering."""

    period: Period
    team: str | None
    figures: dict[str, Any]
    changes: dict[str, Any]
    noisy: pd.DataFrame
    tables: list[Table]
    generated: dict[str, Any]
    on_call: dict[str, Any] | None = None  # metrics.oncall.report: None without schedule data


def _frame_rows(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    return [[plain(v) for v in row] for row in frame[columns].itertuples(index=False)]


def _sections(db, period, team, settings: Settings, figures: dict[str, Any]) -> list[Table]:
    new, people = figures["new_signatures"], figures["people"]
    offenders = novelty.repeat_offenders(db, settings, period.start.date(), team)
    firing = reviews.still_firing(db, min(period.end, dt.datetime.now(dt.UTC)), team, settings)
    return [
        Table(
            label("new_signatures"),
            formula("new_signatures"),
            ["signature", "title", "status", "alerts", "first_seen"],
            _frame_rows(new, ["signature", "title", "status", "alerts", "first_seen"]),
        ),
        Table(
            label("repeat_offenders"),
            formula("repeat_offenders"),
            ["signature", "title", "alerts", "sprints"],
            _frame_rows(offenders, ["signature", "title", "alerts", "sprints"]),
        ),
        Table(
            label("people_load"),
            formula("people_load"),
            ["person", "interruptions", "wake_ups", "disturbed_nights"],
            _frame_rows(people, ["person_name", "interruptions", "wake_ups", "disturbed_nights"]),
        ),
        Table(
            "Reviewed signatures still firing",
            formula("follow_through"),
            ["signature", "title", "verdict", "reviewed_at", "alerts_since", "sprints_open"],
            _frame_rows(
                firing, ["signature", "title", "verdict", "reviewed_at", "alerts_since", "sprints_open"]
            ),
        ),
    ]


def generated(db: str) -> dict[str, Any]:
    """Who generated the report, when, from which database, and each source's last sync."""
    sources = {
        name: {"last_sync": plain(info["last_sync"]), "last_run_status": info["last_run_status"]}
        for name, info in catalog.sources(db).items()
    }
    return {
        "at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "by": getpass.getuser(),
        "database": store.display_name(db),
        "sources": sources,
    }


def build(db: str, period: Period, team: str | None, settings: Settings) -> Document:
    """Collect every figure and table of the report for a period and team."""
    figures = sprint_figures(db, period, team, settings=settings)
    compared = aggregate.compare(db, period, team, settings=settings)
    changes = {name: plain(value) for name, value in compared["change"].items()}
    sections = _sections(db, period, team, settings, figures)
    on_call = oncall.report(db, period, team, settings)
    if on_call is not None:
        sections += _on_call_tables(on_call)
    return Document(period, team, figures["summary"], changes, figures["noisy"], sections, generated(db), on_call)


def _on_call_tables(part: dict[str, Any]) -> list[Table]:
    """The short on-call section: the figures against the rota, per person, fairness per schedule."""
    figures = part["figures"]
    rows = [[label(name), figures[value], formula(name)] for name, value in (
        ("on_call_hours", "on_call_hours"), ("interruptions_per_shift", "interruptions_per_shift"),
        ("off_rota_pages", "off_rota_pages"), ("disturbed_on_call_nights_share", "disturbed_on_call_nights_share"))]
    people = part["people"]
    fairness = part["fairness"]
    return [
        Table("On call", "figures against the on-call schedules", ["figure", "value", "definition"], rows),
        Table(label("on_call_people"), formula("on_call_people"),
              ["person", "team", "on_call_hours", "pages_per_12h", "off_rota_pages", "disturbed_on_call_nights"],
              _frame_rows(people, ["person_name", "team", "on_call_hours", "interruptions_per_shift",
                                   "off_rota_pages", "disturbed_on_call_nights"])),
        Table(label("fairness"), formula("fairness"), ["schedule", "people", "pages", "pages_gini", "hours_gini"],
              _frame_rows(fairness, ["schedule", "people", "pages", "pages_gini", "hours_gini"])),
    ]


# --- JSON ------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def as_json(doc: Document) -> dict[str, Any]:
    """The report as the machine-readable contract (null where undefined)."""
    result: dict[str, Any] = {"period": doc.period.as_dict(), "team": doc.team}
    result.update({name: _json_value(doc.figures[name]) for name in JSON_FIGURES})
    result["noisy"] = [
        {key: _json_value(row[key]) for key in NOISY_KEYS} for row in doc.noisy.to_dict("records")
    ]
    if doc.on_call is not None:  # METRICS.md: with schedule data
        result.update(_json_value(oncall.report_json(doc.on_call)))
    result["generated"] = _json_value({k: doc.generated[k] for k in ("at", "database", "sources")})
    return result


def render_json(doc: Document) -> str:
    return json.dumps(as_json(doc), indent=2, ensure_ascii=False)


# --- figures as text ---------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """Seconds as '45 s', '12 min', '3.5 h'."""
    if seconds is None:
        return "–"
    if abs(seconds) < 90:
        return f"{seconds:.0f} s"
    if abs(seconds) < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def show(name: str, value: Any) -> str:
    """A headline figure for people: durations, percentages, hours, counts."""
    if value is None:
        return "–"
    if name.endswith("_s"):
        return duration(value)
    if name.endswith(("_share", "_rate", "_ratio", "_coverage")):
        return f"{value:.0%}"
    if name.startswith("hours"):
        return f"{value:.1f} h"
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


def show_change(name: str, change: Any) -> str:
    if change is None:
        return "–"
    if name.endswith(("_share", "_rate", "_ratio", "_coverage")):
        return f"{change * 100:+.0f} pt"
    if name.endswith("_s"):
        return ("+" if change >= 0 else "−") + duration(abs(change))
    return f"{change:+,.1f} h" if name.startswith("hours") else f"{change:+,.0f}"


def cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "–"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def headline_table(doc: Document) -> Table:
    rows = [
        [label(n), show(n, doc.figures.get(n)), show_change(n, doc.changes.get(n)), formula(n)]
        for n in HEADLINE
    ]
    return Table(
        "Headline figures",
        "change against the previous period of the same length",
        ["figure", "value", "change", "definition"],
        rows,
    )


def noisy_table(doc: Document) -> Table:
    """The contract's ranking columns, with each signature's title, diagnosis and suggested fix."""
    columns = ["signature", "title", *NOISY_KEYS[1:], "diagnosis", "suggested_fix"]
    rows = [
        [show(c, plain(row[c])) if c in ("noise_ratio", "ttr_median_s") else cell(row[c]) for c in columns]
        for row in doc.noisy.to_dict("records")
    ]
    return Table(label("noisy"), formula("noisy") + "; diagnosis per METRICS.md", columns, rows)


def _title(doc: Document) -> str:
    return f"Alert hygiene report: {doc.team or 'all teams'}, {doc.period.label()}"


def _footer(doc: Document) -> str:
    g = doc.generated
    syncs = (
        ", ".join(f"{name} (last sync {cell(info['last_sync'])})" for name, info in g["sources"].items())
        or "no sources"
    )
    return f"Generated {cell(g['at'])} UTC by {g['by']} from database {g['database']}; sources: {syncs}."


# --- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(text: Any) -> str:
    """Alert text made inert in Markdown: no tables broken, no HTML, no links or emphasis."""
    value = str(text).replace("\r", " ").replace("\n", " ")
    value = _MD_SPECIAL.sub(r"\\\1", value)
    return value.replace("<", "&lt;").replace(">", "&gt;")


def _md_table(table: Table) -> list[str]:
    lines = [f"## {md_escape(table.title)}", "", f"_{md_escape(table.note)}_", ""]
    if not table.rows:
        return lines + ["None.", ""]
    lines.append("| " + " | ".join(md_escape(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(md_escape(cell(v)) for v in row) + " |" for row in table.rows]
    return lines + [""]


def render_markdown(doc: Document) -> str:
    lines = [f"# {md_escape(_title(doc))}", ""]
    for table in [headline_table(doc), noisy_table(doc), *doc.tables]:
        lines += _md_table(table)
    lines.append(md_escape(_footer(doc)))
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------


def _html_table(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(cell(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    content = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if table.rows
        else "<p>None.</p>"
    )
    return f'<section><h2>{e(table.title)}</h2><p class="note">{e(table.note)}</p>{content}</section>'


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1rem}"
    "td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    ".note{color:#666;font-size:.9em}"
)


def render_html(doc: Document) -> str:
    title = html.escape(_title(doc))
    sections = "".join(_html_table(t) for t in [headline_table(doc), noisy_table(doc), *doc.tables])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1>{sections}<footer>{html.escape(_footer(doc))}</footer></body></html>\n"
    )


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}
