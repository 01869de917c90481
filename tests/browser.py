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
            except requests.ConnectionError:
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


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """A Playwright page in Debian's headless Chromium (no browser download)."""
    executable = require_tool("/usr/bin/chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            page = context.new_page()
            yield page
        finally:
            browser.close()


def wait_for_app(page, ready: str, timeout_ms: int = 60_000) -> None:
    """Until the element `ready` shows and Streamlit has finished running the script."""
    page.wait_for_selector(ready, timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )
    if page.locator("[data-testid='stPlotlyChart']").count():
        page.wait_for_selector(".js-plotly-plot", timeout=timeout_ms)  # plotly loads lazily


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
