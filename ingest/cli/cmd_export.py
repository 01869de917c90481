"""`python -m ingest export`: the store as Hive-partitioned Parquet for Spark, Trino, BigQuery or DuckDB."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import settings
import store
from store.export import NothingToExport, export_parquet

NAME = "export"
HELP = "write the tables as Parquet: alerts, events, notifications under source=/year=/month= partitions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parquet", required=True, metavar="DIR",
                        help="directory to write (its table directories are replaced; other files are left alone)")


def run(args: argparse.Namespace) -> int:
    if store.is_local_file(args.db) and not Path(args.db).exists():  # a typo must not become a new database
        raise settings.ConfigError(f"database {store.display_name(args.db)} does not exist (--db, $ALERTHYGIENE_DB)")
    try:
        counts = export_parquet(args.db, args.parquet)
    except NothingToExport as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"exported {args.db} to {args.parquet}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0
