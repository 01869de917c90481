"""Compose a sprint's digest from the report's figures, the retro's verdicts and the fixes' effects."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import metrics
from metrics import report
from metrics.fix_effect import effect_text, fix_effects, how_fixed, latest_per_signature
from metrics.period import Period
from metrics.registry import formula, label
from outbound.digest import Digest, Figure, Item, dashboard_link
from settings import Settings

# The figures a team steers by, as the report's headline leads with them.
HEADLINE = ("alerts", "noise_ratio", "wake_ups", "disturbed_nights", "tta_median_s", "ttr_median_s",
            "actionable_rate", "hours_lost")
SHORT_LABELS = {"tta_median_s": "MTTA (median)", "ttr_median_s": "MTTR (median)"}
PAGES = {"Sprint retro": "retro", "Noisy alerts": "noisy", "Fix planner": "planner", "Overview": "overview"}


def build(db: str, period: Period, team: str | None, settings: Settings, now: dt.datetime | None = None) -> Digest:
    """The digest of `period` for `team` (None: all teams), as of `now`."""
    now = now or dt.datetime.now(dt.UTC)
    doc = report.build(db, period, team, settings)
    as_of = min(period.end, now)
    base = settings.outcome.dashboard_url
    noisy = doc.noisy.head(settings.outcome.digest_noisy)
    firing = metrics.still_firing(db, as_of, team, settings)
    effects = latest_per_signature(fix_effects(db, as_of, team, settings, since=period.start))
    return Digest(
        title=f"Alert hygiene: {team or 'all teams'}, sprint of {period.start:%d %b %Y}",
        period=period,
        team=team,
        in_progress=now < period.end,
        figures=[_figure(name, doc, team, settings) for name in HEADLINE],
        decisions=_decisions(doc.noisy, period),
        noisy=[_noisy(row, base, team, period) for row in noisy.to_dict("records")],
        still_firing=[_firing(row, base, team, period) for row in firing.to_dict("records")],
        fixes=[_fix(row, base, team, period) for row in effects.to_dict("records")],
        links={name: dashboard_link(base, page, team, period) for name, page in PAGES.items()} if base else {},
        footer=f"Figures as of {as_of:%Y-%m-%d %H:%M} UTC; each is defined in the dashboard.",
    )


def _figure(name: str, doc: report.Document, team: str | None, settings: Settings) -> Figure:
    value, change = doc.figures.get(name), doc.changes.get(name)
    bound = _target(name, team, settings)
    met = None if bound is None or value is None else value <= bound
    return Figure(name, SHORT_LABELS.get(name, label(name)), report.show(name, value),
                  report.show_change(name, change) if change is not None else None,
                  f"≤ {report.show(name, bound)}" if bound is not None else None, met, formula(name))


def _target(name: str, team: str | None, settings: Settings) -> float | None:
    """The team's configured bound on a figure, if it has one."""
    if team is None:
        return None
    own = settings.team(team)
    return {"wake_ups": own.max_wakeups_per_sprint, "noise_ratio": own.max_noise_ratio}.get(name)


def _decisions(ranking: pd.DataFrame, period: Period) -> list[Item]:
    """Verdicts in force on the sprint's signatures that were given from the sprint's start on."""
    items = []
    for row in ranking.to_dict("records"):
        at = row.get("verdict_at")
        if not row.get("verdict") or at is None or pd.isna(at) or at < period.start:
            continue
        line = row["verdict"] + (f": {row['verdict_note']}" if _given(row.get("verdict_note")) else "")
        if _given(row.get("verdict_reviewer")):
            line += f" ({row['verdict_reviewer']})"
        items.append(Item(row["signature"], row.get("title") or row["signature"], line, verdict=row["verdict"]))
    return items


def _noisy(row: dict, base: str | None, team: str | None, period: Period) -> Item:
    parts = [f"{int(row['alerts'])} alerts", f"{report.show('noise_ratio', _plain(row['noise_ratio']))} noise"]
    if _given(row.get("diagnosis")):
        parts.append(f"{row['diagnosis']}: {row['suggested_fix']}" if _given(row.get("suggested_fix"))
                     else row["diagnosis"])
    return Item(row["signature"], row.get("title") or row["signature"], " · ".join(parts),
                dashboard_link(base, "noisy", team, period, signature=row["signature"]))


def _firing(row: dict, base: str | None, team: str | None, period: Period) -> Item:
    sprints = _plain(row.get("sprints_open"))
    line = (f"reviewed {row['verdict']} on {row['reviewed_at']:%d %b}, {int(row['alerts_since'])} alerts since"
            + (f", open {int(sprints)} sprint{'s' if sprints != 1 else ''}" if sprints else ""))
    return Item(row["signature"], row.get("title") or row["signature"], line,
                dashboard_link(base, "noisy", team, period, signature=row["signature"]))


def _fix(row: dict, base: str | None, team: str | None, period: Period) -> Item:
    return Item(row["signature"], row.get("title") or row["signature"], effect_line(row),
                dashboard_link(base, "noisy", team, period, signature=row["signature"]), row["verdict"])


def effect_line(row: dict) -> str:
    """'×0.20 (95 %: 0.05–0.61), confirmed; review noise on 12 Oct; 14 alerts in 28 days before, 2 in 28 after'."""
    counts = (f"{int(row['alerts_before'])} alerts in {row['days_before']:.0f} days before, "
              f"{int(row['alerts_after'])} in {row['days_after']:.0f} after")
    if _plain(row.get("low")) is None:
        shown = f"{row['verdict']}: {row['days_after']:.0f} of at least 7 days after the fix"
    else:
        shown = f"{effect_text(_plain(row.get('effect')), row['low'], row['high'])}, {row['verdict']}"
    return f"{shown}; {how_fixed(row['fixed_by'], row['detail'])} on {row['fixed_at']:%d %b}; {counts}"


def _plain(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _given(value) -> bool:
    return isinstance(value, str) and bool(value.strip())
