"""Alert hygiene metrics: one named, parameterised SQL definition per figure (METRICS.md)."""

# The public API used by the dashboard, the report CLI and the notebooks. Every function
# opens one short-lived read connection (store.reading) and runs registry SQL with bound
# parameters; `team=None` means all teams; `settings=None` loads ./alerthygiene.toml or the
# defaults. Periods are half-open [start, end) on created_at, with aware datetimes.

from metrics import response, noise, novelty, reviews, interruptions, cost, advice, oncall, fix_effect  # noqa: F401, I001  (registration order)
from metrics.aggregate import compare, headline_names, per_sprint, per_week, series, series_over, summary, trends
from metrics.catalog import sources, teams
from metrics.interruptions import interruption_list, paging_load, over_ceiling, people_load
from metrics.noise import FIXES, hold_down_replay, noisy
from metrics.novelty import new_signatures, repeat_offenders
from metrics.period import (
    Period, between, elapsed_share, in_progress, previous, sprint_period, sprints_back, week_period, weeks_back,
)
from metrics.response import alert_list
from metrics.registry import REGISTRY, Metric, formula, label, metric
from metrics.reviews import follow_through, retro_decisions, still_firing
from metrics.sprint import sprint_figures
from metrics.cost import fix_planner, hours_lost
from metrics.fix_effect import fix_board, fix_effects

__all__ = [
    "FIXES",
    "REGISTRY",
    "Metric",
    "Period",
    "alert_list",
    "between",
    "compare",
    "fix_board",
    "fix_effects",
    "elapsed_share",
    "fix_planner",
    "follow_through",
    "formula",
    "headline_names",
    "hold_down_replay",
    "hours_lost",
    "in_progress",
    "interruption_list",
    "label",
    "metric",
    "new_signatures",
    "noisy",
    "over_ceiling",
    "paging_load",
    "people_load",
    "per_sprint",
    "per_week",
    "previous",
    "repeat_offenders",
    "retro_decisions",
    "series",
    "series_over",
    "sources",
    "sprint_figures",
    "sprint_period",
    "sprints_back",
    "still_firing",
    "summary",
    "teams",
    "trends",
    "week_period",
    "weeks_back",
]
