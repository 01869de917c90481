"""Benchmark: fix effects and the chat digest on a large history, against the sprint report itself.

Run by hand from the repository root (not a test):

    python bench/bench_outcome.py                       # 1,000,000 alerts over a year, 1,000 fixes
    python bench/bench_outcome.py --alerts 200000 --fixes 200

It builds the synthetic history of bench_report.py, adds fixes (reviews noise / needs-tuning
and fixes marked done at random times), then times, best of N:
- fix effects of every fix (the fix_effect metric) against the sprint's headline figures
  (metrics.summary) measured in the same run, and checks the counts against pandas;
- the digest of one team's sprint (report + still firing + fix effects, rendered for Slack and
  Teams) against the sprint report of the same team and sprint.
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import END, build  # noqa: E402

import metrics  # noqa: E402
import store  # noqa: E402
from metrics import report  # noqa: E402
from metrics.fix_effect import fix_effects  # noqa: E402
from outbound import compose, slack, teams  # noqa: E402
from settings import Settings  # noqa: E402


def add_fixes(db: str, count: int, days: float) -> None:
    """`count` fixes on signatures of the synthetic history, spread over its last `days` days."""
    rng = random.Random(7)
    rows = []
    for _ in range(count):
        sig = int(rng.random() ** 2.5 * 2000)
        rows.append({"signature": f"svc{sig % 97}|alert #{sig}",
                     "done_at": END - dt.timedelta(days=rng.uniform(0, days)), "fix_kind": "alert",
                     "done_by": "bench", "note": None})
    reviews = [{"review_id": f"F{k}", "signature": row["signature"], "verdict": "noise",
                "reviewed_at": row["done_at"] - dt.timedelta(hours=1)} for k, row in enumerate(rows[: count // 2])]
    with store.writing(db) as con:
        store.upsert(con, "fixes_done", pd.DataFrame(rows[count // 2:]))
        store.upsert(con, "reviews", pd.DataFrame(reviews))


def pandas_counts(db: str, effects: pd.DataFrame) -> list[str]:
    """The alerts before and after each fix, counted again with pandas: the problems found."""
    with store.reading(db) as con:
        alerts = con.execute("SELECT signature, created_at FROM alerts").df()
    alerts["created_at"] = pd.to_datetime(alerts["created_at"], utc=True).dt.tz_convert(None)  # naive UTC
    times = {sig: group["created_at"].sort_values().to_numpy() for sig, group in alerts.groupby("signature")}
    problems = []
    for row in effects.itertuples(index=False):
        stamps = times.get(row.signature)
        fixed = pd.Timestamp(row.fixed_at).tz_convert(None).to_datetime64()
        before_start = fixed - pd.Timedelta(days=row.days_before).to_timedelta64()
        after_end = fixed + pd.Timedelta(days=row.days_after).to_timedelta64()
        before = 0 if stamps is None else int(((stamps >= before_start) & (stamps < fixed)).sum())
        after = 0 if stamps is None else int(((stamps >= fixed) & (stamps < after_end)).sum())
        if (before, after) != (row.alerts_before, row.alerts_after):
            problems.append(f"{row.signature} at {row.fixed_at}: {before}/{after} vs {row.alerts_before}/"
                            f"{row.alerts_after}")
    return problems


def best_of(runs: int, func, *args, **kwargs):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return min(times), result


def digest(db: str, period, team: str, config: Settings) -> tuple[dict, dict]:
    made = compose.build(db, period, team, config, now=END)
    return slack.message(made, buttons=True), teams.message(made)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--fixes", type=int, default=1000)
    parser.add_argument("--team", default="team3")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    config = Settings()
    period = metrics.sprint_period(config, (END - dt.timedelta(days=1)).date())
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "outcome.duckdb")
        build(db, args.alerts, args.days)
        add_fixes(db, args.fixes, args.days)
        summary_s, _ = best_of(args.runs, metrics.summary, db, period, args.team, settings=config)
        effects_s, effects = best_of(args.runs, fix_effects, db, END, None, config)
        report_s, _ = best_of(args.runs, report.build, db, period, args.team, config)
        digest_s, (slack_body, teams_body) = best_of(args.runs, digest, db, period, args.team, config)
        problems = pandas_counts(db, effects)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"alerts: {args.alerts:,} over {args.days:.0f} days; fixes: {len(effects):,} judged")
    print(f"fix effects of every fix: {effects_s * 1000:.0f} ms = {effects_s / summary_s:.2f}x the sprint's headline "
          f"figures ({summary_s * 1000:.0f} ms)")
    print(f"digest of {args.team}'s sprint (Slack + Teams): {digest_s * 1000:.0f} ms = {digest_s / report_s:.2f}x "
          f"the sprint report ({report_s * 1000:.0f} ms); {len(slack_body['blocks'])} Slack blocks, "
          f"{teams.size(teams_body):,} bytes for Teams")
    print("counts agree with pandas: " + ("yes" if not problems else f"NO ({len(problems)}): {problems[:3]}"))
    print(f"peak memory: {peak_mb:.0f} MB")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
