"""Benchmark: co-firing (METRICS.md, Advice) in DuckDB against a numpy/pandas sweep over the same rows.

Run by hand from the repository root (not a test):

    python bench/bench_advice.py                          # 1,000,000 alerts, 300 signatures, 180 days
    python bench/bench_advice.py --alerts 200000 --days 30

It builds a database of synthetic alerts with DuckDB's range(): a skewed background of all
signatures, and bursts in which the signatures of one of 40 small groups fire within 90 s of
each other (what inhibition and grouping candidates look like). It then times the co-firing
figures through the metrics API in a child process (so its peak memory is its own), computes
the same figures with numpy/pandas from the rows loaded in memory, checks that both agree, and
prints the ratio. Targets: under 10 s and under 1 GB peak for 1M alerts and 300 signatures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import metrics  # noqa: E402
import store  # noqa: E402
from metrics import advice  # noqa: E402
from settings import Settings  # noqa: E402

log = logging.getLogger("bench")
END = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
GROUPS = 40  # co-firing groups of GROUP_SIZE signatures, numbered after the background ones
GROUP_SIZE = 4

GENERATE = """
INSERT INTO alerts (source, source_id, title, signature, service, team, created_at, resolved_at, labels)
WITH background AS (
    SELECT i, floor(pow(random(), 2.0) * ($signatures - $grouped))::INTEGER AS sig,
        $end - to_seconds(random() * $span_s) AS created_at
    FROM range($background) AS t(i)
),
bursts AS (
    SELECT b, (b % $groups)::INTEGER AS grp, $end - to_seconds(random() * $span_s) AS burst_at
    FROM range($bursts) AS t(b)
),
burst_alerts AS (  -- each burst: every signature of its group but one in ten, within 90 s
    SELECT $background + b * $group_size + k AS i,
        ($signatures - $grouped + grp * $group_size + k)::INTEGER AS sig,
        burst_at + to_seconds(random() * 90) AS created_at
    FROM bursts, range($group_size) AS r(k)
    WHERE random() < 0.9
),
everything AS (SELECT * FROM background UNION ALL SELECT * FROM burst_alerts)
SELECT 'alertmanager', 'A' || i, 'Alert ' || sig, 'Alert' || sig || '|svc' || (sig % 60),
    'svc' || (sig % 60), 'team' || (sig % 12), created_at,
    created_at + to_seconds(30 + floor(random() * 3600)),
    json_object('alertname', 'Alert' || sig, 'service', 'svc' || (sig % 60), 'node', 'n' || (i % 7))
