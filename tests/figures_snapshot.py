"""Every figure and list of the demo history, in a canonical form: the engine must keep them all.

`tests/test_metrics_snapshot.py` compares the demo's figures with the snapshot committed in
`tests/snapshots/demo_figures.json`. A change to the engine must leave it as it is; a change
to a definition changes it on purpose, and is reviewed as such. To rewrite it:

    python -m tests.figures_snapshot --update
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import metrics
import settings
from tests.conftest import DEMO_END

SNAPSHOT = Path(__file__).parent / "snapshots" / "demo_figures.json"
S = settings.Settings()
PERIOD_LISTS = [
    "noisy", "alert_list", "interruption_list", "people_load", "paging_load", "hold_down_replay",
    "new_signatures", "hours_lost_by_signature", "interruptions_by_hour", "response_spread",
]
WINDOW_LISTS = ["compare", "per_sprint", "per_week", "trends", "repeat_offenders", "fix_planner"]


def scopes(teams: list[str]) -> dict[str, metrics.Scope]:
    """The scopes the pages and the report read: sprints, teams, a service, free dates, all history."""
    sprint = metrics.sprint_period(S, dt.date(2026, 11, 10))  # the last finished sprint
    whole = metrics.between(dt.date(2026, 5, 1), dt.date(2026, 12, 1))
    out = {"sprint": metrics.Scope(sprint), "sprint in progress": metrics.Scope(metrics.sprint_period(S, DEMO_END.date())),
           "whole history": metrics.Scope(whole), "free dates": metrics.Scope(metrics.between(dt.date(2026, 10, 1), dt.date(2026, 10, 15)))}
    out |= {f"sprint, {team}": metrics.Scope(sprint, team) for team in teams}
    out["whole history, payments"] = metrics.Scope(whole, "payments")
    out["sprint, platform, kubernetes"] = metrics.Scope(sprint, "platform", "kubernetes")
    return out


def value(v: Any, digits: int = 9) -> Any:
    """A cell as JSON: numbers to `digits` significant digits, times in UTC ISO form, NaN as null."""
    v = metrics.plain(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 1e15 else float(f"{v:.{digits}g}")
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.astimezone(dt.UTC).isoformat() if v.tzinfo else v.isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [value(x, digits) for x in v]
    return v


def digest(frame: pd.DataFrame) -> dict[str, Any]:
    """Rows, columns and a hash of every cell (7 significant digits: sums of doubles may differ in
    their last bits from run to run): small to keep, exact enough to compare."""
    columns = sorted(frame.columns)
    rows = [[value(x, 7) for x in row] for row in frame[columns].itertuples(index=False)]
    text = json.dumps([columns, rows], sort_keys=True, default=str)
    return {"rows": len(rows), "columns": columns, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def take(db: str) -> dict[str, Any]:
    """Every figure and list for each scope, as the snapshot holds them."""
    teams = metrics.read(db, ["teams"], settings=S)["teams"]["team"].tolist()
    result: dict[str, Any] = {"teams": teams}
    for key, scope in scopes(teams).items():
        names = [*metrics.figure_names(), *PERIOD_LISTS, *WINDOW_LISTS, "follow_through", "slowest"]
        figures = metrics.read(db, names, scope, S, as_of=scope.period.end)
        entry = {"figures": {n: value(figures[n]) for n in metrics.figure_names()}}
        entry |= {n: digest(figures[n]) for n in [*PERIOD_LISTS, *WINDOW_LISTS, "follow_through", "slowest"]}
        result[key] = entry
    return result


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Where two snapshots disagree, one line each."""
    out = []
    for key in sorted(set(expected) | set(got)):
        if key == "teams" or key not in expected or key not in got:
            if expected.get(key) != got.get(key):
                out.append(f"{key}: {expected.get(key)!r} -> {got.get(key)!r}")
            continue
        for name in sorted(set(expected[key]) | set(got[key])):
            old, new = expected[key].get(name), got[key].get(name)
            if name == "figures":
                for figure in sorted(set(old) | set(new)):
                    a, b = old.get(figure), new.get(figure)
                    numbers = isinstance(a, int | float) and isinstance(b, int | float)
                    if not (a == b or (numbers and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))):
                        out.append(f"{key}: {figure} {a!r} -> {b!r}")
            elif old != new:
                out.append(f"{key}: {name} {old and old['rows']} rows -> {new and new['rows']} rows, cells differ")
    return out


def demo(folder: str) -> str:
    """The demo history the tests use (seed 7, 180 days ending DEMO_END)."""
    from ingest.sources.demo import load_demo

    path = str(Path(folder) / "demo.duckdb")
    load_demo(path, S, seed=7, days=180, end=DEMO_END)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite the committed snapshot")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        got = take(demo(folder))
    if args.update:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
        return 0
    diffs = differences(json.loads(SNAPSHOT.read_text(encoding="utf-8")), got)
    print("\n".join(diffs) or "the demo's figures match the snapshot")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
