"""Benchmark: the report as whole processes, against pandas on Parquet and one DuckDB query.

Run by hand from the repository root (not a test), one benchmark at a time:

    python bench/bench_report.py                             # 1M and 3M alerts, median of 3 runs
    python bench/bench_report.py --sizes 10000000 --runs 1   # 10M (builds a 10M database first)
    python bench/bench_report.py --sizes 1000000 --order shuffled
    python bench/bench_report.py --sizes 1000000 --cases sprint --order reordered

For each size it builds a synthetic history with DuckDB's range() (`--days-per-million` days per
million alerts, so every size has the same density and a sprint holds the same alerts: the
sprint case at 10M is the 1M case with a ten times longer history). `--order shuffled` stores the
rows in random order, as a backfill merged over a live history would; `--order reordered` stores
them so and times `python -m ingest reorder` on them (wall time and peak) before measuring. It
exports the rows the figures need to Parquet, then times, each as a whole process (wall time and
the process's own peak memory):

- ours: `python -m metrics report --format json`, the whole history of all teams, and one
  team's last finished sprint;
- pandas: a process that reads the Parquet files and computes the summary figures, the noisy
  ranking and interruptions per person for the same scope (the figures of the JSON report that
  a plain pandas program can reproduce; its figures are checked against ours);
- query: one DuckDB query over the same database computing the summary counts, response-time
  statistics and the per-signature ranking (GROUPING SETS): how fast the engine reads those rows
  at all, a floor rather than the same definitions.

It prints one table: each case's time and peak, and ours as a ratio of each baseline.
Targets (issue 14): whole history within 1x pandas and < 1 GB at 1M, within 2x pandas and
< 4 GB at 10M; the sprint <= 1 s at 10M, and 10x longer history < 1.3x the time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from settings import Settings  # noqa: E402

# metrics and store are imported where they are used: the pandas process computes its figures
# without them, as a plain pandas program would.

log = logging.getLogger("bench")
END = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)  # a sprint boundary with the default settings
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", None]
PAGING = ("phone", "sms", "push")
TEAM = "team3"

GENERATE = """
INSERT INTO alerts (source, source_id, title, signature, service, team, created_at, acknowledged_at,
                    resolved_at, acknowledged_by, auto_resolved, runbook_url)
WITH base AS (
    SELECT i,
        floor(pow(random(), 2.5) * 2000)::INTEGER AS sig,
        random() AS u_ack, random() AS u_open, random() AS u_src
    FROM range($n) AS t(i)
),
shaped AS (
    SELECT *,
        $end - to_seconds(($n - i) * $span_s / $n) AS created_at,
        CASE WHEN u_ack < 0.6 THEN floor(u_ack * 1000)::INTEGER END AS ack_s,
        CASE WHEN u_open < 0.97 THEN floor(pow(u_open, 3) * 14400)::INTEGER END AS open_s
    FROM base
)
SELECT CASE WHEN u_src < 0.7 THEN 'pagerduty' ELSE 'alertmanager' END,
    'A' || i,
    'Service ' || (sig % 97) || ' alert ' || sig,
    'svc' || (sig % 97) || '|alert #' || sig,
    'svc' || (sig % 97),
    'team' || (sig % 20),
    created_at,
    CASE WHEN ack_s IS NOT NULL AND (open_s IS NULL OR ack_s <= open_s)
         THEN created_at + to_seconds(ack_s) END,
    created_at + to_seconds(open_s),
    CASE WHEN ack_s IS NOT NULL AND (open_s IS NULL OR ack_s <= open_s) THEN 'p' || (sig % 100) END,
    CASE WHEN u_src >= 0.7 THEN true END,
    CASE WHEN sig % 7 = 0 THEN 'https://runbooks.example/' || sig END
FROM shaped
ORDER BY CASE WHEN $shuffled THEN hash(i) ELSE i END
"""

NOTIFY = """
INSERT INTO notifications (source, alert_source_id, person_id, channel, notified_at)
SELECT DISTINCT source, source_id, 'p' || ((hash(source_id) + k) % 100),
    ['phone', 'sms', 'push', 'email', 'chat'][1 + (hash(source_id || k) % 5)::INTEGER],
    created_at + to_seconds(30 * k)
