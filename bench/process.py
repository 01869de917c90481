"""Run a command as a whole process and measure it: wall time and that process's own peak memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run `argv` from the repository root (stdout to the file `stdout`, else discarded); its wall
    time (s) and peak resident memory (MB). A failure raises CalledProcessError.

    The peak is read by GNU time, a small process that starts the command: Linux keeps a
    process's peak across exec, so a command started straight from a large Python process would
    report the parent's size."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r") as peak, open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [gnu_time, "-f", "%M", "-o", peak.name, *argv], cwd=REPO, stdout=out, check=False
        )
        took = time.perf_counter() - started
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, argv)
        return took, int(peak.read().split()[-1]) / 1024
