"""The figures of one sprint report, computed together on one connection."""

from __future__ import annotations

from typing import Any

from metrics import aggregate, facts, interruptions, noise, novelty
from metrics.period import Period
from settings import Settings


def sprint_figures(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """summary (dict), noisy, people and new_signatures (DataFrames) sharing one fact computation."""
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team, service, by_team=False, mostly=noise.MOSTLY)
    statements = {
        "summary": aggregate.series_sql(),
        "noisy": noise.NOISY.sql,
        "people": interruptions.PEOPLE_LOAD.sql,
        "new_signatures": novelty.NEW_SIGNATURES.sql,
    }
    frames = facts.query(db, settings, period, statements, values)
    return {"summary": aggregate.first_row(frames.pop("summary")), **frames}
