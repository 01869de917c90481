"""Import a file of Alertmanager webhook payloads (JSON lines or a JSON array), mapped in bulk by DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa

import settings as settings_module
import store
from ingest import alertmanager
from ingest.imports import ImportFailed, ImportFormat, register
from ingest.load import IngestRun
from ingest.mapping import Mapped
from store.upsert import upsert_staged

log = logging.getLogger(__name__)

STREAM = "import"
CHUNK_BYTES = 128 << 20  # one write transaction per this much of a JSON-lines file
# DuckDB's settings for the import's own connection (each part's unit of work), restored
# before the connection is handed back. The memory limit bounds DuckDB's buffer pool, which
# otherwise grows to most of the machine's memory while a part is mapped, merged and
# checkpointed (DuckDB spills to its temporary directory beyond it). The checkpoint at a part's
# commit does not vacuum (merge partly filled row groups into the new ones, rewriting them):
# parts append whole row groups (see ROW_GROUP_ROWS), and the last part's checkpoint vacuums once.
IMPORT_SETTINGS = {"memory_limit": "500MB"}
PART_SETTINGS = {"max_vacuum_tasks": "0"}  # every part but the last
# Rows per row group of a DuckDB table: each part appends a multiple of this many rows and
# carries the rest over to the next part, so no part leaves a partly filled row group behind.
ROW_GROUP_ROWS = 122_880
# One thread appends the staged rows: several threads each leave a partly filled row group
# (which the next vacuum rewrites), and one was no slower at appending a part.
UPSERT_SETTINGS = {"threads": "1"}
# The next part is mapped (into a Parquet file) by one thread of a separate in-memory DuckDB
# while the writer appends the current one with its one thread.
MAPPER_SETTINGS = {"memory_limit": "256MB"}
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROW_COLUMNS = (
    "source", "source_id", "title", "signature", "service", "team", "severity", "created_at",
    "resolved_at", "auto_resolved", "runbook_url", "url", "labels", "raw", "ingested_at",
)  # fmt: skip

# The rules of ingest.alertmanager.map_payload, written once more in SQL so that a file of
# millions of alerts is mapped at DuckDB's speed; tests/test_ingest_alertmanager.py checks that
# both give the same rows. $-parameters are values and JSON paths, never SQL text.
_ALERTS_SQL = """
WITH alerts AS (
    SELECT receiver, groupKey, externalURL, unnest(alerts) AS a
    FROM read_json($path, format = $format, columns = {
        receiver: 'VARCHAR', groupKey: 'VARCHAR', externalURL: 'VARCHAR', alerts: 'JSON[]'})
),
fields AS (  -- one JSON parse per alert for every scalar field
    SELECT receiver, groupKey, externalURL, a, a->'labels' AS labels, json_extract_string(a, [
        '$.status', '$.labels.alertname', '$.startsAt', '$.endsAt', '$.fingerprint',
        '$.annotations.summary', '$.annotations.runbook_url', '$.generatorURL', '$.labels.severity',
        $team_label, $sig1, $sig2, $sig3, $sig4]) AS v
    FROM alerts
),
typed AS (
    SELECT *, v[1] AS status, v[2] AS alertname,
        try_cast(v[3] AS TIMESTAMPTZ) AS starts_at,
        try_cast(nullif(v[4], '0001-01-01T00:00:00Z') AS TIMESTAMPTZ) AS ends_at,
        coalesce(nullif(v[11], ''), nullif(v[12], ''), nullif(v[13], ''), nullif(v[14], ''), '') AS qualifier
    FROM fields
),
checked AS (
    SELECT *, CASE
        WHEN json_type(labels) IS DISTINCT FROM 'OBJECT' THEN 'labels must be an object of strings'
        WHEN coalesce(alertname, '') = '' THEN 'labels lack ''alertname'''
        WHEN starts_at IS NULL OR year(starts_at) NOT BETWEEN 1970 AND 2200
            THEN 'startsAt is missing or not a time: ' || coalesce(v[3], 'null')
        WHEN status IS DISTINCT FROM 'firing' AND status IS DISTINCT FROM 'resolved'
            THEN 'alert status must be ''firing'' or ''resolved'', got ' || coalesce(status, 'null')
        WHEN status = 'resolved' AND ends_at IS NULL THEN 'resolved alert without endsAt'
    END AS problem
    FROM typed
)
SELECT
    problem,
    'alertmanager' AS source,
    coalesce(nullif(v[5], ''), am_fingerprint(labels::VARCHAR))
        || '@' || strftime(starts_at, '%Y-%m-%dT%H:%M:%SZ') AS source_id,
    coalesce(nullif(v[6], ''), alertname) AS title,
    alertname || '|' || qualifier AS signature,
    nullif(qualifier, '') AS service,
    coalesce(nullif(v[10], ''), st.team, 'unassigned') AS team,
    nullif(v[9], '') AS severity,
    starts_at AS created_at,
    CASE WHEN status = 'resolved' THEN ends_at END AS resolved_at,
    CASE WHEN status = 'resolved' THEN true END AS auto_resolved,
    nullif(v[7], '') AS runbook_url,
    nullif(v[8], '') AS url,
    labels,
    ('{"receiver":' || to_json(receiver) || ',"groupKey":' || to_json(groupKey)
        || ',"externalURL":' || to_json(externalURL) || ',"alert":' || a::VARCHAR || '}')::JSON AS raw,
    $ingested_at::TIMESTAMPTZ AS ingested_at,
    CASE WHEN problem IS NOT NULL THEN a::VARCHAR END AS alert_text  -- kept only for quarantine
