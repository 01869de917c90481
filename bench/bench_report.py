"""Benchmark: the sprint report from DuckDB SQL against a pandas baseline over the same rows.

Run by hand from the repository root (not a test):

    python bench/bench_report.py                    # 1,000,000 alerts, then a 10x longer history
    python bench/bench_report.py --alerts 200000 --history-factor 0

It builds a database of synthetic alerts with DuckDB's range() (one team of twenty gets a
sprint of a few thousand alerts), times the sprint report for one team (summary + noisy
ranking + interruptions per person) through the metrics API, computes the same figures with
pandas from the same rows loaded in memory, checks that both agree, and prints the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import metrics  # noqa: E402
import store  # noqa: E402
from settings import Settings  # noqa: E402

log = logging.getLogger("bench")
END = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)  # a sprint boundary with the default settings
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", None]
PAGING = ("phone", "sms", "push")

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
"""

NOTIFY = """
INSERT INTO notifications (source, alert_source_id, person_id, channel, notified_at)
SELECT DISTINCT source, source_id, 'p' || ((hash(source_id) + k) % 100),
    ['phone', 'sms', 'push', 'email', 'chat'][1 + (hash(source_id || k) % 5)::INTEGER],
    created_at + to_seconds(30 * k)
FROM alerts, range(1 + (hash(source_id) % 2)::INTEGER) AS r(k)
WHERE source = 'pagerduty'
"""


def build(path: str, alerts: int, span_days: float) -> None:
    """A synthetic history of `alerts` alerts over `span_days` days ending at END."""
    started = time.perf_counter()
    with store.writing(path) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SELECT setseed(0.42)")
        con.execute(GENERATE, {"n": alerts, "end": END, "span_s": span_days * 86400})
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


# --- the report through the metrics API (DuckDB) ----------------------------------------------


def duckdb_report(db: str, period: metrics.Period, team: str, config: Settings) -> dict:
    figures = metrics.read(db, [*metrics.figure_names(), "noisy", "people_load"], metrics.Scope(period, team), config)
    return {"summary": {n: figures[n] for n in metrics.figure_names()}, "noisy": figures["noisy"],
            "people": figures["people_load"]}


# --- the same figures with pandas ------------------------------------------------------------


def load(db: str) -> dict[str, pd.DataFrame]:
    """Every row the report needs, in memory."""
    with store.reading(db) as con:
        con.execute("SET TimeZone = 'UTC'")
        return {
            "alerts": con.execute(
                "SELECT source, source_id, signature, team, created_at, acknowledged_at, resolved_at, "
                "acknowledged_by, auto_resolved FROM alerts"
            ).df(),
            "notifications": con.execute("SELECT * FROM notifications").df(),
            "people": con.execute("SELECT source, person_id, name, time_zone FROM people").df(),
            "reviews": con.execute("SELECT * FROM reviews").df(),
        }


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


def pandas_report(data: dict[str, pd.DataFrame], period, team: str, config: Settings) -> dict:
    t = config.thresholds
    alerts = data["alerts"]
    scope = alerts[
        (alerts["created_at"] >= period.start)
        & (alerts["created_at"] < period.end)
        & (alerts["team"] == team)
    ]
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
    first_verdict = reviews.groupby("signature")["verdict"].first()
    verdict = in_force["verdict"].fillna(in_force["signature"].map(first_verdict))
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


# --- comparing and timing --------------------------------------------------------------------


def agree(sql: dict, pds: dict) -> list[str]:
    """Figures where the two implementations differ (empty when they agree)."""
    problems = []
    for name, expected in pds["summary"].items():
        got = sql["summary"][name]
        same = (got is None and expected is None) or (
            got is not None
            and expected is not None
            and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6)
        )
        if not same:
            problems.append(f"{name}: duckdb {got} vs pandas {expected}")
    columns = [
        "signature",
        "alerts",
        "transient",
        "flaps",
        "unacknowledged",
        "interruptions",
        "sleep_interruptions",
    ]
    left = sql["noisy"][columns].astype(str).reset_index(drop=True)
    right = pds["noisy"][columns].astype({c: int for c in columns[1:]}).astype(str)
    if not left.equals(right):
        problems.append("noisy ranking differs")
    ratio = np.allclose(sql["noisy"]["noise_ratio"], pds["noisy"]["noise_ratio"])
    if not ratio:
        problems.append("noisy noise_ratio differs")
    people = sql["people"].sort_values(["source", "person_id"])[["person_id", "interruptions", "wake_ups"]]
    expected = pds["people"].sort_values(["source", "person_id"])[["person_id", "interruptions", "wake_ups"]]
    if people.astype(str).values.tolist() != expected.astype(str).values.tolist():
        problems.append("interruptions per person differ")
    return problems


def best_of(runs: int, func, *args):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def measure(db: str, config: Settings, team: str, runs: int, with_pandas: bool) -> dict:
    period = metrics.sprint_period(config, (END - dt.timedelta(days=1)).date())
    sql_s, sql = best_of(runs, duckdb_report, db, period, team, config)
    result = {"sql_s": sql_s, "alerts_in_sprint": sql["summary"]["alerts"]}
    if with_pandas:
        load_s, data = best_of(1, load, db)
        compute_s, pds = best_of(runs, pandas_report, data, period, team, config)
        result.update(load_s=load_s, compute_s=compute_s, problems=agree(sql, pds))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365, help="history length of the base database")
    parser.add_argument("--history-factor", type=int, default=10, help="0 skips the longer-history run")
    parser.add_argument("--team", default="team3")
    parser.add_argument("--runs", type=int, default=3, help="best of N timings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = Settings()
    with tempfile.TemporaryDirectory() as folder:
        base = str(Path(folder) / "base.duckdb")
        build(base, args.alerts, args.days)
        first = measure(base, config, args.team, args.runs, with_pandas=True)
        pandas_total = first["load_s"] + first["compute_s"]
        print(
            f"alerts: {args.alerts:,} over {args.days:.0f} days; team {args.team}: "
            f"{first['alerts_in_sprint']:,} alerts in the sprint"
        )
        print(f"duckdb report (summary + noisy + interruptions per person): {first['sql_s'] * 1000:.0f} ms")
        print(f"pandas: load {first['load_s'] * 1000:.0f} ms + compute {first['compute_s'] * 1000:.0f} ms")
        print(f"speed-up vs pandas load+compute: {pandas_total / first['sql_s']:.1f}x (target >= 10x)")
        print(
            f"speed-up vs pandas compute only (rows already in memory): "
            f"{first['compute_s'] / first['sql_s']:.1f}x"
        )
        print("figures agree: " + ("yes" if not first["problems"] else "NO: " + "; ".join(first["problems"])))
        status = 0 if not first["problems"] else 1
        if args.history_factor:
            longer = str(Path(folder) / "longer.duckdb")
            build(longer, args.alerts * args.history_factor, args.days * args.history_factor)
            second = measure(longer, config, args.team, args.runs, with_pandas=False)
            print(
                f"{args.history_factor}x longer history ({args.alerts * args.history_factor:,} alerts): "
                f"{second['sql_s'] * 1000:.0f} ms, {second['sql_s'] / first['sql_s']:.2f}x the time "
                f"(target < 2x); {second['alerts_in_sprint']:,} alerts in the sprint"
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
