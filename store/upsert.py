"""Bulk upsert of DataFrames / Arrow tables on a table's primary key."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import duckdb

from store.migrations import PRIMARY_KEYS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_names = itertools.count()
# upsert_staged merges contested keys in hash buckets of about this many rows.
BUCKET_ROWS = 100_000


# How `merge` combines a batch value with the stored one (and with earlier rows of the batch).
MERGE_MODES = {
    "coalesce": ("arg_max", "coalesce(excluded.{c}, {t}.{c})"),  # the new value unless it is NULL
    "keep": ("arg_min", "coalesce({t}.{c}, excluded.{c})"),  # the stored value unless it is NULL
}


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pa.Table | pd.DataFrame | duckdb.DuckDBPyRelation,
    merge: Mapping[str, str] | None = None,
) -> int:
    """Insert rows, replacing those whose primary key exists; the last duplicate in a batch wins.

    Only the columns present in `rows` are written, so a partial record (say, a resolve
    without its title) updates what it knows and leaves the rest. `merge` names columns
    that combine instead of being replaced: "coalesce" (a NULL never overwrites a known
    value) or "keep" (a known value is never overwritten). `rows` may also be a relation
    (a query) on `con` itself, so bulk loads need not leave DuckDB.
    """
    keys = PRIMARY_KEYS[table]  # KeyError for anything but a canonical table
    if isinstance(rows, duckdb.DuckDBPyRelation):
        return _upsert_relation(con, table, rows, merge)
    import pyarrow as pa  # here, not at the top: a process that only reads never loads Arrow

    if not isinstance(rows, pa.Table):  # a DataFrame (pandas is imported only by callers that have one)
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    if rows.num_rows == 0:
        return 0
    _check_batch(con, table, rows.column_names, merge)
    view = f"_batch_{next(_names)}"
    con.register(view, rows.append_column("_ord", pa.array(range(rows.num_rows), pa.int64())))
    try:
        # Identifiers are checked against the table's own columns above.
        con.execute(
            _merge_sql(table, view, rows.column_names, keys, merge)
            if merge
            else _replace_sql(table, view, rows.column_names, keys)
        )
    finally:
        con.unregister(view)
    return rows.num_rows


def _upsert_relation(
    con: duckdb.DuckDBPyConnection, table: str, rows: duckdb.DuckDBPyRelation, merge: Mapping[str, str] | None
) -> int:
    """Upsert the rows of a query on `con`; the query runs once, inside DuckDB."""
    keys = PRIMARY_KEYS[table]
    _check_batch(con, table, rows.columns, merge)
    view = f"_batch_{next(_names)}"
    con.register(view, rows.select("*, row_number() OVER () AS _ord"))
    try:
        # Identifiers are checked against the table's own columns above.
        statement = (
            _merge_sql(table, view, rows.columns, keys, merge)
            if merge
            else _replace_sql(table, view, rows.columns, keys)
        )
        result = con.execute(statement).fetchone()
    finally:
        con.unregister(view)
    return result[0] if result else 0


def upsert_staged(
    con: duckdb.DuckDBPyConnection,
    table: str,
    staged: str,
    columns: list[str] | tuple[str, ...],
    merge: Mapping[str, str] | None = None,
    where: str | None = None,
    bucket_rows: int | None = BUCKET_ROWS,
    order: str = "rowid",
    key_time: str | None = None,
) -> int:
    """Upsert the rows of `staged`, a table on `con` (rows matching `where`, in the order of its
    column `order`).

    The result is that of `upsert(con, table, con.table(staged).filter(where).project(columns),
    merge)`, but only keys that repeat in the batch or are already stored go through the
    de-duplication and merge; every other row is appended with a plain INSERT. `key_time` names a
    time column that the key fixes to within a second (an Alertmanager alert's key holds its
    startsAt): stored keys are then looked for only among rows within the batch's range of it,
    which DuckDB reads by skipping the row groups outside it, so the check costs the batch's
    period, not the whole table. The contested rows are merged in buckets of a hash of the key
    of about `bucket_rows` rows each (None: one statement), so the merge's aggregate and updates
    fit in a bounded memory; keys never span buckets, so the result is the same. `staged`,
    `where` and `order` are SQL written by the caller, never data.
    """
    keys = PRIMARY_KEYS[table]  # KeyError for anything but a canonical table
    names = list(columns)
    _check_batch(con, table, names, merge)
    if key_time is not None:
        _check_columns(con, table, [key_time])
    key_list = ", ".join(f'"{k}"' for k in keys)
    column_list = ", ".join(f'"{c}"' for c in names)
    batch = f"(SELECT {column_list}, {order} AS _ord FROM {staged}{f' WHERE {where}' if where else ''})"  # noqa: S608
    stored, window = table, []
    if key_time is not None:
        low, high = con.execute(f'SELECT min("{key_time}"), max("{key_time}") FROM {batch}').fetchall()[0]  # noqa: S608
        stored = (
            f'(SELECT {key_list} FROM {table} WHERE "{key_time}" >= ?::TIMESTAMPTZ - INTERVAL 1 SECOND '  # noqa: S608
            f'AND "{key_time}" <= ?::TIMESTAMPTZ + INTERVAL 1 SECOND)'
        )
        window = [low, high]
    contested = f"_contested_{next(_names)}"
    # Identifiers are checked against the table's own columns above.
    con.execute(
        f"CREATE TEMP TABLE {contested} AS "  # noqa: S608
        f"SELECT {key_list} FROM {batch} GROUP BY {key_list} HAVING count(*) > 1 "
        f"UNION SELECT {key_list} FROM {batch} SEMI JOIN {stored} USING ({key_list})",
        window,
    )
    contested_rows = con.execute(f"SELECT count(*) FROM {contested}").fetchall()[0][0]  # noqa: S608
    plain = f"SELECT {column_list} FROM {batch}"  # noqa: S608
    if contested_rows:
        plain += f" ANTI JOIN {contested} USING ({key_list})"
    written = con.execute(f"INSERT INTO {table} ({column_list}) {plain}").fetchall()[0][0]  # noqa: S608
    if contested_rows:
        rest = f"(SELECT * FROM {batch} SEMI JOIN {contested} USING ({key_list}))"  # noqa: S608
        rows = con.execute(f"SELECT count(*) FROM {rest}").fetchall()[0][0]  # noqa: S608
        written += _merge_contested(con, table, rest, names, keys, merge, rows, bucket_rows)
    con.execute(f"DROP TABLE {contested}")
    return written


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> Iterator[None]:
    """`rows` visible as the view `name` for the block. After a failed statement the transaction
    is aborted and DuckDB refuses even to drop the view: the failure is what propagates, not that
    refusal (the rollback drops the view)."""
    con.register(name, rows)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


def _merge_contested(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rest: str,
    names: list[str],
    keys: tuple[str, ...],
    merge: Mapping[str, str] | None,
    rows: int,
    bucket_rows: int | None,
) -> int:
    """Merge the batch's contested rows (`rest`, a subquery) in buckets of their key's hash."""
    key_list = ", ".join(f'"{k}"' for k in keys)
    buckets = max(1, -(-rows // bucket_rows)) if bucket_rows else 1
    if buckets == 1:
        parts = [rest]
    else:  # the contested rows once, each with its key's bucket
        staged_rest = f"_rest_{next(_names)}"
        con.execute(
            f"CREATE TEMP TABLE {staged_rest} AS "  # noqa: S608
            f"SELECT *, hash({key_list}) % {buckets} AS _bucket FROM {rest}"
        )
        parts = [f"(FROM {staged_rest} WHERE _bucket = {b})" for b in range(buckets)]  # noqa: S608
    written = 0
    for part in parts:
        statement = _merge_sql(table, part, names, keys, merge) if merge else _replace_sql(table, part, names, keys)
        written += con.execute(statement).fetchall()[0][0]  # fetched whole: the result is finished
    if buckets > 1:
        con.execute(f"DROP TABLE {staged_rest}")
    return written


def _check_batch(
    con: duckdb.DuckDBPyConnection, table: str, names: list[str], merge: Mapping[str, str] | None
) -> None:
    missing = [k for k in PRIMARY_KEYS[table] if k not in names]
    if missing:
        raise ValueError(f"upsert into {table}: batch lacks key columns {missing}")
    _check_columns(con, table, names)
    if merge:
        _check_columns(con, table, list(merge))
        unknown_modes = sorted(set(merge.values()) - set(MERGE_MODES))
        if unknown_modes:
            raise ValueError(f"upsert into {table}: unknown merge modes {unknown_modes}")


def _replace_sql(table: str, view: str, names: list[str], keys: tuple[str, ...]) -> str:
    columns = ", ".join(f'"{c}"' for c in names)
    partition = ", ".join(f'"{k}"' for k in keys)
    return (
        f"INSERT OR REPLACE INTO {table} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM {view} "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _ord DESC) = 1"
    )


def _merge_sql(
    table: str, view: str, names: list[str], keys: tuple[str, ...], merge: Mapping[str, str]
) -> str:
    """Reduce the batch per key with the merge rules, then combine with the stored row."""
    picks, updates = [], []
    for name in names:
        if name in keys:
            picks.append(f'"{name}"')
            continue
        mode = merge.get(name)
        pick, combine = MERGE_MODES[mode] if mode else ("arg_max", "excluded.{c}")
        where = f' FILTER (WHERE "{name}" IS NOT NULL)' if mode else ""
        picks.append(f'{pick}("{name}", _ord){where} AS "{name}"')
        updates.append(f'"{name}" = ' + combine.format(c=f'"{name}"', t=table))
    columns = ", ".join(f'"{c}"' for c in names)
    partition = ", ".join(f'"{k}"' for k in keys)
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    return (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(picks)} FROM {view} GROUP BY {partition} "
        f"ON CONFLICT ({partition}) {action}"
    )


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
