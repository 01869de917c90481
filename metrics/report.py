"""The sprint report: one document built from the API, rendered as JSON, Markdown or HTML.

The report reads Arrow results as plain rows and never imports pandas: a command-line report starts
half a second sooner. The document leads with a short headline (each figure with its change and the team's
target), then the retro's decisions (verdicts and notes, action items with owners, reviewed
alerts still firing), then the ten noisiest alerts, and ends with a glossary of the formulas.
"""

from __future__ import annotations

import datetime as dt
import getpass
import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import store
from metrics import display, fix_effect, oncall, reviews
from metrics.period import Period, elapsed_share, in_progress
from metrics.read import Figures, Scope, plain, read
from metrics.registry import describe, label
from metrics.targets import Target, status, team_targets
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
REVIEW_KEYS = ("signature", "verdict", "note", "reviewer", "at")
# The headline of the Markdown/HTML forms: at most eight figures a team steers by.
HEADLINE = (
    "alerts",
    "noise_ratio",
    "wake_ups",
    "disturbed_nights",
    "tta_median_s",
    "ttr_median_s",
    "actionable_rate",
    "hours_lost",
)
NOISIEST = 10
# Short names for the headline, where the registry's label is long.
SHORT_LABELS = {"tta_median_s": "MTTA (median)", "ttr_median_s": "MTTR (median)"}

# What each form reads, in one call: the JSON contract only what it prints.
JSON_NAMES = (*JSON_FIGURES, "noisy", "retro_decisions", "repeat_offenders", "syncs", "targets_set", "fix_effect",
              *oncall.REPORT_NAMES)
DOCUMENT_NAMES = (*JSON_NAMES, *HEADLINE, "compare", "follow_through")


@dataclass
class Table:
    """A titled table of display-ready cells; the renderers escape every cell."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""
    empty: str = "None."


@dataclass
class Document:
    """Everything a report shows, before rendering."""

    period: Period
    team: str | None
    in_progress: bool
    elapsed: float
    figures: dict[str, Any]
    changes: dict[str, Any]
    targets: dict[str, Target]
    noisy: list[dict[str, Any]]  # tables as rows of plain values (Figures.rows)
    decisions: list[dict[str, Any]]
    still_firing: list[dict[str, Any]] | None  # None when the form does not show it
    repeat_offenders: set[str]
    generated: dict[str, Any]
    time_zone: str = "UTC"
    as_of: dt.datetime | None = None  # when the figures were read (a sprint in progress says how far in)
    on_call: dict[str, Any] | None = None  # metrics.oncall.report: None without schedule data
    fixes: list[dict[str, Any]] | None = None  # fix_effect: the fixes judged in the period, latest per signature
    settings: Settings | None = None  # what the figures were computed with: the glossary renders from it


def generated(db: str, figures: Figures) -> dict[str, Any]:
    """Who generated the report, when, from which database, and each source's last sync."""
    sources = {
        row["source"]: {"last_sync": plain(row["last_sync"]), "last_run_status": row["last_status"]}
        for row in figures.rows("syncs")
    }
    return {
        "at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "by": getpass.getuser(),
        "database": store.display_name(db),
        "sources": sources,
    }


def build(db: str, period: Period, team: str | None, settings: Settings, now: dt.datetime | None = None,
          names: tuple[str, ...] = DOCUMENT_NAMES) -> Document:
    """Read every figure and table of the report for a scope in one call (`names`: what its form shows)."""
    now = now or dt.datetime.now(dt.UTC)
    scope = Scope(period, team)
    return document(db, scope, read_report(db, scope, settings, now, names), now)


def read_report(db: str, scope: Scope, settings: Settings, now: dt.datetime, names: tuple[str, ...]) -> Figures:
    """The figures a report of `names` shows (and any other `names`), in one read as of `now`; its
    lists as plain rows (a report never needs Arrow or pandas)."""
    since = {"since": scope.period.start} if "fix_effect" in names else {}
    return read(db, names, scope, settings, as_rows=True, as_of=now, **since)


