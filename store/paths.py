"""The files and folders a database keeps beside it, found whichever path to the file a process was given."""

from __future__ import annotations

import os
from pathlib import Path


def beside(db: str, suffix: str) -> Path:
    """`db`'s own file or folder named with `suffix` ('.locks', '.pending'), beside the file a symlink leads
    to, where DuckDB keeps its write-ahead log: processes given `link.duckdb`, `./alerts.duckdb` or the
    absolute path all share one lock and see one another's kept saves."""
    return Path(os.path.realpath(db) + suffix)
