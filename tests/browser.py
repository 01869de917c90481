"""A real Streamlit server and a real Chromium (Debian's, driven by Playwright) for page tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(env_db: str | None, workdir: Path | None = None) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ALERTHYGIENE_DB"}
    if env_db:
        env["ALERTHYGIENE_DB"] = env_db
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
        "--server.headless=true", "--server.address=127.0.0.1", f"--server.port={port}",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]
    process = subprocess.Popen(command, cwd=workdir or ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:  # not listening yet, or too busy starting to answer within 1 s
                time.sleep(0.2)
        else:
            raise RuntimeError("streamlit did not start:\n" + (process.stdout.read() if process.poll() else ""))
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Runs:
    """The script runs as the page's websocket shows them. Streamlit 1.67 draws no status widget while a
    run is under way, so this is how a test knows the app is busy: the page asked for a run
    (BackMsg rerun_script) or one started (new_session) after the last one finished (script_finished)."""

    def __init__(self, page) -> None:
        self.finished = 0  # runs reported finished
        self.asked: list[float] = []  # when the page asked for each run (perf_counter)
        self._events = 0  # websocket frames of interest, in the order they passed
        self._busy_since = 0  # the event that last asked for or started a run
        self._idle_since = 0  # the event that last finished one
        page.on("websocket", self._watch)

    @property
    def busy(self) -> bool:
        return self._busy_since > self._idle_since

    def _watch(self, socket) -> None:
        socket.on("framereceived", self._received)
        socket.on("framesent", self._sent)

    def _received(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        kind = ForwardMsg.FromString(payload).WhichOneof("type")
        if kind == "new_session":
            self._events += 1
            self._busy_since = self._events
        elif kind == "script_finished":
            self._events += 1
            self._idle_since = self._events
            self.finished += 1

    def _sent(self, payload) -> None:
        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            self._events += 1
            self._busy_since = self._events
            self.asked.append(time.perf_counter())


def runs_of(page) -> Runs:
    """The Runs that chromium_page() attached to `page`."""
    return page.alerthygiene_runs


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """A Playwright page in Debian's headless Chromium (no browser download), its script runs watched."""
    executable = require_tool("/usr/bin/chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            page = context.new_page()
            page.alerthygiene_runs = Runs(page)
            yield page
        finally:
            browser.close()


def wait_for_app(page, ready: str, timeout_ms: int = 60_000) -> None:
    """Until the element `ready` shows and Streamlit has finished running the script."""
    page.wait_for_selector(ready, timeout=timeout_ms)
    _idle(page, timeout_ms)
    if page.locator("[data-testid='stPlotlyChart']").count():
        page.wait_for_selector(".js-plotly-plot", timeout=timeout_ms)  # plotly loads lazily


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, timeout=120_000)  # a loaded machine draws slowly
    return path


# --- Streamlit's data grid (glide-data-grid draws on a canvas; it keeps an accessible copy) ---------

ROW_PX = 35  # Streamlit's default row height, the header's too


def _idle(page, timeout_ms: int) -> None:
    """Until no run is asked for or under way."""
    runs, deadline = runs_of(page), time.monotonic() + timeout_ms / 1000
    while runs.busy:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app was still running after {timeout_ms} ms")
        page.wait_for_timeout(25)  # Playwright delivers the websocket's frames while it waits


def settled(page, timeout_ms: int = 60_000) -> None:
    """Until Streamlit has finished the runs a change started, and stays idle a moment (a grid asks for a
    second run once it is redrawn, and the browser draws a run's last messages after it has ended)."""
    for _ in range(2):
        page.wait_for_timeout(400)
        _idle(page, timeout_ms)


def grid_text(grid, column: int, row: int) -> str:
    """The text of a cell, from the grid's accessible copy (columns count the pinned ones first)."""
    return grid.locator(f"#glide-cell-{column}-{row}").inner_text()


def grid_column(grid, title: str, timeout_s: float = 30) -> int:
    """The position of the column headed `title` (waiting while a re-run redraws the grid)."""
    deadline = time.monotonic() + timeout_s
    while (title not in (headers := grid.locator("[role=columnheader]").all_inner_texts())
           and time.monotonic() < deadline):
        time.sleep(0.5)
    return headers.index(title)


def _selected_column(grid, row: int) -> int | None:
    """Which cell of `row` the grid has selected, from its accessible copy (None: none in that row)."""
    ids = grid.locator(f"[id^='glide-cell-'][id$='-{row}'][aria-selected=true]").evaluate_all("cs => cs.map(c => c.id)")
    return int(ids[0].split("-")[2]) if ids else None


