"""The demo's figures stay what the snapshot says: an engine change must not move a single one."""

from __future__ import annotations

import json

from tests.figures_snapshot import SNAPSHOT, differences, take


def test_every_figure_of_the_demo_matches_the_snapshot(demo_db):
    diffs = differences(json.loads(SNAPSHOT.read_text(encoding="utf-8")), take(demo_db))
    assert not diffs, (
        "figures changed (if a definition changed on purpose: python -m tests.figures_snapshot --update, "
        "and say why in the commit):\n" + "\n".join(diffs[:40])
    )