FROM checked
LEFT JOIN _am_service_teams st ON st.service = nullif(qualifier, '')
"""


def file_format(path: str) -> str:
    """'array' when the file is one JSON array, else 'newline_delimited' (one payload per line)."""
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "array" if head.startswith(b"[") else "newline_delimited"


def _label_path(name: str) -> str:
    if not _LABEL_NAME.match(name):
        raise settings_module.ConfigError(f"alertmanager label name {name!r} is not a Prometheus label name")
    return f"$.labels.{name}"


def _parameters(path: str, config: settings_module.Settings, ingested_at: dt.datetime) -> dict:
    names = list(config.alertmanager_signature_labels)
    if len(names) > 4:
        raise settings_module.ConfigError("alertmanager.signature_labels: at most 4 labels")
    paths = [_label_path(name) for name in names] + ["$.labels.__absent__"] * (4 - len(names))
    return {
        "path": path,
        "format": file_format(path),
        **{f"sig{i + 1}": p for i, p in enumerate(paths)},
        "team_label": _label_path(config.alertmanager_team_label),
        "ingested_at": ingested_at,
    }


def prepare(con: duckdb.DuckDBPyConnection, config: settings_module.Settings) -> None:
    """Give `con` what the mapping query needs: UTC, the fingerprint function, the service→team map."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    try:
        con.create_function(
            "am_fingerprint", _fingerprint_of_json, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR")
        )
    except duckdb.CatalogException:
        pass  # registered earlier on this connection
    teams = pa.table(
        {"service": list(config.service_teams), "team": list(config.service_teams.values())},
        schema=pa.schema([("service", pa.string()), ("team", pa.string())]),
    )
    con.register("_am_service_teams", teams)


def mapped_relation(
    con: duckdb.DuckDBPyConnection, path: str, config: settings_module.Settings, ingested_at: dt.datetime
) -> duckdb.DuckDBPyRelation:
    """The file's alerts as canonical columns plus `problem` (why a row is unusable) and `alert_text`."""
    prepare(con, config)
    return con.sql(_ALERTS_SQL, params=_parameters(path, config, ingested_at))


def _fingerprint_of_json(labels: str | None) -> str | None:
    try:
        return alertmanager.fingerprint(json.loads(labels)) if labels else None
    except (ValueError, TypeError, AttributeError):
        return None


