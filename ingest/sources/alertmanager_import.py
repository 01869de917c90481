"""Import a file of Alertmanager webhook payloads (JSON lines or a JSON array), mapped in bulk by DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

import settings as settings_module
import store
from ingest.ahead import ahead
from ingest.imports import NO_OPTIONS, ImportFailed, ImportFormat, ImportOptions, register
from ingest.load import IngestRun
from ingest.mapping import FUTURE_SKEW, Mapped
from ingest.sources import alertmanager
from store.upsert import registered, upsert_staged

STREAM = "import"
# Usable alerts per write transaction: one DuckDB row group, so every transaction but the last
# appends whole row groups (a partly filled one would be rewritten by the next checkpoint).
PART_ROWS = 122_880
BATCH_ROWS = 16_384  # rows per Arrow batch streamed from the mapping query
# The mapping query runs in an in-memory DuckDB of its own, one thread, in a thread of its own:
# while the writer appends one part, the next is mapped (two cores busy). No database file is
# open there, so the mapping holds no lock.
MAPPER_SETTINGS = {"threads": "1", "memory_limit": "256MB"}
# The writer's settings for each part's unit of work, restored before the connection is handed
# back. The memory limit bounds DuckDB's buffer pool, which otherwise grows to most of the
# machine's memory while a part is merged and checkpointed; one thread, because several threads
# would each leave a partly filled row group behind (and one was no slower at appending a part).
WRITER_SETTINGS = {"memory_limit": "500MB", "threads": "1"}
JSON_COLUMNS = ("labels", "raw")  # typed JSON on their way to the writer (as_json)
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROW_COLUMNS = (
    "source", "source_id", "title", "signature", "service", "team", "severity", "created_at",
    "resolved_at", "auto_resolved", "runbook_url", "url", "labels", "raw", "ingested_at",
)  # fmt: skip

# The rules of ingest.sources.alertmanager.map_payload, written once more in SQL so that a file of
# millions of alerts is mapped at DuckDB's speed; tests/test_ingest_alertmanager.py checks that
# both give the same rows. $-parameters are values and JSON paths, never SQL text.
_ALERTS_SQL = """
WITH payloads AS (
    SELECT
        -- the raw record's payload part, written once per payload (in the unnest's own SELECT,
        -- DuckDB would write it once per alert)
        '{"receiver":' || coalesce(to_json(receiver), 'null')
            || ',"groupKey":' || coalesce(to_json(groupKey), 'null')
            || ',"externalURL":' || coalesce(to_json(externalURL), 'null') || ',"alert":' AS raw_head,
        -- a superset of the payloads whose dropped alerts are recorded (dropped_alerts)
        coalesce(try_cast(truncatedAlerts->>'$' AS BIGINT) > 0, false) AS truncated,
        alerts
    FROM read_json($path, format = $format, columns = {
        receiver: 'VARCHAR', groupKey: 'VARCHAR', externalURL: 'VARCHAR', truncatedAlerts: 'JSON',
        alerts: 'JSON[]'})
),
alerts AS (
    SELECT raw_head, truncated, unnest(alerts) AS a FROM payloads
),
fields AS (  -- one JSON parse per alert for every scalar field
    SELECT raw_head, truncated, a, a->'labels' AS labels, json_extract_string(a, [
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
        -- ingest.mapping.implausible: what would make the numbers wrong
        WHEN starts_at > $latest THEN 'created_at is in the future: ' || v[3]
        WHEN status = 'resolved' AND ends_at > $latest THEN 'resolved_at is in the future: ' || v[4]
        WHEN status = 'resolved' AND ends_at < starts_at
            THEN 'resolved_at ' || v[4] || ' is before created_at ' || v[3]
    END AS problem
    FROM typed
)
SELECT
    problem,
    'alertmanager' AS source,
    -- NULL without a fingerprint: with_fingerprints works it out from the labels (a Python
    -- function in this query, even one never called, costs every row a fifth more)
    nullif(v[5], '') || '@' || strftime(starts_at, '%Y-%m-%dT%H:%M:%SZ') AS source_id,
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
    (raw_head || a::VARCHAR || '}') AS raw,
    $ingested_at::TIMESTAMPTZ AS ingested_at,
    -- kept only for quarantine (an alert without a fingerprint may prove to have bad labels)
    CASE WHEN problem IS NOT NULL OR nullif(v[5], '') IS NULL THEN a::VARCHAR END AS alert_text,
    truncated
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
        "latest": ingested_at + FUTURE_SKEW,
    }


def prepare(con: duckdb.DuckDBPyConnection, config: settings_module.Settings) -> None:
    """Give `con` what the mapping query needs: UTC and the service→team map."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    teams = pa.table(
        {"service": list(config.service_teams), "team": list(config.service_teams.values())},
        schema=pa.schema([("service", pa.string()), ("team", pa.string())]),
    )
    con.register("_am_service_teams", teams)


def mapped_relation(
    con: duckdb.DuckDBPyConnection, path: str, config: settings_module.Settings, ingested_at: dt.datetime
) -> duckdb.DuckDBPyRelation:
    """The file's alerts as canonical columns plus `problem` (why a row is unusable), `alert_text`
    and `truncated` (its payload may have dropped alerts). An alert without a fingerprint has no
    `source_id` yet: `with_fingerprints` gives it one."""
    prepare(con, config)
    return con.sql(_ALERTS_SQL, params=_parameters(path, config, ingested_at))


_BAD_LABELS = "labels must be an object of strings"


def with_fingerprints(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with the source_id of each usable alert sent without a fingerprint, from the one
    Alertmanager would give its labels; labels that have none (not all strings) make it unusable."""
    missing = pc.and_(pc.is_null(batch.column("source_id")), pc.is_null(batch.column("problem")))
    if not pc.any(missing).as_py():
        return batch  # Alertmanager sends a fingerprint with every alert
    ids, problems = batch.column("source_id").to_pylist(), batch.column("problem").to_pylist()
    labels, starts = batch.column("labels").to_pylist(), batch.column("created_at").to_pylist()
    for row in pc.indices_nonzero(missing).to_pylist():
        fingerprint = _fingerprint_of_json(labels[row])
        if fingerprint is None:
            problems[row] = _BAD_LABELS
        else:
            ids[row] = alertmanager.source_id(fingerprint, starts[row])
    names = batch.schema.names
    columns = batch.columns
    columns[names.index("source_id")] = pa.array(ids, pa.string())
    columns[names.index("problem")] = pa.array(problems, pa.string())
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def as_json(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with its JSON_COLUMNS typed as JSON, so that the writer stores them without
    parsing each value again (a tenth of its time). They are valid by construction: DuckDB's own
    serialisations of the labels and of the alert, joined with JSON literals (_ALERTS_SQL)."""
    columns = [
        pa.ExtensionArray.from_storage(pa.json_(), column) if name in JSON_COLUMNS else column
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _fingerprint_of_json(labels: str | None) -> str | None:
    try:
        found = json.loads(labels) if labels else None
        if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
            return None
        return alertmanager.fingerprint(found)
    except ValueError:
        return None


@dataclass
class Part:
    """One write transaction's worth of the file: its usable rows and the alerts rejected on the way."""

    rows: pa.Table  # ROW_COLUMNS, in the file's order
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (alert as received, problem)
    truncated: bool = False  # read from a payload that may say Alertmanager dropped alerts


def mapped_parts(
    path: str, config: settings_module.Settings, ingested_at: dt.datetime, part_rows: int | None = None
) -> Generator[Part, None, None]:
    """The file's alerts, mapped by an in-memory DuckDB of its own and streamed as parts of
    `part_rows` (default PART_ROWS) usable rows; the last part holds the rest. Rejected alerts
    travel with the part they were read in, and a run of `part_rows` of them is a part of its
    own: a file of unusable alerts is quarantined a part at a time, never held whole."""
    part_rows = part_rows or PART_ROWS
    con = duckdb.connect()
    try:
        _set(con, MAPPER_SETTINGS)
        reader = mapped_relation(con, path, config, ingested_at).to_arrow_reader(BATCH_ROWS)
        schema = pa.schema(
            [pa.field(name, pa.json_()) if name in JSON_COLUMNS else reader.schema.field(name) for name in ROW_COLUMNS]
        )
        pending, count, rejected, truncated = [], 0, [], False
        for batch in _batches(reader, path):
            truncated = truncated or bool(pc.any(batch.column("truncated")).as_py())
            batch = with_fingerprints(batch)
            usable = pc.is_null(batch.column("problem"))
            good = as_json(batch.select(ROW_COLUMNS), schema)
            if not pc.all(usable).as_py():  # filtered only then: a filter copies every value
                bad = batch.filter(pc.invert(usable))
                rejected += zip(bad.column("alert_text").to_pylist(), bad.column("problem").to_pylist(), strict=True)
                good = good.filter(usable)
            pending.append(good)
            count += good.num_rows
            while count >= part_rows:
                rows = pa.Table.from_batches(pending)
                yield Part(rows.slice(0, part_rows), rejected, truncated)
                rest = rows.slice(part_rows)
                pending, count, rejected, truncated = rest.to_batches(), rest.num_rows, [], False
            if len(rejected) >= part_rows:
                yield Part(pa.Table.from_batches(pending, schema=schema), rejected, truncated)
                pending, count, rejected, truncated = [], 0, [], False
        if count or rejected:  # a batch read from a truncated payload has a row
            yield Part(pa.Table.from_batches(pending, schema=schema), rejected, truncated)
    finally:
        con.close()


def _batches(reader: pa.RecordBatchReader, path: str) -> Iterator[pa.RecordBatch]:
    """The reader's batches; the query's errors, which reach pyarrow as OSError, as ImportFailed."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except OSError as exc:
            raise _unreadable(path, exc) from None
        yield batch


def _unreadable(path: str, error: Exception) -> ImportFailed:
    return ImportFailed(f"{path}: not Alertmanager webhook payloads: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


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


def write_part(run: IngestRun, part: Part, now: dt.datetime) -> None:
    """Upsert one part and quarantine its rejects in one write transaction (a unit of work)."""
    with store.writing(run.db) as con, _settings(con, WRITER_SETTINGS):
        rows = part.rows.append_column("_ord", pa.array(range(part.rows.num_rows), pa.int64()))
        with registered(con, "_am_import", rows):
            written = upsert_staged(
                con, "alerts", "_am_import", ROW_COLUMNS, merge=alertmanager.WEBHOOK_MERGE["alerts"], order="_ord",
                key_time="created_at",  # the key holds startsAt, to the second
            )
        rejects = Mapped()
        for text, reason in part.rejected:
            rejects.reject(STREAM, text, reason)
        run.record_batch(con, {"alerts": written}, rejects, now)
        # Commit and checkpoint under the writer's settings; the block's own commit then closes
        # an empty transaction.
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        con.execute("BEGIN TRANSACTION")


# The payloads that say Alertmanager dropped alerts past max_alerts (few): parsed in Python, so a
# payload counts once whether it came through the receiver or a file.
_DROPPED_SQL = """
SELECT json FROM read_json_objects($path, format = $format)
WHERE try_cast(json->>'$.truncatedAlerts' AS BIGINT) > 0
"""


def dropped_alerts(path: str) -> Mapped:
    """The file's `dropped_alerts` rows (METRICS.md is silent; the Data page says: raise max_alerts)."""
    out = Mapped()
    with duckdb.connect() as con:
        _set(con, MAPPER_SETTINGS)
        for (text,) in con.execute(_DROPPED_SQL, {"path": path, "format": file_format(path)}).fetchall():
            payload = json.loads(text)
            row = alertmanager.dropped_row(payload) if alertmanager.payload_problem(payload) is None else None
            if row is not None:
                out.add("dropped_alerts", row)
    return out


def load_file(path: str, db: str, config: settings_module.Settings, options: ImportOptions = NO_OPTIONS) -> IngestRun:
    """Import a file of webhook payloads into `db`, one short write transaction per part; the
    next part is mapped while one is written."""
    if not Path(path).is_file():
        raise ImportFailed(f"{path}: no such file")
    now = dt.datetime.now(dt.UTC)
    # Mapping starts at once, while the database is opened for the run.
    # The bar shows on a terminal only (disable=None).
    bar = tqdm(desc="alertmanager import", unit=" alerts", unit_scale=True, disable=None)
    with ahead(mapped_parts(path, config, now)) as parts, bar:
        run = IngestRun(db, alertmanager.SOURCE)
        truncated = False
        try:
            for part in parts:
                write_part(run, part, now)
                truncated = truncated or part.truncated
                bar.update(part.rows.num_rows + len(part.rejected))
        except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as exc:
            failure = _unreadable(path, exc)
        except ImportFailed as exc:
            failure = exc
        except (duckdb.Error, store.DatabaseBusy, store.DatabaseError, MemoryError, OSError) as exc:
            # Not the file's fault (the database, the disk, memory): the parts written stay and the
            # run is closed as failed, so it never reads as still running.
            failure = ImportFailed(f"{path}: the import stopped: {_first_line(exc)}")
        else:
            failure = None
    if failure is None and truncated:  # a second reading of the file, for the few payloads that need it
        try:
            run.load(STREAM, dropped_alerts(path))
        except (duckdb.Error, ValueError) as exc:
            failure = _unreadable(path, exc)
    if failure:
        run.finish(error=str(failure))
        raise failure.after(run) from None
    run.finish()
    return run


register(
    ImportFormat(
        "alertmanager-json",
        "Alertmanager webhook payloads, one JSON object per line or one JSON array",
        load_file,
    )
)
