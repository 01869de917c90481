"""Benchmark: the on-call view of the Wake-ups page for 200 people over two years of shifts.

Run by hand from the repository root (not a test):

    python bench/bench_oncall.py                     # 200 people, 2 years, 150,000 alerts
    python bench/bench_oncall.py --people 50 --alerts 20000

It builds a database with DuckDB's range(): 25 teams of eight people, each team a weekly
rotation (level 1, hand-over Monday 09:00 in the team's zone) and its next person as level 2,
stored as the sync stores them (pieces within one UTC day); alerts of those teams paging the
person on call by phone. It then times, as whole reads of the database:
  - the baseline: the existing per-person wake-ups figure (the people_load metric) of one sprint;
  - the on-call computation of the page (metrics.oncall.manager_view: figures, people, fairness,
    shifts over the ceiling of the sprint, the 12-sprint trend, who needs a break), cold and warm;
  - the Wake-ups page itself under Streamlit's AppTest, first run and again (warm: cached reads),
and prints each with its ratio to the baseline and the peak memory of this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import metrics  # noqa: E402
import store  # noqa: E402
from metrics import oncall  # noqa: E402
from settings import Settings  # noqa: E402

END = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # a sprint boundary with the default settings
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
TEAM_SIZE = 8

SHIFTS = """
INSERT INTO on_call_shifts
WITH turns AS (
    SELECT t AS team_no, w AS week, lvl AS level,
        timezone($zones[1 + t % len($zones)], ($first::DATE + to_days((w * 7)::INTEGER))::TIMESTAMP + INTERVAL 9 HOUR) AS starts_at,
        timezone($zones[1 + t % len($zones)], ($first::DATE + to_days(((w + 1) * 7)::INTEGER))::TIMESTAMP + INTERVAL 9 HOUR) AS ends_at,
        'p' || (t * $size + (w + lvl - 1) % $size) AS person_id
    FROM range($teams) AS a(t), range($weeks) AS b(w), range(1, 3) AS c(lvl)
),
days AS (  -- pieces within one UTC day, as ingest.shifts.pieces stores them
    SELECT *, unnest(generate_series(date_trunc('day', starts_at), ends_at - INTERVAL 1 MICROSECOND,
                                     INTERVAL 1 DAY)) AS day
    FROM turns
)
SELECT 'bench', 'S' || team_no, level, person_id, greatest(starts_at, day), least(ends_at, day + INTERVAL 1 DAY),
    'team ' || team_no || ' on call', 'team ' || team_no
FROM days WHERE least(ends_at, day + INTERVAL 1 DAY) > greatest(starts_at, day)
"""

ALERTS = """
INSERT INTO alerts (source, source_id, title, signature, service, team, created_at, acknowledged_at, resolved_at)
SELECT 'bench', 'A' || i, 'Rule ' || (i % 300), 'svc|rule ' || (i % 300), 'svc', 'team ' || (i % $teams),
    $first + to_seconds(i * $span_s / $n), $first + to_seconds(i * $span_s / $n + 120),
    $first + to_seconds(i * $span_s / $n + 900)
FROM range($n) AS t(i)
"""

PAGES = """
INSERT INTO notifications
SELECT a.source, a.source_id, s.person_id, 'phone', a.created_at + INTERVAL 30 SECOND
FROM alerts AS a
JOIN on_call_shifts AS s ON s.team = a.team AND s.escalation_level = 1
 AND a.created_at >= s.starts_at AND a.created_at < s.ends_at
"""


def build(path: str, people: int, alerts: int, days: int) -> None:
    teams = max(1, people // TEAM_SIZE)
    first = END - dt.timedelta(days=days)
    values = {"teams": teams, "size": TEAM_SIZE, "weeks": days // 7 + 1, "first": first, "zones": ZONES}
    with store.writing(path) as con:
        con.execute("INSERT INTO people SELECT 'bench', 'p' || i, 'Person ' || i, 'p' || i || '@example.com', "
                    "$zones[1 + (i // $size) % len($zones)], 'team ' || (i // $size) FROM range($n) AS t(i)",
                    {"n": teams * TEAM_SIZE, "size": TEAM_SIZE, "zones": ZONES})
        con.execute(SHIFTS, values)
        con.execute(ALERTS, {"teams": teams, "first": first, "span_s": days * 86400.0, "n": alerts})
        con.execute(PAGES)
        counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                  for t in ("on_call_shifts", "alerts", "notifications")]
    print(f"built: {teams * TEAM_SIZE} people in {teams} rotas over {days} days; "
          f"{counts[0]:,} shift pieces, {counts[1]:,} alerts, {counts[2]:,} pages")


def timed(label: str, function, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def page_times(path: str, team: str) -> tuple[float, float]:
    """The Wake-ups page under AppTest: first run, then a rerun with the reads cached (warm)."""
    import os

    from streamlit.testing.v1 import AppTest

    from views import filters

    os.environ["ALERTHYGIENE_DB"] = path
    filters.today = lambda: END.date() - dt.timedelta(days=1)
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "dashboard.py"), default_timeout=600)
    app.query_params["team"] = team
    app.run()
    start = time.perf_counter()
    app.switch_page("views/wakeups.py").run()
    first = time.perf_counter() - start
    if app.exception:
        raise SystemExit(f"the page failed: {app.exception[0].value}")
    start = time.perf_counter()
    app.run()
    warm = time.perf_counter() - start
    return first, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=150_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skip-page", action="store_true", help="time the metrics only")
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.duckdb")
        build(path, args.people, args.alerts, args.days)
        sprint = metrics.sprints_back(settings, 2, (END - dt.timedelta(days=1)).date())[0]
        for team in (None, "team 3"):
            who = team or "all teams"
            base = timed("baseline", lambda team=team: metrics.read(path, ["people_load"], metrics.Scope(sprint, team),
                                                                     settings))
            view = timed("view", lambda team=team: oncall.manager_view(path, sprint, team, settings=settings))
            export = timed("export", lambda team=team: oncall.on_call_export_month(path, dt.date(2026, 10, 1), team,
                                                                                 settings))
            print(f"{who}: per-person wake-ups (baseline) {base * 1000:.0f} ms; on-call view {view * 1000:.0f} ms "
                  f"({view / base:.1f}x); month export {export * 1000:.0f} ms ({export / base:.1f}x)")
        if not args.skip_page:
            first, warm = page_times(path, "team 3")
            print(f"Wake-ups page (team 3): first run {first:.2f} s, warm {warm:.2f} s "
                  f"({warm / base:.1f}x the baseline read)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
