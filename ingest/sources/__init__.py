"""Every source, one module each, implementing contract.py; SOURCES: those `python -m ingest sync` runs."""

from __future__ import annotations

from ingest.sources import (
    alertmanager_import,  # noqa: F401 - registers the alertmanager-json import format
    csv_exports,  # noqa: F401 - registers the CSV import formats
    jsm,
    oncall,
    opsgenie,
    pagerduty,
    prometheus,
    rota,
    shifts_csv,  # noqa: F401 - registers the shifts-csv import format
)
from ingest.sources.contract import HttpSource, SyncSource

SOURCES: dict[str, HttpSource | SyncSource] = {
    source.name: source for source in (pagerduty.SYNC, opsgenie.SYNC, jsm.SYNC, oncall.SYNC, prometheus.SYNC,
                                       rota.SYNC)
}