def _fixes(figures: Figures) -> list[dict[str, Any]] | None:
    """The fixes judged in the period, latest per signature (when the read holds them)."""
    if "fix_effect" not in figures:
        return None
    return fix_effect.latest_rows(fix_effect.judged(figures.rows("fix_effect")))


def document(db: str, scope: Scope, figures: Figures, now: dt.datetime | None = None) -> Document:
    """The report of figures already read (they hold the names its form shows), as of `now`."""
    now = now or dt.datetime.now(dt.UTC)
    period, team, settings = scope.period, scope.team, figures.settings
    changes = {}
    if "compare" in figures:
        changes = {row["metric"]: plain(row["change"]) for row in figures.rows("compare")}
    follow = figures.rows("follow_through") if "follow_through" in figures else None
    return Document(
        period=period,
        team=team,
        in_progress=in_progress(period, now),
        elapsed=elapsed_share(period, now),
        figures={name: figures[name] for name in figures if isinstance(figures.values[name], int | float | None)},
        changes=changes,
        targets=team_targets(db, team, settings, figures.rows("targets_set") if "targets_set" in figures else None),
        noisy=figures.rows("noisy"),
        decisions=figures.rows("retro_decisions"),
        still_firing=[row for row in follow if row["status"] == "still firing"] if follow is not None else None,
        repeat_offenders={row["signature"] for row in figures.rows("repeat_offenders")},
        generated=generated(db, figures),
        time_zone=settings.default_time_zone,
        as_of=now,
        on_call=oncall.report(figures),
        settings=settings,
        fixes=_fixes(figures),
    )


# --- JSON ------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, dt.datetime | dt.date):  # pandas' Timestamp is a datetime too
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _review_json(row: dict[str, Any], doc: Document) -> dict[str, Any]:
    item = {
        "signature": row["signature"],
        "verdict": row["verdict"],
        "note": plain(row["note"]),
        "reviewer": plain(row["reviewer"]),
        "at": _json_value(row["reviewed_at"]),
        "title": plain(row["title"]),
        "alert": plain(row["alert_source_id"]),
        "owner": plain(row["owner"]),
        "action": None if plain(row["alert_source_id"]) else _action(row, doc),
    }
    return item


def as_json(doc: Document) -> dict[str, Any]:
    """The report as the machine-readable contract (null where undefined)."""
    result: dict[str, Any] = {"period": doc.period.as_dict(), "team": doc.team}
    result.update({name: _json_value(doc.figures[name]) for name in JSON_FIGURES})
    result["noisy"] = [
        {key: _json_value(row[key]) for key in NOISY_KEYS} for row in doc.noisy
    ]
    result["reviews"] = [_review_json(row, doc) for row in doc.decisions]
    result["in_progress"] = doc.in_progress
    result["targets"] = {
        name: {"at_most": t.value, "set_in": t.source, "status": _status(doc, name)} for name, t in doc.targets.items()
    }
    if doc.on_call is not None:  # METRICS.md: with schedule data
        result.update(_json_value(oncall.report_json(doc.on_call)))
    if doc.fixes is not None:
        result["fix_effects"] = [
            {key: _json_value(_finite(row[key])) for key in FIX_KEYS} for row in doc.fixes
        ]
    result["generated"] = _json_value({k: doc.generated[k] for k in ("at", "database", "sources")})
    return result


FIX_KEYS = ("signature", "fixed_by", "fixed_at", "alerts_before", "days_before", "alerts_after", "days_after",
            "effect", "low", "high", "verdict")


def _finite(value: Any) -> Any:
    """JSON has no infinity: an interval without an upper end is null."""
    return None if isinstance(value, float) and math.isinf(value) else value


def render_json(doc: Document) -> str:
    return json.dumps(as_json(doc), indent=2, ensure_ascii=False)


# --- the sections, as display-ready tables -------------------------------------------------------


def _label(name: str) -> str:
    return SHORT_LABELS.get(name, label(name))


def _status(doc: Document, name: str) -> str | None:
    target = doc.targets.get(name)
    return status(target, doc.figures.get(name), doc.elapsed) if target else None


