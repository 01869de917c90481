"""How `alerts` lies on disk for period reads, and its rewrite in `created_at` order.

DuckDB skips a row group (~122,880 rows) whose `created_at` range misses the period read, so a
sprint read touches only that sprint's rows when alerts are stored in time order. Writers cannot
keep that order cheaply (DuckDB stores an upsert's rows in key order, whatever its ORDER BY), and
a backfill merged over a live history scatters old alerts across every row group: then each
period read scans the whole table. `rewrite` puts the table back in order, on request.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from store.paths import beside

log = logging.getLogger(__name__)

# Below this many row groups a period read costs little whatever the order: nothing to advise.
MIN_ROW_GROUPS = 4
# A moment of history spread over this many row groups (1 is ideal) is worth a rewrite.
POOR_SPREAD = 2.0
# The rewrite's sort spills to disk beyond this, into `spill_directory`.
REWRITE_MEMORY = "1GB"
# Held while this process rewrites: the only time anything of it spills into `spill_directory`.
_REWRITING = threading.Lock()
_OWN_DEFINITION = re.compile(r"^CREATE TABLE alerts\(", re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    """`alerts` as stored: rows, row groups, and how many row groups an average moment of its history
    is spread over (`spread`; 1.0 when stored in time order, the number of row groups when random)."""

    rows: int
    row_groups: int
    spread: float

    @property
    def in_order(self) -> bool:
        """Row groups tile the history (a few equal timestamps may straddle a boundary)."""
        return self.spread <= 1.01

    @property
    def poor(self) -> bool:
        """Whether period reads scan markedly more than their period's rows, enough to rewrite."""
        return self.row_groups >= MIN_ROW_GROUPS and self.spread >= POOR_SPREAD


def layout(con: duckdb.DuckDBPyConnection) -> Layout:
    """Read from the row groups' own `created_at` statistics (DuckDB's zone maps): no row is read.

    Spread is the sum of the row groups' time spans over the span of the whole history: row groups
    in time order tile the history once; shuffled ones each span nearly all of it.
    """
    rows, groups, spans, whole = con.execute(
        """
        WITH groups AS (
            SELECT row_group_id, min(stats.min::TIMESTAMPTZ) AS first, max(stats.max::TIMESTAMPTZ) AS last
            FROM pragma_storage_info('alerts')
            WHERE column_name = 'created_at' AND segment_type <> 'VALIDITY'
            GROUP BY row_group_id
        )
        SELECT (SELECT count(*) FROM alerts), count(*),
               sum(epoch(last) - epoch(first)), epoch(max(last)) - epoch(min(first))
        FROM groups
        """
    ).fetchone()
    spread = spans / whole if whole else 1.0
    return Layout(rows=rows, row_groups=groups, spread=max(spread, 1.0) if groups else 1.0)


def spill_directory(db: str) -> Path:
    """Where a rewrite of `db` spills its sort: a directory of its own beside the file.

    Not DuckDB's default `<db>.tmp`, which every reader of the file spills into too: nothing but a
    rewrite, inside a write turn, ever writes here, so whatever is here outside one was left by a
    rewrite that died (killed, out of power) and is safe to remove (`remove_leftover_spill`).
    """
    return beside(db, ".reorder.tmp")


def remove_leftover_spill(db: str) -> None:
    """At the start of a write turn on `db`: remove what a dead rewrite's sort left on disk.

    A write turn holds the store's exclusive lock and DuckDB's own read-write lock on the file, so
    no other process has the file open, let alone rewrites it; in this process `_REWRITING` says
    whether a rewrite runs (only possible without the store's lock, ALERTHYGIENE_LOCKING=retry).
    DuckDB removes a finished or failed sort's files itself; only a killed one leaves any.
    """
    directory = spill_directory(db)
    if not directory.exists() or not _REWRITING.acquire(blocking=False):
        return
    try:
        shutil.rmtree(directory)
        log.info("removed the spill files a killed reorder left in %s", directory)
    except OSError as exc:  # never fails the write it precedes; the next write turn tries again
        log.warning("could not remove the spill files a killed reorder left in %s: %s", directory,
                    exc.strerror or exc)
    finally:
        _REWRITING.release()


def rewrite(con: duckdb.DuckDBPyConnection, memory: str = REWRITE_MEMORY, spill: Path | None = None) -> None:
    """Rewrite `alerts` in `created_at` order, within the caller's transaction and write turn.

    The new table is made from the table's own definition (every column added since, the primary
    key, the column compression), filled with every row sorted, and takes the old one's place; a
    failure anywhere before the commit leaves the table as it was. DuckDB stores a plain INSERT's
    rows in its ORDER BY (with insertion order preserved, its default). The sort spills into
    `spill` (the caller's `spill_directory`), which DuckDB cannot switch back from afterwards: the
    write turn's connection is closed after it anyway.
    """
    with _REWRITING:
        _rewrite(con, memory, spill)


def _rewrite(con: duckdb.DuckDBPyConnection, memory: str, spill: Path | None) -> None:
    definition = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = 'alerts' AND schema_name = 'main'"
    ).fetchone()[0]
    if not _OWN_DEFINITION.match(definition):
        raise RuntimeError(f"unexpected definition of table alerts: {definition[:60]}")
    con.execute("DROP TABLE IF EXISTS alerts_in_time_order")  # left by nothing (one transaction), but cheap
    con.execute(_OWN_DEFINITION.sub("CREATE TABLE alerts_in_time_order(", definition))
    if spill is not None:
        con.execute("SET temp_directory = $dir", {"dir": str(spill)})
    con.execute(f"SET memory_limit = '{memory_size(memory)}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("INSERT INTO alerts_in_time_order SELECT * FROM alerts ORDER BY created_at, source, source_id")
    # Not in a `finally`: after a failure the transaction refuses every statement, and the writer's
    # connection (whose database holds the settings) is closed by the caller anyway.
    con.execute("RESET memory_limit")
    con.execute("RESET preserve_insertion_order")
    con.execute("DROP TABLE alerts")
    con.execute("ALTER TABLE alerts_in_time_order RENAME TO alerts")


def memory_size(memory: str) -> str:
    """A memory size DuckDB reads ('1GB', '512MB'); nothing else reaches the SET statement."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory.strip(), re.IGNORECASE):
        raise ValueError(f"not a memory size: {memory!r} (for example 1GB or 512MB)")
    return memory.strip()
