"""A short soak: webhook load, syncs, dashboard reads and review writes at once lose, double and show nothing."""

from __future__ import annotations

import pytest

from tests.soak import run_soak

pytestmark = pytest.mark.slow
SECONDS, RATE = 30, 15


def test_everything_at_once_loses_nothing_doubles_nothing_and_shows_no_error(tmp_path):
    result = run_soak(tmp_path / "soak", SECONDS, RATE)
    assert result.user_visible_errors == []
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.requests >= SECONDS * RATE * 0.9  # the load really was steady
    assert result.reads >= 5 and result.reviews >= 15 and result.syncs >= 3
    assert result.alerts >= result.acknowledged_alerts > 0