def _target_cell(doc: Document, name: str) -> str:
    target = doc.targets.get(name)
    if target is None:
        return display.MISSING
    bound = f"at most {display.figure(name, target.value)}"
    verdict = _status(doc, name)
    return f"{bound}: {verdict}" if verdict else bound


def headline_table(doc: Document) -> Table:
    against = "the sprint before"
    if doc.in_progress:
        against = "the same number of days of the sprint before (this sprint is still in progress)"
    rows = [
        [_label(n), display.figure(n, doc.figures.get(n)), display.change(n, doc.changes.get(n)), _target_cell(doc, n)]
        for n in HEADLINE
    ]
    return Table("Headline", ["Figure", "This period", "Change", "Target"], rows, note=f"Change against {against}.")


def _subject(row: dict[str, Any], doc: Document) -> str:
    title = plain(row["title"]) or row["signature"]
    if plain(row.get("alert_source_id")):
        return f"{title} (one alert, {display.when(row['alert_created_at'], doc.time_zone)})"
    return title


def decisions_table(doc: Document) -> Table:
    rows = [
        [_subject(row, doc), display.verdict(row["verdict"]), plain(row["note"]) or display.MISSING,
         plain(row["reviewer"]) or "not named", display.when(row["reviewed_at"], doc.time_zone)]
        for row in doc.decisions
    ]
    return Table("Verdicts and notes", ["Alert", "Verdict", "Note", "Reviewer", "Given"], rows,
                 empty="No verdicts were given while reviewing this period.")


def _action(row: dict[str, Any], doc: Document) -> str | None:
    fixes = {noisy["signature"]: noisy["suggested_fix"] for noisy in doc.noisy}
    return reviews.action_for(row["verdict"], plain(fixes.get(row["signature"])),
                              row["signature"] in doc.repeat_offenders)


def actions_table(doc: Document) -> Table:
    rows = []
    for row in doc.decisions:
        action = None if plain(row["alert_source_id"]) else _action(row, doc)
        if action:
            rows.append([action, _subject(row, doc), plain(row["owner"]) or "no owner yet"])
    return Table("Action items", ["Action", "Alert", "Owner"], rows, empty="No verdict of this retro calls for an action.")


def still_firing_table(doc: Document) -> Table:
    rows = [
        [plain(row["title"]) or row["signature"], display.verdict(row["verdict"]),
         display.day(row["reviewed_at"], doc.time_zone), display.count(row["alerts_since"]),
         display.count(row["sprints_open"])]
        for row in doc.still_firing or []
    ]
    return Table("Reviewed alerts still firing", ["Alert", "Verdict", "Reviewed", "Alerts since", "Sprints open"],
                 rows, note=display.sentence(describe("follow_through", doc.settings, doc.team)) + ".",
                 empty="Every alert reviewed as noise or needs tuning has gone quiet.")


def fixes_table(doc: Document) -> Table:
    """Did the fix work: each signature's latest fix whose 28 days after reach into the period."""
    rows = [
        [plain(row["title"]) or row["signature"], row["verdict"],
         fix_effect.effect_text(row["effect"], row["low"], row["high"]),
         f"{display.count(row['alerts_before'])} in {row['days_before']:.0f} days",
         f"{display.count(row['alerts_after'])} in {row['days_after']:.0f} days",
         fix_effect.how_fixed(row["fixed_by"], row["detail"]), display.day(row["fixed_at"], doc.time_zone)]
        for row in doc.fixes or []
    ]
    return Table("Did the fix work", ["Alert", "Verdict", "Rate after / before", "Before", "After", "Fix", "Fixed"],
                 rows, note=display.sentence(describe("fix_effect", doc.settings, doc.team)) + ".",
                 empty="No fix made in the 28 days before or during this period.")


