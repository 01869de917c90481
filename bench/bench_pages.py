"""Benchmark: how fast each dashboard page settles in a real browser, and how fast a save answers.

Run by hand from the repository root (not a test), on a quiet machine:

    python bench/bench_pages.py                  # the demo history, 5 visits a page
    python bench/bench_pages.py --visits 9 --width 1400
    python bench/bench_pages.py --alerts 1000000 # and a synthetic year of 1M alerts (20 teams)
    python bench/bench_pages.py --alerts 1000000 --keep /tmp/pages --build-only  # build it once, then
    python bench/bench_pages.py --alerts 1000000 --keep /tmp/pages               # measure on it

It loads the demo history (seed 7, 180 days ending now) into a temporary database, starts
`streamlit run dashboard.py` on it and drives Debian's Chromium. For each page it measures
navigation to settled content: from the request until the page's content is drawn (titles,
tables, charts) and Streamlit has finished the run. The first visit fills the app's cache
(cold); the others read from it (warm, the median is printed). The baseline, measured in the
same run, is the same navigation to the dashboard on an empty database: Streamlit, the browser
and the app's frame without figures. It then saves a verdict in the retro's queue and an
estimate in the planner, timing the answer (the toast saying it is saved) and the page settling
again. Peak memory is the Streamlit server's (VmHWM). Targets: every page under 1 s warm; a
save answered within 0.5 s. With --alerts it does the same on a large history (bench_report's
synthetic year ending now, one team of twenty viewed), reported beside the demo's figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings  # noqa: E402
from bench import bench_report  # noqa: E402
from ingest.sources.demo import load_demo  # noqa: E402
from tests.browser import (  # noqa: E402
    Runs,
    choose_in,
    chromium_page,
    grid_column,
    grid_text,
    runs_of,
    streamlit_server,
    type_into,
)

PAGES = {
    "Overview": "?team=payments",
    "Noisy alerts": "noisy?team=payments",
    "Sprint retro": "retro?team=payments",
    "Advisor": "advice?team=payments",
    "Wake-ups and load": "wakeups?team=payments",
    "On call": "on_call?team=payments",
    "Response times": "response?team=payments",
    "Fix planner": "planner?team=payments",
    "Data": "data_sources",
}
SETTLED = """() => {
    if (!document.querySelector('[data-testid="stMain"] h1')) return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]').length;
    if (document.querySelectorAll('.js-plotly-plot .main-svg').length < charts) return false;
    const grids = document.querySelectorAll('[data-testid="stDataFrame"]').length;
    return document.querySelectorAll('[data-testid="stDataFrame"] canvas').length >= grids;
}"""


def settle_time(page, runs: Runs, go) -> float:
    """Seconds from `go()` (a navigation) until the run it starts has finished on the server and its
    content is drawn (titles, tables, charts), held for 100 ms so a late re-run counts."""
    before = runs.finished
    started = time.perf_counter()
    go()
    while runs.finished <= before:
        page.wait_for_timeout(5)
    while True:
        page.wait_for_function(SETTLED, timeout=120_000, polling=25)
        settled_at = time.perf_counter()
        page.wait_for_timeout(100)
        if page.evaluate(SETTLED):
            return settled_at - started


def by_link(page, url: str):
    """Open `url` afresh, as a bookmark or a shared link does (the app loads in a new session)."""
    return lambda: page.goto(url, wait_until="commit")


def in_app(page, title: str):
    """Click the page's entry in the sidebar, as a person moving around the app does."""
    return lambda: page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_pid(url: str) -> int:
    """The pid of the Streamlit server listening on `url`'s port (it is our child)."""
    port = url.rsplit(":", 1)[1]
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "streamlit" in command and f"--server.port={port}" in command:
            return int(status.parent.name)
    return 0


