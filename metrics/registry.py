"""The registry of named metric definitions: name, label, description, unit, SQL and what each reads."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from settings import Hours, Settings

# Grains say what a metric is and what its SQL is written against:
#   "alert"        a figure: an aggregate expression over the alert facts (one row per alert in scope);
#   "interruption" a figure: an aggregate expression over the interruption facts (one row per page);
#   "derived"      a figure: an expression over other figures' columns;
#   "query"        a table: a complete statement (rankings, lists, series, replays);
#   "column"       a column of a query's table with a definition of its own (read through that query).
GRAINS = ("alert", "interruption", "derived", "query", "column")
FIGURE_GRAINS = ("alert", "interruption", "derived")

# What a metric reads (metrics.read turns each into the buckets its facts are computed for):
#   "period"  the scope's period;       "compare" the period before it and the period;
#   "sprints" / "weeks" the last `count` sprints / ISO weeks up to the period's start;
#   "steps"   the period itself by day (up to 31 days), else by 7-day steps;
#   "trend"   the last TREND_SPRINTS finished sprints up to the period's start;
#   "repeat"  the last thresholds.repeat_offender_sprints sprints up to the period's start;
#   "saving"  the last SAVING_SPRINTS finished sprints before the period's sprint;
#   "tables"  no facts: a statement over the stored tables.
WINDOWS = ("period", "compare", "sprints", "weeks", "steps", "trend", "repeat", "saving", "tables")
TREND_SPRINTS = 6  # METRICS.md, Trends: the slope over the last 6 sprints
SAVING_SPRINTS = 3  # METRICS.md, Cost: savings averaged over the last 3 finished sprints

# Numbers a description may write out because they are part of a definition, not a setting.
FIXED_NUMBERS = ("90th", "p90", "12 h", "× 12", "12-hour", "level-1", "1.5 ×", "≥ 1", "0 evenly shared", "towards 1",
                 "31 days", "7-day")


@dataclass(frozen=True)
class Metric:
    """One metric definition: shown to users as `label`, with its rendered description beside it.

    `description` is one line; `{placeholders}` in it are filled from the settings in force
    (see `terms`), so the text never states a default that the configuration has changed.
    """

    name: str
    label: str
    description: str
    unit: str
    sql: str = ""
    grain: str = "alert"
    window: str = "period"
    options: tuple[str, ...] = ()  # the read options (metrics.read keyword arguments) it takes
    of: str | None = None  # grain "column": the query whose table holds it
    stages: tuple[str, ...] = ()  # registered stage sets its SQL reads (see `Stages`)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"metric name {self.name!r} must be an identifier")
        if self.grain not in GRAINS:
            raise ValueError(f"metric {self.name}: grain must be one of {GRAINS}")
        if self.window not in WINDOWS:
            raise ValueError(f"metric {self.name}: window must be one of {WINDOWS}")
        if not self.description.strip() or "\n" in self.description.strip():
            raise ValueError(f"metric {self.name}: the description must be one non-empty line")
        unknown = set(placeholders(self.description)) - set(TERMS)
        if unknown:
            raise ValueError(f"metric {self.name}: unknown placeholders {sorted(unknown)}")
        if set(self.options) - set(OPTIONS):
            raise ValueError(f"metric {self.name}: undeclared options {sorted(set(self.options) - set(OPTIONS))}")
        if set(self.stages) - set(STAGES):
            raise ValueError(f"metric {self.name}: unknown stage sets {sorted(set(self.stages) - set(STAGES))}")
        if (self.grain == "column") != bool(self.of):
            raise ValueError(f"metric {self.name}: a column names the query it belongs to, nothing else does")
        if self.grain != "column" and not self.sql.strip():
            raise ValueError(f"metric {self.name}: no SQL")

    @property
    def is_figure(self) -> bool:
        return self.grain in FIGURE_GRAINS


REGISTRY: dict[str, Metric] = {}


@dataclass(frozen=True)
class Stages:
    """Stages computed after the facts, once per window, for the metrics that read them (the on-call
    time cut by bucket, say): `document` holds stages `name AS (SELECT ...)`, each reading the facts
    and the stages above it; `values` adds the named parameters that depend on what a read asks for."""

    name: str
    document: str
    values: Callable[[list[Metric]], dict[str, Any]] | None = None


STAGES: dict[str, Stages] = {}


def stages(stage_set: Stages) -> Stages:
    """Register a stage set; a name is registered once."""
    if stage_set.name in STAGES:
        raise ValueError(f"stage set {stage_set.name} is registered twice")
    STAGES[stage_set.name] = stage_set
    return stage_set

# Read options (metrics.read keyword arguments), each with its default; None: the read works it
# out from the settings or the scope (see metrics.read.option_values).
OPTIONS: dict[str, Any] = {
    "count": 12,  # per_sprint / per_week: how many sprints or weeks
    "hold_down_s": None,  # hold_down_replay: the hold-down H in seconds (default: the setting)
    "limit": None,  # lists: at most this many rows (slowest: 20, quarantined: 500; else all)
    "offset": 0,  # alert_list: rows to skip, for paging
    "as_of": None,  # the moment figures are judged at (default now; follow_through: never after the period)
}
# Named SQL parameters worked out from the settings by the modules that define them.
PARAMETERS: list[Callable[[Settings], dict[str, Any]]] = []


def option(name: str, default: Any) -> None:
    """Declare a read option that metrics may take."""
    if name in OPTIONS and OPTIONS[name] != default:
        raise ValueError(f"read option {name} is declared twice with different defaults")
    OPTIONS[name] = default


def parameters(provider: Callable[[Settings], dict[str, Any]]) -> Callable[[Settings], dict[str, Any]]:
    """Add named SQL parameters worked out from the settings (a decorator)."""
    PARAMETERS.append(provider)
    return provider


def term(name: str, render: Callable[[Settings, Hours], str]) -> None:
    """Add a placeholder that descriptions may use, rendered from the settings."""
    TERMS[name] = render


def register(metric: Metric) -> Metric:
    """Add a metric; a name is registered once."""
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name} is registered twice")
    REGISTRY[metric.name] = metric
    return metric


def metric(name: str) -> Metric:
    """The definition named `name` (KeyError listing the known names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def label(name: str) -> str:
    """The short human name of a figure."""
    return metric(name).label


def of_grain(grain: str) -> list[Metric]:
    """Registered metrics of one grain, in registration order."""
    return [m for m in REGISTRY.values() if m.grain == grain]


def figure_names() -> list[str]:
    """Every figure (one value per scope), in the order the aggregate statement yields them."""
    return [m.name for grain in FIGURE_GRAINS for m in of_grain(grain)]


# --- descriptions rendered from the settings in force ------------------------------------------


def _clock(value) -> str:
    return value.strftime("%H:%M")


def _window(start, end) -> str:
    return f"{_clock(start)}–{_clock(end)}"


def _minutes(value: float) -> str:
    return f"{value:g} min"


def _duration(seconds: float) -> str:
    """'4 h', '2.5 h', '90 min', '45 s': the largest unit that states it exactly."""
    if seconds >= 3600 and (seconds * 10) % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _days(hours: Hours) -> str:
    from settings import WEEKDAYS

    days = sorted(hours.working_days)
    if days and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAYS[days[0]]}–{WEEKDAYS[days[-1]]}"
    return ", ".join(WEEKDAYS[d] for d in days) or "no day"