def _wait_for_selection(page, grid, row: int, column: int, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while _selected_column(grid, row) != column:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the grid did not select row {row}, column {column}")
        page.wait_for_timeout(50)


def _select_cell(page, grid, row: int, column: int) -> None:
    """Select a cell: click its row's first cell, then move one key at a time, each move waited for.

    A click on a cell already selected opens its editor (a read-only one for the pinned Alert cell), which
    swallows the keys that follow: so an editor a lost key press left open is closed first, and the click
    is made only when nothing in the row is selected.
    """
    editor = page.locator("[id^='gdg-overlay']").first
    if editor.count():  # (Escape also clears the selection, later, so it is pressed only when needed)
        page.keyboard.press("Escape")
        editor.wait_for(state="detached", timeout=5_000)
    at = _selected_column(grid, row)
    if at is None:
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + ROW_PX + row * ROW_PX + ROW_PX / 2)
        _wait_for_selection(page, grid, row, 0)
        at = 0
    while at != column:
        step = 1 if column > at else -1
        page.keyboard.press("ArrowRight" if step > 0 else "ArrowLeft")
        at += step
        _wait_for_selection(page, grid, row, at)


def _activate(page, grid, row: int, column: int, key: str) -> None:
    """Select the cell and press `key` on it (space ticks a checkbox, Enter opens an editor).

    The grid acts on that key only in the first moments after the selection moved onto the cell (measured
    with Streamlit 1.67: yes after 100 ms, no after 300 ms), so the cell's left neighbour is selected at
    leisure and the last move and the key are pressed back to back. Column 0 is never the target here.
    """
    _select_cell(page, grid, row, column - 1)
    page.keyboard.press("ArrowRight")
    page.keyboard.press(key)


def _editing(page, grid, row: int, column: int, editor: str, attempts: int = 3):
    """Select a cell and open its editor; retried, as a re-run may redraw the grid meanwhile."""
    for attempt in range(attempts):
        try:
            _activate(page, grid, row, column, "Enter")
            found = page.locator(editor).first
            found.wait_for(timeout=5_000)
            # A key press lost to a redraw leaves the selection on a read-only neighbour: its overlay is disabled.
            if found.is_disabled():
                raise RuntimeError("landed on a read-only cell")
            return found
        except Exception:  # noqa: BLE001 - redrawn under us: try again
            page.keyboard.press("Escape")
            settled(page)
            if attempt == attempts - 1:
                raise
    return None


def type_into(page, grid, row: int, column: int, text: str) -> None:
    """Edit a text cell: select it, open its editor, type, commit."""
    editor = _editing(page, grid, row, column, "[id^='gdg-overlay'] textarea, [id^='gdg-overlay'] input")
    editor.fill(text)
    editor.press("Enter")


def choose_in(page, grid, row: int, column: int, option: str) -> None:
    """Edit a select-box cell: open its menu and pick `option` (as shown)."""
    _editing(page, grid, row, column, "[role='option']")
    page.get_by_role("option", name=option, exact=True).click()


def toggle(page, grid, row: int, column: int, attempts: int = 3) -> None:
    """Tick or untick a checkbox cell, and wait until the grid shows it changed.

    On a loaded machine a key press can be lost to a redraw, so the change itself is waited for and the
    toggle retried, rather than trusting that the keys arrived; a slow tick that did land is seen before
    a retry and never toggled back.
    """
    before = grid_text(grid, column, row)
    for _ in range(attempts):
        try:
            _activate(page, grid, row, column, " ")
        except RuntimeError:  # a redraw took the selection: let it end, then try again
            settled(page)
            continue
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if grid_text(grid, column, row) != before:
                return
            page.wait_for_timeout(100)
        settled(page)
        if grid_text(grid, column, row) != before:
            return
    shot = screenshot(page, f"toggle-failed-row-{row}")
    raise AssertionError(f"the checkbox in row {row} did not change after {attempts} tries (see {shot.name})")


def overflowing_grids(page) -> list[int]:
    """Indexes of the grids on the page wider than the space they have (a horizontal scroll bar)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller'))
              .map((s, i) => s.scrollWidth > s.clientWidth + 1 ? i : -1).filter(i => i >= 0)"""
    )


def cut_off_tiles(page) -> list[str]:
    """Texts of figure tiles (labels, values, changes) cut short with an ellipsis for want of room."""
    return page.evaluate(
        """() => [...new Set(Array.from(document.querySelectorAll('[data-testid="stMetric"] *'))
              .filter(e => e.scrollWidth > e.clientWidth + 1 && e.innerText.trim()).map(e => e.innerText.trim()))]"""
    )
