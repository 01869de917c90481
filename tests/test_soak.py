"""A short soak: webhook load, a sync loop, dashboard clicks, a report loop, a CSV import and review saves at
once lose, double and show nothing, no writer starves, and a person's save never waits for a long read."""

from __future__ import annotations

import pytest

from store.pending import WAIT_S
from tests.soak import SoakPlan, percentile, run_soak

pytestmark = pytest.mark.slow
PLAN = SoakPlan(seconds=20, rate=15, csv_rows=19_000, think_s=(0.5, 2.0))


def test_everything_at_once_loses_nothing_doubles_nothing_and_shows_no_error(tmp_path):
    result = run_soak(tmp_path / "soak", PLAN)
    print("\n".join(result.lines()))
    assert result.user_visible_errors == []
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.kept_left == 0  # every save kept aside while the file was busy reached its table
    assert not list((tmp_path / "soak").glob("*.staging/*"))  # the import's staged rows are gone
    assert result.requests >= PLAN.seconds * PLAN.rate * 0.9  # the load really was steady
    assert len(result.read_s) >= 4 and result.reviews >= 5 and result.syncs >= 1 and result.reports >= 2
    assert result.alerts >= result.acknowledged_alerts + PLAN.csv_rows
    # A save waits WAIT_S at most, then is kept aside; the bound leaves room for a busy machine. Saves that
    # waited for the reports and the import took 4-7 s at p95. The import's bound is loose for the same
    # reason: the retry design timed out (30 s) on it. bench/bench_soak.py measures the targets.
    assert percentile(result.review_s, 95) < WAIT_S + 1.5
    assert result.import_ratio < 5.0