FROM alerts, range(1 + (hash(source_id) % 2)::INTEGER) AS r(k)
WHERE source = 'pagerduty'
"""


def build(path: str, alerts: int, span_days: float, shuffled: bool = False) -> None:
    """A synthetic history of `alerts` alerts over `span_days` days ending at END (stored in time
    order, or shuffled)."""
    import store

    started = time.perf_counter()
    with store.writing(path) as con:
        con.execute("SELECT setseed(0.42)")
        con.execute(GENERATE, {"n": alerts, "end": END, "span_s": span_days * 86400, "shuffled": shuffled})
        con.execute(NOTIFY)
        people = pd.DataFrame(
            {
                "source": "pagerduty",
                "person_id": [f"p{k}" for k in range(100)],
                "name": [f"Person {k}" for k in range(100)],
                "time_zone": [ZONES[k % len(ZONES)] for k in range(100)],
                "team": [f"team{k % 20}" for k in range(100)],
            }
        )
        store.upsert(con, "people", people)
        reviews = pd.DataFrame(
            {
                "review_id": [f"R{k}" for k in range(300)],
                "signature": [f"svc{(k * 7) % 97}|alert #{k * 7}" for k in range(300)],
                "verdict": [["actionable", "noise", "needs-tuning", "duplicate"][k % 4] for k in range(300)],
                "reviewed_at": [END - dt.timedelta(days=20 + k % 30) for k in range(300)],
            }
        )
        store.upsert(con, "reviews", reviews)
    log.info(
        "built %s alerts over %.0f days in %.1fs", f"{alerts:,}", span_days, time.perf_counter() - started
    )


EXPORTS = {  # what the pandas baseline reads
    "alerts": "SELECT source, source_id, signature, team, created_at, acknowledged_at, resolved_at, "
    "acknowledged_by, auto_resolved FROM alerts",
    "notifications": "SELECT * FROM notifications",
    "people": "SELECT source, person_id, name, time_zone FROM people",
    "reviews": "SELECT * FROM reviews",
}


def export(db: str, folder: Path) -> None:
    """The rows the pandas baseline needs, as Parquet files in `folder`."""
    import store

    folder.mkdir(exist_ok=True)
    with store.reading(db) as con:
        for name, query in EXPORTS.items():
            con.execute(f"COPY ({query}) TO '{folder / name}.parquet' (FORMAT parquet)")  # noqa: S608 (our own names)


# --- the same figures with pandas ------------------------------------------------------------


def load(folder: Path) -> dict[str, pd.DataFrame]:
    """Every row the report needs, in memory, from the Parquet files."""
    data = {name: pd.read_parquet(folder / f"{name}.parquet") for name in EXPORTS}
    for frame in data.values():  # Parquet keeps the instants; the figures are read in UTC
        for column in frame.select_dtypes("datetimetz").columns:
            frame[column] = frame[column].dt.tz_convert("UTC")
    return data


def _flags(scope: pd.DataFrame, alerts: pd.DataFrame, period, t) -> pd.DataFrame:
    ttr = (scope["resolved_at"] - scope["created_at"]).dt.total_seconds()
    scope = scope.assign(
        tta_s=(scope["acknowledged_at"] - scope["created_at"]).dt.total_seconds(),
        ttr_s=ttr,
        unack=scope["resolved_at"].notna() & scope["acknowledged_at"].isna(),
    )
    scope["transient"] = scope["unack"] & (ttr <= t.transient_s)
    flap = pd.Timedelta(seconds=t.flap_s)
    res = alerts[(alerts["resolved_at"] >= period.start - flap) & (alerts["resolved_at"] < period.end)]
    res = res[["signature", "created_at", "resolved_at"]].rename(columns={"created_at": "prev_created"})
    ordered = scope.sort_values("created_at")
    latest = pd.merge_asof(
        ordered,
        res.sort_values("resolved_at"),
        left_on="created_at",
        right_on="resolved_at",
        by="signature",
        allow_exact_matches=False,
        suffixes=("", "_prev"),
    )
    latest["recent"] = (latest["created_at"] - latest["resolved_at_prev"]) < flap
    touch = scope.merge(
        res,
        left_on=["signature", "created_at"],
        right_on=["signature", "resolved_at"],
        suffixes=("", "_prev"),
    )
    touching = set(touch.loc[touch["prev_created"] < touch["created_at"], "source_id"])
    recent = set(latest.loc[latest["recent"], "source_id"])
    scope["flap"] = scope["source_id"].isin(recent | touching)
    scope["noise"] = scope["unack"] | scope["flap"] | scope["transient"]
    return scope


def _interruptions(scope, data, config: Settings) -> pd.DataFrame:
    notes = data["notifications"].merge(
        scope[["source", "source_id"]],
        left_on=["source", "alert_source_id"],
        right_on=["source", "source_id"],
    )
    paged = (
        notes[notes["channel"].isin(PAGING)]
        .groupby(["source", "source_id", "person_id"], as_index=False)["notified_at"]
        .min()
        .rename(columns={"notified_at": "paged_at"})
    )
    notified = set(zip(notes["source"], notes["source_id"], strict=True))
    quiet = scope[[k not in notified for k in zip(scope["source"], scope["source_id"], strict=True)]]
    fallback = pd.DataFrame(
        {
            "source": quiet["source"],
            "source_id": quiet["source_id"],
            "person_id": quiet["acknowledged_by"].fillna("unknown"),
            "paged_at": quiet["created_at"],
        }
    )
    pages = pd.concat([paged, fallback], ignore_index=True)
    pages = pages.merge(scope[["source", "source_id", "signature"]], on=["source", "source_id"])
    pages = pages.merge(data["people"], on=["source", "person_id"], how="left")
    pages["tz"] = pages["time_zone"].where(pages["time_zone"].notna(), config.default_time_zone)
    local = pd.Series(index=pages.index, dtype="datetime64[us]")
    for tz, group in pages.groupby("tz"):
        local[group.index] = group["paged_at"].dt.tz_convert(tz).dt.tz_localize(None)
    pages["local"] = local
    clock = pages["local"].dt.hour * 60 + pages["local"].dt.minute
    sleep = (clock >= 22 * 60) | (clock < 8 * 60)
    business = ~sleep & (pages["local"].dt.day_of_week < 5) & (clock >= 8 * 60) & (clock < 18 * 60)
    pages["bucket"] = np.where(sleep, "sleep", np.where(business, "business", "off"))
    pages["night"] = (pages["local"] - pd.Timedelta(hours=12)).dt.date
    return pages


def pandas_report(data: dict[str, pd.DataFrame], period, team: str | None, config: Settings) -> dict:
    """The summary figures, the noisy ranking and interruptions per person of `team` (None: all)."""
    t = config.thresholds
    alerts = data["alerts"]
    chosen = (alerts["created_at"] >= period.start) & (alerts["created_at"] < period.end)
    if team is not None:
        chosen &= alerts["team"] == team
    scope = alerts[chosen]
    scope = _flags(scope.copy(), alerts, period, t)
    first = alerts.groupby("signature")["created_at"].min()
    history = alerts.groupby("source")["created_at"].min()
    enough = scope["source"].map(history) <= period.start - pd.Timedelta(days=t.novelty_lookback_days)
    old = scope["signature"].map(first) < period.start
    is_new = pd.Series(np.where(old, False, np.where(enough, True, None)), index=scope.index)
    reviews = data["reviews"][data["reviews"]["alert_source_id"].isna()].sort_values("reviewed_at")
    in_force = pd.merge_asof(
        scope.sort_values("created_at"),
        reviews[["signature", "reviewed_at", "verdict"]],
        left_on="created_at",
        right_on="reviewed_at",
        by="signature",
    )
    verdict = in_force["verdict"]  # these reviews name no retro period: each holds from when it was given
    pages = _interruptions(scope, data, config)
    sleep = pages[pages["bucket"] == "sleep"]
    n = len(scope)
    summary = {
        "alerts": n,
        "tta_median_s": scope["tta_s"].median(),
        "tta_mean_s": scope["tta_s"].mean(),
        "tta_p90_s": scope["tta_s"].quantile(0.9),
        "ttr_median_s": scope["ttr_s"].median(),
        "ttr_mean_s": scope["ttr_s"].mean(),
        "ttr_p90_s": scope["ttr_s"].quantile(0.9),
        "unacknowledged": int(scope["unack"].sum()),
        "auto_resolved": int(scope["auto_resolved"].fillna(False).astype(bool).sum()),
        "transient": int(scope["transient"].sum()),
        "flaps": int(scope["flap"].sum()),
        "noise_ratio": scope["noise"].mean(),
        "interruptions": len(pages),
        "business_hours_interruptions": int((pages["bucket"] == "business").sum()),
        "off_hours_interruptions": int((pages["bucket"] == "off").sum()),
        "sleep_interruptions": len(sleep),
        "disturbed_nights": len(sleep[["source", "person_id", "night"]].drop_duplicates()),
        "new_signature_share": None if is_new.isna().any() else float(is_new.astype(bool).mean()),
        "actionable_rate": (verdict == "actionable").sum() / verdict.notna().sum()
        if verdict.notna().any()
        else None,
    }
    per_sig = scope.groupby("signature").agg(
        alerts=("source_id", "size"),
        transient=("transient", "sum"),
        flaps=("flap", "sum"),
        unacknowledged=("unack", "sum"),
        noise_ratio=("noise", "mean"),
        ttr_median_s=("ttr_s", "median"),
    )
    per_sig["interruptions"] = pages.groupby("signature").size()
    per_sig["sleep_interruptions"] = sleep.groupby("signature").size()
    noisy = per_sig.fillna({"interruptions": 0, "sleep_interruptions": 0}).reset_index()
    noisy = noisy.sort_values(["alerts", "signature"], ascending=[False, True], ignore_index=True)
    people = (
        pages.groupby(["source", "person_id"])
        .agg(interruptions=("bucket", "size"), wake_ups=("bucket", lambda b: int((b == "sleep").sum())))
        .reset_index()
    )
    return {"summary": summary, "noisy": noisy, "people": people}


# --- one DuckDB query ---------------------------------------------------------------------------

QUERY = """
WITH scope AS (
    SELECT signature, created_at, resolved_at,
        epoch(acknowledged_at - created_at) AS tta, epoch(resolved_at - created_at) AS ttr,
        resolved_at IS NOT NULL AND acknowledged_at IS NULL AS unack,
        coalesce(created_at - lag(resolved_at) OVER (PARTITION BY signature ORDER BY created_at)
            < to_seconds($flap_s), false) AS flap,
        auto_resolved
    FROM alerts
    WHERE created_at >= $start AND created_at < $end AND ($team IS NULL OR team = $team)
)
SELECT signature, count(*) AS alerts, median(tta), avg(tta), quantile_cont(tta, 0.9),
    median(ttr), avg(ttr), quantile_cont(ttr, 0.9), count(*) FILTER (WHERE unack),
    count(*) FILTER (WHERE auto_resolved), count(*) FILTER (WHERE unack AND ttr <= $transient_s),
    count(*) FILTER (WHERE flap), avg((unack OR flap)::INTEGER)
