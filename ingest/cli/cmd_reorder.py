"""`python -m ingest reorder`: rewrite the stored alerts in created_at order, so period reads skip the rest."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

import settings
import store
from store import layout

NAME = "reorder"
HELP = "rewrite the alerts in time order (after a backfill; `status` says when it pays)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory", default=layout.REWRITE_MEMORY,
                        help="memory for the sort; beyond it DuckDB spills to disk beside the database (<db>.reorder.tmp) "
                             f"(default {layout.REWRITE_MEMORY})")


def run(args: argparse.Namespace) -> int:
    if not store.is_local_file(args.db):
        raise settings.ConfigError("reorder works on a database file; a remote store keeps its own layout")
    if not Path(args.db).exists():  # a typo must not become a new database
        raise settings.ConfigError(f"database {store.display_name(args.db)} does not exist (--db, $ALERTHYGIENE_DB)")
    try:
        layout.memory_size(args.memory)
    except ValueError as exc:
        raise settings.ConfigError(f"--memory: {exc}") from None
    began = time.monotonic()
    with store.writing(args.db) as con:  # one write turn, one transaction: all or nothing
        before = layout.layout(con)
        if before.in_order:
            print(f"{before.rows:,} alerts are already stored in created_at order: nothing to do")
            return 0
        try:
            layout.rewrite(con, args.memory, layout.spill_directory(args.db))
        except duckdb.OutOfMemoryException:
            raise store.DatabaseError(f"reorder needs more than --memory {args.memory} here; the alerts are "
                                      "left as they were: try a larger --memory") from None
        except duckdb.Error as exc:  # a full disk, say: the transaction is rolled back
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise store.DatabaseError(f"reorder failed; the alerts are left as they were: {first}") from None
        after = layout.layout(con)
    print(f"rewrote {after.rows:,} alerts in created_at order in {time.monotonic() - began:.1f}s: "
          f"a moment of their history was spread over {before.spread:.1f} row groups of {before.row_groups}, "
          f"now {after.spread:.1f}")
    return 0
