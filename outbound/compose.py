"""Compose a sprint's digest from the sprint report's document: the same figures, targets and decisions."""

from __future__ import annotations

import datetime as dt

from metrics import display, report
from metrics.fix_effect import effect_text, how_fixed
from metrics.period import Period
from metrics.read import plain
from metrics.registry import describe, label
from metrics.targets import status
from outbound.digest import Digest, Figure, Item, dashboard_link
from settings import Settings

PAGES = {"Sprint retro": "retro", "Noisy alerts": "noisy", "Fix planner": "planner", "Overview": "overview"}
MET = ("met", "on track")


def build(db: str, period: Period, team: str | None, settings: Settings, now: dt.datetime | None = None) -> Digest:
    """The digest of `period` for `team` (None: all teams), as of `now`: the report's document, shortened."""
    now = now or dt.datetime.now(dt.UTC)
    doc = report.build(db, period, team, settings, now)
    base = settings.outcome.dashboard_url
    link = _linker(base, team, period)
    return Digest(
        title=f"Alert hygiene: {team or 'all teams'}, sprint of {display.period(period, doc.time_zone)}",
        period=period,
        team=team,
        in_progress=doc.in_progress,
        figures=[_figure(name, doc) for name in report.HEADLINE],
        decisions=[_decision(row) for row in doc.decisions],
        noisy=[_noisy(row, link) for row in doc.noisy[:settings.outcome.digest_noisy]],
        still_firing=[_firing(row, doc, link) for row in doc.still_firing or []],
        fixes=[_fix(row, doc, link) for row in doc.fixes or []],
        links={name: dashboard_link(base, page, team, period) for name, page in PAGES.items()} if base else {},
        footer=f"Figures as of {display.when(min(now, period.end), doc.time_zone)}; each is defined in the dashboard.",
    )


def _linker(base: str | None, team: str | None, period: Period):
    return lambda signature: dashboard_link(base, "noisy", team, period, signature=signature)


def _title(row: dict) -> str:
    return plain(row.get("title")) or row["signature"]


def _figure(name: str, doc: report.Document) -> Figure:
    target = doc.targets.get(name)
    state = status(target, doc.figures.get(name), doc.elapsed) if target else None
    change = doc.changes.get(name)
    return Figure(name, report.SHORT_LABELS.get(name, label(name)), display.figure(name, doc.figures.get(name)),
                  None if display.missing(change) else display.change(name, change),
                  f"≤ {display.figure(name, target.value)}" if target else None,
                  None if state is None else state in MET, describe(name, doc.settings, doc.team))


def _decision(row: dict) -> Item:
    line = display.verdict(row["verdict"])
    if plain(row.get("note")):
        line += f": {row['note']}"
    line += f" ({plain(row.get('reviewer')) or 'not named'})"
    if plain(row.get("owner")):
        line += f", owner {row['owner']}"
    subject = _title(row) + (" (one alert)" if plain(row.get("alert_source_id")) else "")
    return Item(row["signature"], subject, line, verdict=row["verdict"])


def _noisy(row: dict, link) -> Item:
    parts = [f"{display.count(row['alerts'])} alerts", f"{display.share(row['noise_ratio'])} noise"]
    if plain(row.get("diagnosis")):
        fix = plain(row.get("suggested_fix"))
        parts.append(f"{row['diagnosis']}: {fix}" if fix else row["diagnosis"])
    return Item(row["signature"], _title(row), " · ".join(parts), link(row["signature"]))


def _firing(row: dict, doc: report.Document, link) -> Item:
    sprints = plain(row.get("sprints_open"))
    line = (f"reviewed {display.verdict(row['verdict'])} on {display.day(row['reviewed_at'], doc.time_zone)}, "
            f"{display.count(row['alerts_since'])} alerts since"
            + (f", open {int(sprints)} sprint{'' if sprints == 1 else 's'}" if sprints else ""))
    return Item(row["signature"], _title(row), line, link(row["signature"]))


def _fix(row: dict, doc: report.Document, link) -> Item:
    return Item(row["signature"], _title(row), effect_line(row, doc.time_zone), link(row["signature"]),
                row["verdict"])


def effect_line(row: dict, time_zone: str = "UTC") -> str:
    """'×0.20 (95 %: 0.05–0.61), confirmed; review noise on 12 Oct 2026; 14 alerts in 28 days before, 2 in 28 after'."""
    counts = (f"{int(row['alerts_before'])} alerts in {row['days_before']:.0f} days before, "
              f"{int(row['alerts_after'])} in {row['days_after']:.0f} after")
    if display.missing(row.get("low")):
        shown = f"{row['verdict']}: {row['days_after']:.0f} of at least 7 days after the fix"
    else:
        shown = f"{effect_text(plain(row.get('effect')), row['low'], row['high'])}, {row['verdict']}"
    return f"{shown}; {how_fixed(row['fixed_by'], row['detail'])} on {display.day(row['fixed_at'], time_zone)}; {counts}"
