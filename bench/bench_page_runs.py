"""Benchmark: each page's script run on the server (Streamlit's AppTest), cold and warm, with peak memory.

Run by hand from the repository root (not a test):

    python bench/bench_page_runs.py                      # a synthetic year of 1,000,000 alerts
    python bench/bench_page_runs.py --alerts 200000 --runs 3
    python bench/bench_page_runs.py --work /tmp/pages   # keeps the databases for the next run
    python bench/bench_page_runs.py --team "All teams"  # every team's pages (the largest reads)
    python bench/bench_page_runs.py --pages "Advisor,Response times"  # only these pages

It builds bench_report's synthetic history ending now (20 teams) and runs every page over the whole
history (Dates mode, first to last day) for one team, each page in a process of its own (the heavy
modules imported first, as a running server has): the first run fills the app's caches (cold), the
later ones read from them (warm, the median is printed). The
baseline, measured in the same run, is the same on an empty database. Peak memory is each process's
(ru_maxrss). Targets (issue 14): < 2 s cold, < 0.5 s warm, < 1 GB peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = {
    "Overview": "views/overview.py",
    "Noisy alerts": "views/noisy.py",
    "Sprint retro": "views/retro.py",
    "Advisor": "views/advice.py",
    "Wake-ups and load": "views/wakeups.py",
    "On call": "views/on_call.py",
    "Response times": "views/response.py",
    "Fix planner": "views/planner.py",
    "Data": "views/data_sources.py",
}


def child(db: str, page: str, runs: int, params: dict) -> None:
    """In its own process: run `page` `runs` times; print the times and peak memory as JSON."""
    from streamlit.testing.v1 import AppTest

    # A server has imported these long before a page is asked for: cold means its caches, not imports.
    for module in ("metrics", "advisor.plan", "views.charts"):
        importlib.import_module(module)

    os.environ["ALERTHYGIENE_DB"] = db
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    _components_found(app)
    for key, value in params.items():
        app.query_params[key] = value
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        app.switch_page(page).run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise SystemExit(f"{page}: {app.exception[0].value}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "peak_mib": peak}))


def _components_found(app) -> None:
    """A server looks for installed components once, when it starts (Streamlit's Runtime); AppTest does
    it at its first run, which would count half a second of server start in every page's cold run."""
    try:
        from streamlit.components.v2.component_manager import BidiComponentManager
    except ImportError:  # a Streamlit without them
        return
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    app._bidi_component_manager = manager  # what AppTest's first run would set (streamlit/testing/v1/app_test.py)


def measure(db: str, runs: int, params: dict, pages: list[str]) -> dict:
    """Each of `pages` in a process of its own: {page: (cold s, warm median s, peak MiB)}."""
    result = {}
    for name in pages:
        page = PAGES[name]
        out = subprocess.run([sys.executable, __file__, "--child", db, page, str(runs), json.dumps(params)],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
        got = json.loads(out.strip().splitlines()[-1])
        times = got["times"]
        result[name] = (times[0], statistics.median(times[1:] or times), got["peak_mib"])
        print(f"  {name}: " + ", ".join(f"{t * 1000:.0f}" for t in times) + f" ms, peak {got['peak_mib']:.0f} MiB",
              flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=4, help="runs of each page (the first is cold)")
    parser.add_argument("--team", default="team3")
    parser.add_argument("--pages", help="only these pages, by name, comma-separated (default: every page)")
    parser.add_argument("--work", help="keep the databases in this folder and reuse them (built today: the "
                                       "history ends when it was built)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        db, page, runs, params = args.child
        child(db, page, int(runs), json.loads(params))
        return 0

    pages = [name.strip() for name in args.pages.split(",")] if args.pages else list(PAGES)
    unknown = [name for name in pages if name not in PAGES]
    if unknown:
        parser.error(f"unknown page {unknown[0]!r}; the pages: {', '.join(PAGES)}")

    import store
    from bench import bench_report

    today = dt.datetime.now(dt.UTC).date()
    whole = {"team": args.team, "from": (today - dt.timedelta(days=365)).isoformat(),
             "to": (today + dt.timedelta(days=1)).isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        empty, large = str(work / "empty.duckdb"), str(work / f"pages-{args.alerts}.duckdb")
        with store.writing(empty):
            pass
        print("baseline: empty database", flush=True)
        base = measure(empty, args.runs, whole, pages)
        if not Path(large).exists():
            bench_report.END = dt.datetime.now(dt.UTC).replace(microsecond=0)  # its year ends now, as the pages'
            started = time.perf_counter()
            bench_report.build(large, args.alerts, 365)
            print(f"synthetic history of {args.alerts:,} alerts built in {time.perf_counter() - started:.1f} s",
                  flush=True)
        print(f"{large}: team {args.team}, whole history ({whole['from']} to {whole['to']})", flush=True)
        got = measure(large, args.runs, whole, pages)
    print(f"\n{'page':<20}{'cold':>9}{'ratio':>7}{'warm':>9}{'ratio':>7}{'peak':>10}")
    missed = []
    for name, (cold, warm, peak) in got.items():
        base_cold, base_warm, _ = base[name]
        print(f"{name:<20}{cold * 1000:>7.0f}ms{cold / base_cold:>7.1f}{warm * 1000:>7.0f}ms{warm / base_warm:>7.1f}"
              f"{peak:>6.0f} MiB")
        if cold >= 2 or warm >= 0.5 or peak >= 1024:
            missed.append(name)
    print("targets (cold < 2 s, warm < 0.5 s, peak < 1 GB): " + ("met" if not missed else "missed: " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
