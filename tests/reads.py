"""Reads the hand-computed tests make again and again, each one `metrics.read` call.

The tests were written against one function per list; these keep their worked examples as they
are while every figure they check now comes through the one read API (metrics.read).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd

import metrics
import settings as settings_module
from metrics.period import Period


def _settings(given: settings_module.Settings | None) -> settings_module.Settings:
    return given if given is not None else settings_module.load()


def _on(settings: settings_module.Settings, day: dt.date | None) -> Period:
    """A one-day period on `day` (default today): the windows that count back (sprints, weeks) start there."""
    day = day or dt.datetime.now(dt.UTC).date()
    return metrics.between(day, day + dt.timedelta(days=1), settings.default_time_zone)


def one(db, name: str, scope: metrics.Scope | None, settings=None, **options: Any):
    return metrics.read(db, [name], scope, _settings(settings), **options)[name]


def summary(db, period, team=None, service=None, settings=None) -> dict[str, Any]:
    figures = metrics.read(db, metrics.figure_names(), metrics.Scope(period, team, service), _settings(settings))
    return dict(figures)


def noisy(db, period, team=None, service=None, limit=None, settings=None) -> pd.DataFrame:
    frame = one(db, "noisy", metrics.Scope(period, team, service), settings)
    return frame.head(limit) if limit else frame


def alert_list(db, period, team=None, service=None, settings=None) -> pd.DataFrame:
    return one(db, "alert_list", metrics.Scope(period, team, service), settings)


def interruption_list(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "interruption_list", metrics.Scope(period, team), settings)


def people_load(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "people_load", metrics.Scope(period, team), settings)


def paging_load(db, period, team=None, per="day", settings=None) -> pd.DataFrame:
    if per not in ("day", "week"):
        raise ValueError(f"per must be 'day' or 'week', not {per!r}")
    frame = one(db, "paging_load", metrics.Scope(period, team), settings)
    frame = frame[frame["per"] == per].drop(columns="per").reset_index(drop=True)
    return frame if per == "day" else frame.rename(columns={"day": "week"})


def over_ceiling(db, period, team=None, per="day", settings=None) -> pd.DataFrame:
    load = paging_load(db, period, team, per, settings)
    return load[load["over_ceiling"]].reset_index(drop=True)


def hold_down_replay(db, period, hold_down_s=None, signature=None, team=None, settings=None) -> pd.DataFrame:
    frame = one(db, "hold_down_replay", metrics.Scope(period, team), settings, hold_down_s=hold_down_s)
    return frame[frame["signature"] == signature].reset_index(drop=True) if signature else frame


def new_signatures(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "new_signatures", metrics.Scope(period, team), settings)


def hours_lost(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "hours_lost_by_signature", metrics.Scope(period, team), settings)


def retro_decisions(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "retro_decisions", metrics.Scope(period, team), settings)


def repeat_offenders(db, settings=None, day=None, team=None, sprints=None) -> pd.DataFrame:
    settings = _settings(settings)
    if sprints is not None:
        thresholds = dataclasses.replace(settings.thresholds, repeat_offender_sprints=sprints)
        settings = dataclasses.replace(settings, thresholds=thresholds)
    return one(db, "repeat_offenders", metrics.Scope(_on(settings, day), team), settings)


def fix_planner(db, day=None, team=None, settings=None) -> pd.DataFrame:
    settings = _settings(settings)
    return one(db, "fix_planner", metrics.Scope(_on(settings, day), team), settings)


def follow_through(db, as_of=None, team=None, settings=None) -> pd.DataFrame:
    as_of = as_of or dt.datetime.now(dt.UTC)
    return one(db, "follow_through", metrics.Scope(Period(as_of - dt.timedelta(days=1), as_of), team), settings,
               as_of=as_of)


def still_firing(db, as_of=None, team=None, settings=None) -> pd.DataFrame:
    frame = follow_through(db, as_of, team, settings)
    return frame[frame["status"] == "still firing"].reset_index(drop=True)


def _by_team(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["team"].notna()].reset_index(drop=True)


def per_sprint(db, settings=None, sprints=12, team=None, day=None) -> pd.DataFrame:
    settings = _settings(settings)
    return _by_team(one(db, "per_sprint", metrics.Scope(_on(settings, day), team), settings, count=sprints))


def per_week(db, settings=None, weeks=12, team=None, day=None) -> pd.DataFrame:
    settings = _settings(settings)
    return _by_team(one(db, "per_week", metrics.Scope(_on(settings, day), team), settings, count=weeks))


def trends(db, settings=None, team=None, day=None, names=None, as_of=None) -> pd.DataFrame:
    settings = _settings(settings)
    frame = _by_team(one(db, "trends", metrics.Scope(_on(settings, day), team), settings, as_of=as_of))
    return frame[frame["metric"].isin(names)].reset_index(drop=True) if names else frame


def compare(db, period, team=None, service=None, settings=None, as_of=None) -> pd.DataFrame:
    frame = one(db, "compare", metrics.Scope(period, team, service), settings, as_of=as_of)
    return frame.set_index("metric")


def series_over(db, period, team=None, service=None, settings=None) -> pd.DataFrame:
    return _by_team(one(db, "series_over", metrics.Scope(period, team, service), settings))


def teams(db) -> list[str]:
    return one(db, "teams", None, settings_module.Settings())["team"].tolist()


def sources(db) -> dict[str, dict[str, Any]]:
    frame = one(db, "sources", None, settings_module.Settings())
    return {row["source"]: {k: metrics.plain(v) for k, v in row.items() if k != "source"}
            for row in frame.to_dict("records")}


def on_call_figures(db, period, team=None, settings=None) -> dict[str, Any]:
    from metrics import oncall

    return oncall.figures_of(one(db, "on_call_figures", metrics.Scope(period, team), settings).to_dict("records"))


def on_call_people(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "on_call_people", metrics.Scope(period, team), settings)


def fairness(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "fairness", metrics.Scope(period, team), settings)


def who_needs_a_break(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "who_needs_a_break", metrics.Scope(period, team), settings)


def shifts_over_ceiling(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "shifts_over_ceiling", metrics.Scope(period, team), settings)


def on_call_export(db, period, team=None, settings=None) -> pd.DataFrame:
    return one(db, "on_call_export", metrics.Scope(period, team), settings)


def data_gaps(db) -> list[str]:
    from metrics import catalog

    return catalog.gap_lines(one(db, "data_gaps", None, settings_module.Settings()))


def source_status(db) -> pd.DataFrame:
    """The `sources` table: last sync, the last run's status and error, alerts held, open and quarantined."""
    return one(db, "sources", None, settings_module.Settings())