FROM scope
GROUP BY GROUPING SETS ((), (signature))
ORDER BY alerts DESC, signature
"""


# --- the cases and their processes -----------------------------------------------------------


def scope_of(
    case: str, days: float, config: Settings
) -> tuple[dt.datetime, dt.datetime, str | None, list[str]]:
    """The period's start and end, the team and the `python -m metrics report` arguments of a case."""
    import metrics

    if case == "sprint":
        period = metrics.sprint_period(config, (END - dt.timedelta(days=1)).date())
        return period.start, period.end, TEAM, ["--sprint", period.start.date().isoformat(), "--team", TEAM]
    first = (END - dt.timedelta(days=days)).date()
    period = metrics.between(first, END.date())
    return period.start, period.end, None, ["--from", first.isoformat(), "--to", END.date().isoformat()]


class Period:
    """The period as pandas_report reads it (start, end)."""

    def __init__(self, start: str, end: str):
        self.start, self.end = pd.Timestamp(start), pd.Timestamp(end)


def pandas_child(args: argparse.Namespace) -> None:
    """The pandas baseline as a process of its own: prints its summary figures as JSON."""
    period = Period(args.start, args.end)
    result = pandas_report(load(Path(args.data)), period, args.team or None, Settings())["summary"]
    json.dump(result, sys.stdout, default=float)