def save_time(page, runs: Runs, table_header: str, column: str, row: int, option: tuple | None,
              text: str | None) -> tuple:
    """Seconds from the edit's commit (the browser asking for a run) until its save answers (the toast
    is drawn), and until that run has finished and the page settled again."""
    page.locator("[role=columnheader]", has_text=table_header).first.wait_for(state="attached", timeout=120_000)
    page.wait_for_function(SETTLED, timeout=120_000)
    # The page's own run may go on below the table after it is drawn; an edit made meanwhile first waits
    # for that run to stop, which would be timed as the save's. Edit once it has ended, as a reader does.
    while runs.busy:
        page.wait_for_timeout(5)
    grid = next(g for g in page.locator('[data-testid="stDataFrame"]').all()
                if table_header in g.locator("[role=columnheader]").all_inner_texts())
    index = grid_column(grid, column)
    toasts = page.locator('[data-testid="stToast"]').filter(has_text="Saved").count()
    before, asks = runs.finished, len(runs.asked)
    if option:
        # Choosing the verdict a row already has changes nothing, so nothing is saved or said (the large
        # history's queue has rows reviewed earlier): take the first option the cell does not hold.
        held = grid_text(grid, index, row)
        option = next(o for o in option if o.lower().replace(" ", "-") != held)
        choose_in(page, grid, row, index, option)
    else:
        type_into(page, grid, row, index, text)
    page.wait_for_function(
        f"() => Array.from(document.querySelectorAll('[data-testid=\"stToast\"]'))"
        f".filter(t => t.innerText.includes('Saved')).length > {toasts}", timeout=60_000, polling=10)
    answered = time.perf_counter()
    assert len(runs.asked) > asks, "the edit asked for no run"
    committed = runs.asked[asks]  # the edit's own request (the grid asks again once it is redrawn)
    while runs.finished <= before:
        page.wait_for_timeout(5)
    page.wait_for_function(SETTLED, timeout=120_000, polling=25)
    return answered - committed, time.perf_counter() - committed


def visits(page, runs: Runs, url: str, team: str, count: int) -> list[tuple]:
    """Per page: the first visit by link (cold), the median and worst of later ones by link, and of
    `count` arrivals from another page through the sidebar (in the app)."""
    link = {name: f"{url}/{path.replace('team=payments', f'team={team}')}" for name, path in PAGES.items()}
    opened = {name: [settle_time(page, runs, by_link(page, link[name])) for _ in range(count)] for name in PAGES}
    clicked: dict[str, list[float]] = {name: [] for name in PAGES}
    page.goto(link["Data"])
    page.wait_for_function(SETTLED, timeout=120_000)
    for _ in range(count):
        for name in PAGES:  # each arrival comes from the page before it in the sidebar
            clicked[name].append(settle_time(page, runs, in_app(page, name)))
    rows = []
    for name in PAGES:
        later = opened[name][1:] or opened[name]
        rows.append((name, opened[name][0], statistics.median(later), statistics.median(clicked[name]),
                     max(clicked[name])))
        print(f"  {name}: by link " + ", ".join(f"{s * 1000:.0f}" for s in opened[name]) + " ms; in the app "
              + ", ".join(f"{s * 1000:.0f}" for s in clicked[name]) + " ms", flush=True)
    return rows


def measure(db: str, team: str, args) -> tuple:
    """Each page's settle times, a verdict's and an estimate's save, and the server's peak memory, on `db`."""
    with streamlit_server(db) as url, chromium_page(args.width, 1600) as page:
        runs = runs_of(page)
        rows = visits(page, runs, url, team, args.visits)
        page.goto(f"{url}/retro?team={team}")
        verdict = save_time(page, runs, "Verdict", "Verdict", 3, ("Noise", "Needs tuning"), None)
        page.goto(f"{url}/planner?team={team}")
        estimate = save_time(page, runs, "Saving / sprint", "Estimate", 1, None, "7")
        memory = peak_mib(server_pid(url))
    return rows, verdict, estimate, memory


