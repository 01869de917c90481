"""The registry of named metric definitions: name, label, one-line formula, unit and SQL."""

from __future__ import annotations

from dataclasses import dataclass

# Grains say what a metric's SQL is written against:
#   "alert"        an aggregate expression over the alert facts (one row per alert in scope);
#   "interruption" an aggregate expression over the interruption facts (one row per page);
#   "derived"      an expression over other alert/interruption metrics' columns;
#   "query"        a complete statement run on its own (rankings, lists, replays);
#   "signature"    an expression over one signature's columns in such a statement (the fix
#                  planner's noise hours, saving and payback), never a headline figure.
GRAINS = ("alert", "interruption", "derived", "query", "signature")


@dataclass(frozen=True)
class Metric:
    """One metric definition: shown to users as `label` with `formula` beside the number."""

    name: str
    label: str
    formula: str
    unit: str
    sql: str
    grain: str = "alert"

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"metric name {self.name!r} must be an identifier")
        if self.grain not in GRAINS:
            raise ValueError(f"metric {self.name}: grain must be one of {GRAINS}")
        if not self.formula.strip() or "\n" in self.formula.strip():
            raise ValueError(f"metric {self.name}: the formula must be one non-empty line")


REGISTRY: dict[str, Metric] = {}


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


def formula(name: str) -> str:
    """The one-line definition shown beside a figure."""
    return metric(name).formula


def label(name: str) -> str:
    """The short human name of a figure."""
    return metric(name).label


def of_grain(grain: str) -> list[Metric]:
    """Registered metrics of one grain, in registration order."""
    return [m for m in REGISTRY.values() if m.grain == grain]