FROM everything
"""


def build(path: str, alerts: int, signatures: int, days: float) -> None:
    """About `alerts` alerts: 60 % background, the rest in group bursts, over `days` days before END."""
    started = time.perf_counter()
    grouped = GROUPS * GROUP_SIZE
    bursts = int(alerts * 0.4 / (GROUP_SIZE * 0.9))
    with store.writing(path) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SELECT setseed(0.16)")
        con.execute(
            GENERATE,
            {
                "background": alerts - int(bursts * GROUP_SIZE * 0.9), "bursts": bursts, "groups": GROUPS,
                "group_size": GROUP_SIZE, "grouped": grouped, "signatures": signatures, "end": END,
                "span_s": days * 86400,
            },
        )  # fmt: skip
        count = con.execute("SELECT count(*), count(DISTINCT signature) FROM alerts").fetchone()
    log.info("built %s alerts of %s signatures over %.0f days in %.1fs", f"{count[0]:,}", count[1], days,
             time.perf_counter() - started)  # fmt: skip


def period_of(days: float) -> metrics.Period:
    return metrics.Period(END - dt.timedelta(days=days), END)


# --- the co-firing figures through the metrics API, in a child process -------------------------


def child(db: str, days: float) -> None:
    """Runs in its own process: time co_firing, print the timing, peak memory and figures as JSON."""
    started = time.perf_counter()
    frame = advice.co_firing(db, period_of(days), settings=Settings())
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib, cpu_s = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    frame.to_parquet(db + ".cofiring.parquet")
    print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "peak_mib": peak_kib / 1024, "pairs": len(frame)}))


def duckdb_cofiring(db: str, days: float) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", db, "--days", str(days)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["frame"] = pd.read_parquet(db + ".cofiring.parquet")
    return result


# --- the same figures with numpy and pandas ---------------------------------------------------------


def pandas_cofiring(db: str, days: float, window_s: float) -> pd.DataFrame:
    """A sorted sweep: each alert's window found by binary search, pairs expanded with numpy."""
    period = period_of(days)
    with store.reading(db) as con:
        rows = con.execute(
            "SELECT signature, epoch(created_at) AS t FROM alerts WHERE created_at >= $1 AND created_at < $2",
            [period.start, period.end],
        ).df()
    rows = rows.sort_values("t", kind="stable", ignore_index=True)
    t = rows["t"].to_numpy()
    codes, names = pd.factorize(rows["signature"])
    lo = np.searchsorted(t, t - window_s, side="left")
    hi = np.searchsorted(t, t + window_s, side="right")
    counts = hi - lo
    a = np.repeat(np.arange(len(t), dtype=np.int64), counts)
    b = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    keep = codes[a] != codes[b]
    a, b = a[keep], b[keep]
    pairs = pd.DataFrame({"sa": codes[a], "sb": codes[b], "a": a, "b": b, "lead_s": t[b] - t[a]})
    grouped = pairs.groupby(["sa", "sb"])
    result = pd.DataFrame(
        {
            "support": grouped.size(),
            "a_with_b": grouped["a"].nunique(),
            "b_with_a": grouped["b"].nunique(),
            "lead_s": grouped["lead_s"].median(),
        }
    ).reset_index()
    alerts = np.bincount(codes)
    result["p_b_given_a"] = result["a_with_b"] / alerts[result["sa"]]
    result["p_a_given_b"] = result["b_with_a"] / alerts[result["sb"]]
    result["signature_a"] = names[result["sa"]]
    result["signature_b"] = names[result["sb"]]
    return result


def agree(sql: pd.DataFrame, pds: pd.DataFrame, related: float) -> list[str]:
    key = ["signature_a", "signature_b"]
    pds = pds[np.maximum(pds["p_b_given_a"], pds["p_a_given_b"]) >= related]
    left = sql.sort_values(key, ignore_index=True)
    right = pds.sort_values(key, ignore_index=True)
    if left[key].values.tolist() != right[key].values.tolist():
        return [f"different pairs: {len(left)} vs {len(right)}"]
    problems = []
    for column in ("support", "p_b_given_a", "p_a_given_b", "lead_s"):
        if not np.allclose(left[column].to_numpy(float), right[column].to_numpy(float)):
            problems.append(f"{column} differs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--signatures", type=int, default=300)
    parser.add_argument("--days", type=float, default=180, help="the period the alerts fall in")
    parser.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.days)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    window = Settings().advice.window_s
    print(f"machine load before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min) on "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "advice.duckdb")
        build(db, args.alerts, args.signatures, args.days)
        sql = duckdb_cofiring(db, args.days)
        started = time.perf_counter()
        pds = pandas_cofiring(db, args.days, window)
        pandas_s = time.perf_counter() - started
        pandas_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        advice_settings = Settings().advice
        related = min(advice_settings.group_probability, advice_settings.inhibit_probability)
        problems = agree(sql["frame"], pds, related)
        print(f"alerts: {args.alerts:,} of {args.signatures} signatures over {args.days:.0f} days; "
              f"{int(pds['support'].sum()):,} co-firing alert pairs (ordered) in {len(pds):,} signature "
              f"pairs, {sql['pairs']:,} of them related (P either way >= {related})")  # fmt: skip
        print(f"duckdb co-firing: {sql['seconds']:.2f} s ({sql['cpu_s']:.1f} s CPU in its process, start-up "
              f"included), peak {sql['peak_mib']:.0f} MiB (targets: < 10 s, < 1024 MiB)")  # fmt: skip
        print(f"numpy/pandas sweep (load + compute): {pandas_s:.2f} s, peak {pandas_peak:.0f} MiB")
        print(f"speed-up vs numpy/pandas: {pandas_s / sql['seconds']:.1f}x")
        print("figures agree: " + ("yes" if not problems else "NO: " + "; ".join(problems)))
    ok = not problems and sql["seconds"] < 10 and sql["peak_mib"] < 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