def noisy_table(doc: Document) -> Table:
    rows = [
        [str(rank), plain(row["title"]) or row["signature"], display.count(row["alerts"]),
         display.share(row["noise_ratio"]), display.count(row["interruptions"]),
         display.count(row["sleep_interruptions"]), display.duration(row["ttr_median_s"]),
         plain(row["diagnosis"]) or display.MISSING, display.verdict(row["verdict"])]
        for rank, row in enumerate(doc.noisy[:NOISIEST], start=1)
    ]
    total = len(doc.noisy)
    note = f"The {min(NOISIEST, total)} loudest of {total} alerts by count" if total else ""
    return Table("Noisiest alerts", ["#", "Alert", "Alerts", "Noise", "Pages", "Wake-ups", "MTTR", "Diagnosis",
                                     "Verdict"], rows, note=note + ("." if note else ""), empty="No alerts.")


GLOSSARY = (
    *HEADLINE,
    "noise_ratio",
    "interruptions",
    "sleep_interruptions",
    "follow_through",
    "fix_effect",
    "noisy",
)


def glossary(doc: Document | None = None) -> list[tuple[str, str]]:
    """(label, formula) of every figure and column the report shows, once each, rendered from the
    settings the figures were computed with (the defaults without a document)."""
    settings = doc.settings if doc is not None and doc.settings is not None else Settings()
    team = doc.team if doc is not None else None
    seen, entries = set(), []
    extra = {"interruptions": "Pages", "sleep_interruptions": "Wake-ups (per alert)", "noisy": "Noisiest alerts"}
    on_call = (*ON_CALL_FIGURES, "fairness") if doc is not None and doc.on_call is not None else ()
    for name in (*GLOSSARY, *on_call):
        if name not in seen:
            seen.add(name)
            entries.append((extra.get(name, _label(name)), describe(name, settings, team)))
    entries.append(("Diagnosis", "mostly transient, mostly flaps, fires with other alerts, or reviewed noise; "
                                 "each with the fix it usually needs"))
    return entries


def _title(doc: Document) -> str:
    state = display.progress(doc.period, doc.as_of)
    return f"Alert hygiene report: {doc.team or 'all teams'}, {display.period(doc.period, doc.time_zone)}" + (
        f" ({state})" if state else ""
    )


def _footer(doc: Document) -> str:
    g = doc.generated
    syncs = ", ".join(
        f"{name} (last sync {display.when(info['last_sync'])} UTC)" if info["last_sync"] else f"{name} (no sync recorded)"
        for name, info in g["sources"].items()
    ) or "no sources"
    return (f"Generated {display.when(g['at'])} UTC by {g['by']} from database {g['database']}; "
            f"sources: {syncs}.")


def on_call_tables(part: dict[str, Any]) -> list[Table]:
    """The on-call part: the figures against the rota, per person, and fairness per schedule."""
    figures = part["figures"]
    rows = [[label(name), display.figure(name, figures[name])] for name in ON_CALL_FIGURES]
    people = [
        [plain(r["person_name"]) or display.MISSING, plain(r["team"]) or display.MISSING,
         display.hours(r["on_call_hours"]), display.ratio(r["interruptions_per_shift"]),
         display.count(r["off_rota_pages"]), display.count(r["disturbed_on_call_nights"])]
        for r in part["people"]
    ]
    fairness = [
        [str(r["schedule"]), display.count(r["people"]), display.count(r["pages"]), display.ratio(r["pages_gini"]),
         display.ratio(r["hours_gini"])]
        for r in part["fairness"]
    ]
    return [
        Table("On call", ["Figure", "Value"], rows, note="Against the on-call schedules."),
        Table(label("on_call_people"), ["Person", "Team", "On-call hours", "Pages per 12 h on call",
                                        "Off-rota pages", "Disturbed on-call nights"], people),
        Table(label("fairness"), ["Schedule", "People", "Pages", "Gini of pages",
                                  "Gini of off- and sleep-hour on-call hours"], fairness),
    ]


ON_CALL_FIGURES = ("on_call_hours", "interruptions_per_shift", "off_rota_pages", "disturbed_on_call_nights_share")


