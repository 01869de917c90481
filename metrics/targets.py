"""Team targets: the bound a team set in the app, else the configuration file's, and whether it was met."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import store
from settings import Settings

# Figure → the configuration key that bounds it (per team, an upper bound each).
CONFIG_KEYS = {
    "wake_ups": "max_wakeups_per_sprint",
    "noise_ratio": "max_noise_ratio",
    "tta_median_s": "max_mtta_s",
}
# Figures that add up over a sprint: a sprint in progress is held to the pro-rata share.
CUMULATIVE = {"wake_ups"}

_SET_IN_APP = "SELECT figure, value, set_by, set_at FROM targets WHERE team = $team"


@dataclass(frozen=True)
class Target:
    """An upper bound on one figure of one team, and where it was set."""

    figure: str
    value: float
    source: str  # "app" or "configuration"
    set_by: str | None = None
    set_at: dt.datetime | None = None


def team_targets(db: str | None, team: str | None, settings: Settings,
                 set_in_app: list[dict[str, Any]] | None = None) -> dict[str, Target]:
    """The team's targets by figure: set in the app, else in the configuration; none for all teams.

    `set_in_app`: the rows of the metric `targets_set` when a read already holds them (else they are read).
    """
    if not team:
        return {}
    found = {}
    own = settings.team(team)
    for figure, key in CONFIG_KEYS.items():
        value = getattr(own, key)
        if value is not None:
            found[figure] = Target(figure, float(value), "configuration")
    if set_in_app is None:
        with store.reading(db) as con:
            con.execute("SET TimeZone = 'UTC'")
            set_in_app = [dict(zip(("figure", "value", "set_by", "set_at"), row, strict=True))
                          for row in con.execute(_SET_IN_APP, {"team": team}).fetchall()]
    for row in set_in_app:
        if row["figure"] in CONFIG_KEYS:
            found[row["figure"]] = Target(row["figure"], float(row["value"]), "app", row["set_by"], row["set_at"])
    return found


def status(target: Target, value: float | None, elapsed: float = 1.0) -> str | None:
    """'met' or 'missed' for a finished period; 'on track' or 'off track' while `elapsed` < 1.

    `elapsed` is the share of the sprint that has passed: a figure that adds up over the
    sprint is held to that share of its target until the sprint ends.
    """
    if value is None:
        return None
    if elapsed >= 1:
        return "met" if value <= target.value else "missed"
    if target.figure in CUMULATIVE and value > target.value:
        return "missed"  # already over the whole sprint's bound
    bound = target.value * elapsed if target.figure in CUMULATIVE else target.value
    return "on track" if value <= bound else "off track"
