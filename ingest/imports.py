"""The registry of file import formats: a name → the function that loads such a file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import settings
from ingest.load import IngestRun


@dataclass(frozen=True)
class ImportOptions:
    """What the command line may say about a file beyond its format."""

    date_order: str | None = None  # "dmy" or "mdy": how a CSV's slash dates read, when the file cannot tell
    time_zone: str | None = None  # the zone of a CSV's times written without one (a PagerDuty export's)


NO_OPTIONS = ImportOptions()  # the defaults (frozen, so one instance serves every call)


@dataclass(frozen=True)
class ImportFormat:
    """`load(path, db, settings, options)` loads one file and returns its finished IngestRun."""

    name: str
    help: str
    load: Callable[[str, str, settings.Settings, ImportOptions], IngestRun]


class ImportFailed(ValueError):
    """The file cannot be imported (unreadable, wrong format, missing columns, a broken line): one line.

    `loaded` counts the alerts written before the fault (a partial import; they stay, and
    importing the fixed file again duplicates nothing); 0 when nothing was written.
    """

    def __init__(self, message: str, loaded: int = 0):
        super().__init__(message)
        self.loaded = loaded

    def after(self, run: IngestRun) -> ImportFailed:
        """This failure, counting what `run` had written before it."""
        return ImportFailed(str(self), run.totals.by_table.get("alerts", 0))


FORMATS: dict[str, ImportFormat] = {}


def register(fmt: ImportFormat) -> ImportFormat:
    FORMATS[fmt.name] = fmt
    return fmt