def sections(doc: Document) -> list[tuple[str, list[Table]]]:
    """The document's parts in reading order: (heading or '', tables)."""
    parts = [
        ("", [headline_table(doc)]),
        ("Decisions", [decisions_table(doc), actions_table(doc), still_firing_table(doc), fixes_table(doc)]),
        ("", [noisy_table(doc)]),
    ]
    if doc.on_call is not None:  # METRICS.md: with schedule data
        parts.append(("", on_call_tables(doc.on_call)))
    return parts


# --- Markdown ----------------------------------------------------------------------------------

# Markdown that pastes cleanly into GitHub, Confluence and Jira: only what could change the
# rendering is escaped. Alert text can never open a link, emphasis, code, a table cell or a tag.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_escape(text: Any) -> str:
    """Text made inert in Markdown: no table broken, no HTML tag, no link, emphasis or code."""
    value = " ".join(str(text).split())
    value = _MD_SPECIAL.sub(r"\\\1", value)
    value = _MD_UNDERSCORE.sub(r"\\_", value)
    return _MD_TAG.sub("&lt;", value)


def _md_table(table: Table, level: str) -> list[str]:
    lines = [f"{level} {md_escape(table.title)}", ""]
    if table.note:
        lines += [md_escape(table.note), ""]
    if not table.rows:
        return lines + [md_escape(table.empty), ""]
    lines.append("| " + " | ".join(md_escape(c) for c in table.columns) + " |")
    lines.append("| " + " | ".join("---" for _ in table.columns) + " |")
    lines += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in table.rows]
    return lines + [""]


def render_markdown(doc: Document) -> str:
    lines = [f"# {md_escape(_title(doc))}", ""]
    for heading, tables in sections(doc):
        if heading:
            lines += [f"## {md_escape(heading)}", ""]
        for table in tables:
            lines += _md_table(table, "###" if heading else "##")
    lines += ["## Glossary", ""]
    lines += [f"- **{md_escape(name)}**: {md_escape(text)}" for name, text in glossary(doc)]
    lines += ["", md_escape(_footer(doc))]
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------


def _html_table(table: Table, level: int) -> str:
    e = html.escape
    note = f'<p class="note">{e(table.note)}</p>' if table.note else ""
    if not table.rows:
        return f"<h{level}>{e(table.title)}</h{level}>{note}<p>{e(table.empty)}</p>"
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in table.rows)
    return (f"<h{level}>{e(table.title)}</h{level}>{note}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# An A4 page with 15 mm margins leaves 180 mm: tables take the page's width and wrap long text.
_STYLE = (
    "@page{size:A4;margin:15mm}"
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:10.5pt;line-height:1.35;"
    "color:#222;max-width:180mm;margin:0 auto;padding:8mm 0}"
    "h1{font-size:16pt;margin:0 0 8pt}h2{font-size:13pt;margin:14pt 0 4pt}h3{font-size:11pt;margin:10pt 0 4pt}"
    "table{border-collapse:collapse;width:100%;table-layout:auto;margin:0 0 6pt}"
    "td,th{border:1px solid #ccc;padding:2pt 4pt;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere;word-break:break-word}"
    "th{background:#f3f3f3}tr{break-inside:avoid}thead{display:table-header-group}"
    ".note{color:#555;font-size:9.5pt;margin:0 0 4pt}dt{font-weight:600}dd{margin:0 0 4pt 0}"
    "footer{color:#555;font-size:9pt;margin-top:12pt}"
    "@media print{body{padding:0}}"
)


def render_html(doc: Document) -> str:
    e = html.escape
    parts = []
    for heading, tables in sections(doc):
        if heading:
            parts.append(f"<h2>{e(heading)}</h2>")
        parts += [_html_table(table, 3 if heading else 2) for table in tables]
    terms = "".join(f"<dt>{e(name)}</dt><dd>{e(text)}</dd>" for name, text in glossary(doc))
    parts.append(f"<h2>Glossary</h2><dl>{terms}</dl>")
    title = e(_title(doc))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1>{''.join(parts)}<footer>{e(_footer(doc))}</footer></body></html>\n"
    )


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}
