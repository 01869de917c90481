"""Import a file of Alertmanager webhook payloads (JSON lines or a JSON array), mapped in bulk by DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
# For the import's parts: the checkpoint at each part's commit does not vacuum (merge the
# previous parts' partly filled last row groups into the new ones, rewriting them: about a
# second per part). The next checkpoint with the default (the run's last write) merges them once.
WRITE_SETTINGS = ("SET max_vacuum_tasks = 0",)
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


def load_chunk(run: IngestRun, path: str, config: settings_module.Settings) -> None:
    """Map one part of the file and upsert it, with its quarantine, in one write transaction."""
    now = dt.datetime.now(dt.UTC)
    with store.writing(run.db) as con:
        for setting in WRITE_SETTINGS:
            con.execute(setting)
        prepare(con, config)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _am_import AS " + _ALERTS_SQL, _parameters(path, config, now)
        )
        rejected = con.execute(
            "SELECT alert_text, problem FROM _am_import WHERE problem IS NOT NULL"
        ).fetchall()
        written = upsert_staged(
            con,
            "alerts",
            "_am_import",
            ROW_COLUMNS,
            merge=alertmanager.WEBHOOK_MERGE["alerts"],
            where="problem IS NULL",
        )
        con.execute("DROP TABLE _am_import")
        mapped = Mapped()
        for text, reason in rejected:
            mapped.reject(STREAM, text, reason)
        run.record_batch(con, {"alerts": written}, mapped, now)


def load_file(path: str, db: str, config: settings_module.Settings) -> IngestRun:
    """Import a file of webhook payloads into `db`, one short write transaction per part."""
    if not Path(path).is_file():
        raise ImportFailed(f"{path}: no such file")
    run = IngestRun(db, alertmanager.SOURCE)
    try:
        with chunks(path, CHUNK_BYTES) as parts:
            for part in parts:
                load_chunk(run, part, config)
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
