"""`python -m ingest export`: the store as Hive-partitioned Parquet for Spark, Trino, BigQuery or DuckDB."""

from __future__ import annotations

import argparse

from store.export import export_parquet

NAME = "export"
HELP = "write the tables as Parquet: alerts, events, notifications under source=/year=/month= partitions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parquet", required=True, metavar="DIR",
                        help="directory to write (its table directories are replaced; other files are left alone)")


def run(args: argparse.Namespace) -> int:
    counts = export_parquet(args.db, args.parquet)
    print(f"exported {args.db} to {args.parquet}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0