@contextmanager
def chunks(path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[list[str]]:
    """The file as parts of about `chunk_bytes`, split at line ends (a JSON array stays whole)."""
    if file_format(path) == "array" or Path(path).stat().st_size <= chunk_bytes:
        yield [path]
        return
    with tempfile.TemporaryDirectory(prefix="am-import-") as scratch:
        yield list(_split_lines(path, Path(scratch), chunk_bytes))


def _split_lines(path: str, scratch: Path, chunk_bytes: int) -> Iterator[str]:
    """Copy the file into parts that end at line ends; the bytes are copied by the kernel where it can."""
    size = Path(path).stat().st_size
    with open(path, "rb") as source:
        start, number = 0, 0
        while start < size:
            source.seek(min(start + chunk_bytes, size))
            if source.tell() < size:
                source.readline()  # finish the line the part ends in
            end = source.tell()
            part = scratch / f"part-{number:05d}.jsonl"
            with open(part, "wb") as target:
                _copy_range(source, target, start, end - start)
            number += 1
            start = end
            yield str(part)


def _copy_range(source, target, offset: int, length: int) -> None:
    try:
        while length > 0:
            copied = os.copy_file_range(source.fileno(), target.fileno(), length, offset)
            if copied == 0:
                raise OSError("short copy")
            offset, length = offset + copied, length - copied
    except (AttributeError, OSError):  # no copy_file_range here (or across these file systems)
        source.seek(offset)
        while length > 0:
            block = source.read(min(length, 1 << 20))
            target.write(block)
            length -= len(block)


@contextmanager
def _settings(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> Iterator[None]:
    """DuckDB settings for the duration of the block, then the previous values again."""
    before = {name: con.execute("SELECT current_setting(?)", [name]).fetchone()[0] for name in values}
    _set(con, values)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):  # an aborted transaction; the connection is closed after it
            _set(con, before)
        raise
    _set(con, before)


def _set(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    for name, value in values.items():  # names: this module's; values: DuckDB's own
        con.execute(f"RESET {name}")  # the default exactly (its text form may be rounded)
        if str(con.execute("SELECT current_setting(?)", [name]).fetchone()[0]) != str(value):
            con.execute(f"SET {name} = '{value}'")


def load_chunk(
    run: IngestRun,
    path: str,
    config: settings_module.Settings,
    carry: bool = False,
    mapped: list[tuple[str, int]] | None = None,
) -> list[tuple[str, int]]:
    """Map one part of the file and upsert it, with its quarantine, in one write transaction.

    `mapped`: the part's rows already mapped by `map_part`, as Parquet files with the row
    each starts from (rows carried over from earlier parts first, the part's own file last);
    else the part is mapped here. With `carry` (only with `mapped`), the usable rows past the
    last whole row group are left over rather than upserted, and returned as such a list (for
    the next part's `mapped`).
    """
    if carry and not mapped:
        raise ValueError("carrying rows over needs the part mapped ahead (`mapped`)")
    now = dt.datetime.now(dt.UTC)
    with store.writing(run.db) as con:
        with _settings(con, {**IMPORT_SETTINGS, **(PART_SETTINGS if carry else {})}):
            left = _load_part(con, run, path, config, now, carry, mapped)
            # Commit and checkpoint under the import's settings; the block's own commit then
            # closes an empty transaction.
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.execute("BEGIN TRANSACTION")
    return left


_SOURCE_ROWS = 1 << 40  # staged row ids: source number * this + row number in its file


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _load_part(
    con: duckdb.DuckDBPyConnection,
    run: IngestRun,
    path: str,
    config: settings_module.Settings,
    now: dt.datetime,
    carry: bool,
    mapped: list[tuple[str, int]] | None,
) -> list[tuple[str, int]]:
    if mapped:  # a view over the files: the rows are read as they are appended
        # The files are this import's own scratch files, quoted; a view takes no parameters.
        # Rows carried over (all files but the last) were checked by an earlier part: only
        # their usable rows, so that none is quarantined twice.
        sources = " UNION ALL ".join(
            f"SELECT * EXCLUDE (file_row_number), {number} * {_SOURCE_ROWS} + file_row_number AS rowid "  # noqa: S608
            f"FROM read_parquet({_quote(file)}, file_row_number = true) WHERE file_row_number >= {int(first)}"
            + (" AND problem IS NULL" if number < len(mapped) - 1 else "")
            for number, (file, first) in enumerate(mapped)
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW _am_import AS {sources}")
    else:
        prepare(con, config)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _am_import AS " + _ALERTS_SQL, _parameters(path, config, now)
        )
    rejected = con.execute("SELECT alert_text, problem FROM _am_import WHERE problem IS NOT NULL").fetchall()
    where, left = "problem IS NULL", []
    if carry:
        usable = con.execute("SELECT count(*) FROM _am_import WHERE problem IS NULL").fetchone()[0]
        whole = usable - usable % ROW_GROUP_ROWS
        first_left = con.execute(
            "SELECT rowid FROM _am_import WHERE problem IS NULL ORDER BY rowid LIMIT 1 OFFSET ?", [whole]
        ).fetchone()
        if first_left:
            cut = int(first_left[0])
            where = f"problem IS NULL AND rowid < {cut}"
            number, row = divmod(cut, _SOURCE_ROWS)
            left = [(mapped[number][0], row), *mapped[number + 1 :]]
    with _settings(con, UPSERT_SETTINGS):
        written = upsert_staged(
            con, "alerts", "_am_import", ROW_COLUMNS, merge=alertmanager.WEBHOOK_MERGE["alerts"], where=where
        )
    con.execute(f"DROP {'VIEW' if mapped else 'TABLE'} _am_import")
    rejects = Mapped()
    for text, reason in rejected:
        rejects.reject(STREAM, text, reason)
    run.record_batch(con, {"alerts": written}, rejects, now)
    return left


def map_part(path: str, target: str, config: settings_module.Settings, threads: int = 1) -> str:
    """Map a part of the file into `target`, a Parquet file, in a DuckDB of its own (no database
    file open, so no lock held); the rows in the part's order. Returns `target`."""
    con = duckdb.connect()
    try:
        for name, value in {**MAPPER_SETTINGS, "threads": str(threads)}.items():
            con.execute(f"SET {name} = '{value}'")  # this module's constants
        prepare(con, config)
        params = _parameters(path, config, dt.datetime.now(dt.UTC))
        con.execute(
            f"COPY ({_ALERTS_SQL}) TO $target (FORMAT parquet, COMPRESSION lz4_raw, DICTIONARY_SIZE_LIMIT 1, ROW_GROUP_SIZE 16384)",
            {**params, "target": target},
        )
    finally:
        con.close()
    return target


def _load_parts(run: IngestRun, parts: list[str], config: settings_module.Settings) -> None:
    """Load the parts in order; while one part is written, the next one is mapped (two cores busy)."""
    carried: list[tuple[str, int]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="am-map") as mapper:
        # the first part with both threads: nothing is written meanwhile
        pending = mapper.submit(map_part, parts[0], str(Path(parts[0]).with_suffix(".parquet")), config, 2)
        for number, part in enumerate(parts):
            mapped = pending.result()
            last = number == len(parts) - 1
            if not last:
                following = parts[number + 1]
                pending = mapper.submit(
                    map_part, following, str(Path(following).with_suffix(".parquet")), config
                )
            sources = [*carried, (mapped, 0)]
            left = load_chunk(run, part, config, carry=not last, mapped=sources)
            Path(part).unlink(missing_ok=True)
            for file, _ in sources:
                if file not in {kept for kept, _ in left}:
                    Path(file).unlink(missing_ok=True)
            carried = left


def load_file(path: str, db: str, config: settings_module.Settings) -> IngestRun:
    """Import a file of webhook payloads into `db`, one short write transaction per part."""
    if not Path(path).is_file():
        raise ImportFailed(f"{path}: no such file")
    run = IngestRun(db, alertmanager.SOURCE)
    try:
        with chunks(path, CHUNK_BYTES) as parts:
            if len(parts) == 1:
                load_chunk(run, parts[0], config)
            else:
                _load_parts(run, parts, config)
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as exc:
        error = f"{path}: not Alertmanager webhook payloads: {str(exc).splitlines()[0]}"
        run.finish(error=error)
        raise ImportFailed(error) from None
    run.finish()
    return run


register(
    ImportFormat(
        "alertmanager-json",
        "Alertmanager webhook payloads, one JSON object per line or one JSON array",
        load_file,
    )
)