# Placeholder → how it is worked out from (settings, hours of the scope's team).
TERMS: dict[str, Any] = {
    "transient_s": lambda s, h: f"{s.thresholds.transient_s:g} s",
    "flap_s": lambda s, h: f"{s.thresholds.flap_s:g} s",
    "grouping_s": lambda s, h: f"{s.thresholds.grouping_window_s:g} s",
    "lookback_days": lambda s, h: f"{s.thresholds.novelty_lookback_days:g} days",
    "hold_down": lambda s, h: f"{s.thresholds.hold_down_s:g} s",
    "repeat_sprints": lambda s, h: f"{s.thresholds.repeat_offender_sprints:g}",
    "ack_cap": lambda s, h: _duration(s.thresholds.ack_to_resolve_cap_s),
    "ceiling_shift": lambda s, h: f"{s.thresholds.paging_ceiling_per_shift:g}",
    "ceiling_day": lambda s, h: f"{s.thresholds.paging_ceiling_per_shift * 2:g}",
    "ceiling_week": lambda s, h: f"{s.thresholds.paging_ceiling_per_shift * 14:g}",
    "cost_business": lambda s, h: _minutes(s.cost.business_minutes),
    "cost_off": lambda s, h: _minutes(s.cost.off_minutes),
    "cost_sleep": lambda s, h: _minutes(s.cost.sleep_minutes),
    "sleep_hours": lambda s, h: _window(h.sleep_start, h.sleep_end),
    "business_hours": lambda s, h: _window(h.business_start, h.business_end),
    "working_days": lambda s, h: _days(h),
    "sprint_days": lambda s, h: f"{s.sprint_length_days:g} days",
    "trend_sprints": lambda s, h: f"{TREND_SPRINTS}",
    "saving_sprints": lambda s, h: f"{SAVING_SPRINTS}",
}


def placeholders(text: str) -> list[str]:
    """The `{names}` in a description."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def describe(name: str, settings: Settings, team: str | None = None) -> str:
    """The description of `name` with every threshold, window and cost as `settings` set them.

    Hours are the team's own when `team` has them; over all teams, the default hours, with a
    note when some team keeps hours of its own.
    """
    definition = metric(name)
    hours = settings.team_hours(team) if team else settings.hours
    text = definition.description.format_map({k: f(settings, hours) for k, f in TERMS.items()})
    uses_hours = {"sleep_hours", "business_hours", "working_days"} & set(placeholders(definition.description))
    if uses_hours and team is None and any(t.hours and t.hours != settings.hours for t in settings.teams.values()):
        text += " (or the team's own hours where it sets them)"
    return text


_NUMBER = re.compile(r"\d")


def stray_numbers(description: str) -> list[str]:
    """Numbers written into a description template rather than taken from the settings."""
    text = string.Formatter().vformat(description, (), {name: "" for name in placeholders(description)})
    for fixed in FIXED_NUMBERS:
        text = text.replace(fixed, "")
    return [word for word in text.split() if _NUMBER.search(word)]