# The one-query baseline: a process that imports DuckDB only.
QUERY_PROCESS = """
import json, sys, duckdb
query, params = sys.argv[2], json.loads(sys.argv[3])
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
rows = con.execute(query, params).fetchall()
json.dump({"alerts": rows[0][1], "signatures": len(rows) - 1}, sys.stdout)
"""


def agree(ours: dict, pandas_figures: dict) -> list[str]:
    """Figures where the report and the pandas baseline differ (empty when they agree)."""
    problems = []
    for name, expected in pandas_figures.items():
        if name not in ours:
            continue
        got = ours[name]
        same = (got is None and expected is None) or (
            got is not None
            and expected is not None
            and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6)
        )
        if not same:
            problems.append(f"{name}: ours {got} vs pandas {expected}")
    return problems


def measure(argv: list[str], runs: int, out: Path) -> tuple[float, float]:
    """Median wall time and largest peak of `runs` runs of `argv`; the last run's stdout in `out`."""
    from bench.process import timed

    results = [timed(argv, out) for _ in range(runs)]
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def bench_size(alerts: int, args: argparse.Namespace, folder: Path) -> list[dict]:
    days = args.days_per_million * alerts / 1_000_000
    name = f"{alerts}-{days:.0f}d-{args.order}"
    db, parquet = str(folder / f"{name}.duckdb"), folder / f"{name}.parquet"
    if not Path(db).exists():  # a database kept in --work from an earlier run is used again
        build(db, alerts, days, shuffled=args.order != "time")
        export(db, parquet)
        if args.order == "reordered":  # the rewrite itself, as a person runs it
            took, peak = measure([sys.executable, "-m", "ingest", "reorder", "--db", db], 1,
                                 folder / f"{name}.reorder.txt")  # fmt: skip
            log.info("ingest reorder of %s shuffled alerts: %.1fs, peak %.0f MB", f"{alerts:,}", took, peak)
    config = Settings()
    rows = []
    for case in args.cases:
        start, end, team, scope_args = scope_of(case, days, config)
        out = folder / f"{alerts}-{case}"
        ours = measure([sys.executable, "-m", "metrics", "report", "--db", db, *scope_args, "--format", "json"],
                       args.runs, out.with_suffix(".ours.json"))  # fmt: skip
        pandas_run = measure(
            [sys.executable, str(Path(__file__).resolve()), "--child", "pandas", "--data",
             str(parquet), "--start", start.isoformat(), "--end", end.isoformat(),
             "--team", team or ""],
            args.runs, out.with_suffix(".pandas.json"),
        )  # fmt: skip
        params = {"start": start.isoformat(), "end": end.isoformat(), "team": team,
                  "flap_s": config.thresholds.flap_s, "transient_s": config.thresholds.transient_s}  # fmt: skip
        query = measure([sys.executable, "-c", QUERY_PROCESS, db, QUERY, json.dumps(params)], args.runs,
                        out.with_suffix(".query.json"))  # fmt: skip
        report = json.loads(out.with_suffix(".ours.json").read_text())
        problems = agree(report, json.loads(out.with_suffix(".pandas.json").read_text()))
        rows.append({"alerts": alerts, "days": days, "case": case, "ours": ours, "pandas": pandas_run,
                     "query": query, "in_scope": report["alerts"], "problems": problems})  # fmt: skip
        log.info("%s alerts, %s: ours %.2fs, pandas %.2fs, query %.2fs", f"{alerts:,}", case, ours[0],
                 pandas_run[0], query[0])  # fmt: skip
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| alerts | case (alerts in scope) | ours | pandas on Parquet | ours / pandas | one DuckDB query | ours / query |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        (ours, ours_mb), (pds, pds_mb), (query, query_mb) = row["ours"], row["pandas"], row["query"]
        lines.append(
            f"| {row['alerts']:,} | {row['case']} ({row['in_scope']:,}) | {ours:.2f} s, {ours_mb:,.0f} MB "
            f"| {pds:.2f} s, {pds_mb:,.0f} MB | {ours / pds:.2f}x | {query:.2f} s, {query_mb:,.0f} MB "
            f"| {ours / query:.1f}x |"
        )
    sprints = [row for row in rows if row["case"] == "sprint"]
    if len(sprints) > 1:
        base = sprints[0]
        for row in sprints[1:]:
            lines.append(f"sprint with {row['alerts'] / base['alerts']:.0f}x longer history: "
                         f"{row['ours'][0] / base['ours'][0]:.2f}x the time (target < 1.3x)")  # fmt: skip
    for row in rows:
        verdict = "yes" if not row["problems"] else "NO: " + "; ".join(row["problems"])
        lines.append(f"figures agree with pandas, {row['alerts']:,} {row['case']}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,3000000", help="alert counts, comma-separated")
    parser.add_argument(
        "--days-per-million", type=float, default=365, help="history length per million alerts"
    )
    parser.add_argument(
        "--cases", default="whole,sprint", help="whole (history, all teams), sprint (one team)"
    )
    parser.add_argument(
        "--order", choices=("time", "shuffled", "reordered"), default="time",
        help="how the rows are stored (reordered: shuffled, then `ingest reorder`, timed)",
    )
    parser.add_argument("--runs", type=int, default=3, help="median of N runs of each process")
    parser.add_argument(
        "--work", help="folder that keeps the databases for later runs (default: a temporary one)"
    )
    parser.add_argument("--child", choices=("pandas",), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    parser.add_argument("--team", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        pandas_child(args)
        return 0
    args.cases = args.cases.split(",")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.work or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in (int(s) for s in args.sizes.split(",")):
            rows += bench_size(size, args, folder)
    print(table(rows))
    return 1 if any(row["problems"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
