"""Alert hygiene metrics: one named, parameterised SQL definition per figure (METRICS.md)."""

# The public API used by the dashboard, the CLIs and the notebooks: `read(db, names, scope)`
# returns every named figure and list for a scope (a period, and optionally a team, service
# or signature) from one computation of the facts, on one short-lived read connection. The
# registry holds each definition; `describe` renders its description from the settings.

from metrics import response, noise, novelty, reviews, interruptions, cost, advice, oncall, fix_effect  # noqa: F401, I001  (registration order)
from metrics import aggregate, catalog  # noqa: F401
from metrics.fix_effect import fix_board, fix_effects
from metrics.noise import FIXES
from metrics.period import (
    Period, between, elapsed_share, in_progress, previous, sprint_period, sprints_back, week_period, weeks_back,
)
from metrics.read import Figures, Scope, plain, read
from metrics.registry import REGISTRY, Metric, describe, figure_names, label, metric

__all__ = [
    "FIXES",
    "REGISTRY",
    "Figures",
    "Metric",
    "Period",
    "Scope",
    "between",
    "describe",
    "fix_board",
    "elapsed_share",
    "figure_names",
    "fix_effects",
    "in_progress",
    "label",
    "metric",
    "plain",
    "previous",
    "read",
    "sprint_period",
    "sprints_back",
    "week_period",
    "weeks_back",
]
