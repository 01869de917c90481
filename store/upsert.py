"""Bulk upsert of DataFrames / Arrow tables on a table's primary key."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pyarrow as pa

from store.migrations import PRIMARY_KEYS

_names = itertools.count()


def upsert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table | pd.DataFrame) -> int:
    """Insert rows, replacing those whose primary key exists; the last duplicate in a batch wins.

    Only the columns present in `rows` are written, so a partial record (say, a resolve
    without its title) updates what it knows and leaves the rest.
    """
    keys = PRIMARY_KEYS[table]  # KeyError for anything but a canonical table
    if isinstance(rows, pd.DataFrame):
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    if rows.num_rows == 0:
        return 0
    missing = [k for k in keys if k not in rows.column_names]
    if missing:
        raise ValueError(f"upsert into {table}: batch lacks key columns {missing}")
    _check_columns(con, table, rows.column_names)
    view = f"_batch_{next(_names)}"
    con.register(view, rows.append_column("_ord", pa.array(range(rows.num_rows), pa.int64())))
    try:
        columns = ", ".join(f'"{c}"' for c in rows.column_names)
        partition = ", ".join(f'"{k}"' for k in keys)
        # Identifiers are checked against the table's own columns above.
        con.execute(
            f"INSERT OR REPLACE INTO {table} ({columns}) "  # noqa: S608
            f"SELECT {columns} FROM {view} "
            f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _ord DESC) = 1"
        )
    finally:
        con.unregister(view)
    return rows.num_rows


def _check_columns(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> None:
    """Identifiers in the statement come only from the table itself, never from data."""
    known = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"upsert into {table}: unknown columns {unknown}")