def report(title: str, base: tuple, measured: tuple) -> list[str]:
    """Print one database's figures, warm medians as ratios to the baseline's; returns what missed its target."""
    rows, verdict, estimate, memory = measured
    print(f"\n{title}\n{'page':<20}{'cold':>9}{'by link':>10}{'ratio':>7}{'in app':>10}{'ratio':>7}{'in app max':>12}")
    for name, cold, link, app, worst in rows:
        print(f"{name:<20}{cold * 1000:>7.0f}ms{link * 1000:>8.0f}ms{link / base[0]:>7.2f}"
              f"{app * 1000:>8.0f}ms{app / base[1]:>7.2f}{worst * 1000:>10.0f}ms")
    print(f"save a verdict:   answered in {verdict[0] * 1000:.0f} ms, page settled in {verdict[1] * 1000:.0f} ms")
    print(f"save an estimate: answered in {estimate[0] * 1000:.0f} ms, page settled in {estimate[1] * 1000:.0f} ms")
    print(f"peak memory of the Streamlit server: {memory:.0f} MiB")
    slow = [name for name, _, _, app, _ in rows if app >= 1.0]
    late = [what for what, (answer, _) in (("verdict", verdict), ("estimate", estimate)) if answer > 0.5]
    print("targets (in the app under 1 s, a save under 0.5 s): "
          + ("met" if not slow and not late else f"missed: {', '.join(slow + late)}"))
    return slow + late


def large_history(args, tmp: str | None = None) -> str:
    """The synthetic year of `--alerts` alerts ending now: in `--keep` if it is there already, else built."""
    path = Path(args.keep or tmp) / f"large-{args.alerts}.duckdb"
    if args.keep and path.exists():
        print(f"\nsynthetic history of {args.alerts:,} alerts kept in {path}")
        return str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bench_report.END = dt.datetime.now(dt.UTC).replace(microsecond=0)  # its year ends now, as the pages'
    started = time.perf_counter()
    bench_report.build(str(path), args.alerts, 365)
    print(f"\nsynthetic history of {args.alerts:,} alerts built in {time.perf_counter() - started:.1f} s")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=5, help="visits a page (the first is cold)")
    parser.add_argument("--width", type=int, default=1400, help="browser width in px")
    parser.add_argument("--alerts", type=int, default=0, help="also a synthetic year of this many alerts")
    parser.add_argument("--team", default="team3", help="the team viewed on the synthetic history")
    parser.add_argument("--keep", help="a folder to keep the synthetic history in: built there once, then reused "
                                       "(its year ends when it was built; a save changes one verdict and estimate)")
    parser.add_argument("--build-only", action="store_true", help="with --keep: build the synthetic history and stop")
    args = parser.parse_args(argv)
    if args.build_only:
        if not (args.keep and args.alerts):
            parser.error("--build-only needs --keep and --alerts")
        large_history(args)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        demo, empty = str(Path(tmp) / "demo.duckdb"), str(Path(tmp) / "empty.duckdb")
        started = time.perf_counter()
        load_demo(demo, settings.Settings(), seed=7, days=180)
        print(f"demo history loaded in {time.perf_counter() - started:.1f} s")
        with streamlit_server(empty) as url, chromium_page(args.width, 1600) as page:
            runs = runs_of(page)
            linked = [settle_time(page, runs, by_link(page, f"{url}/")) for _ in range(args.visits)]
            clicked = []
            for _ in range(args.visits):
                settle_time(page, runs, in_app(page, "Data"))
                clicked.append(settle_time(page, runs, in_app(page, "Overview")))
        base = statistics.median(linked[1:] or linked), statistics.median(clicked)
        print(f"baseline (empty database, overview): by link {base[0] * 1000:.0f} ms, in the app "
              f"{base[1] * 1000:.0f} ms (medians)", flush=True)
        missed = report("demo history (6 teams, about 6,400 alerts over 180 days), team payments", base,
                        measure(demo, "payments", args))
        if args.alerts:
            large = large_history(args, tmp)
            missed += report(f"synthetic history ({args.alerts:,} alerts over 365 days, 20 teams), team {args.team}",
                             base, measure(large, args.team, args))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
