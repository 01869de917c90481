"""The registry of file import formats: a name → the function that loads such a file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import settings
from ingest.load import IngestRun


@dataclass(frozen=True)
class ImportFormat:
    """`load(path, db, settings)` loads one file and returns its finished IngestRun."""

    name: str
    help: str
    load: Callable[[str, str, settings.Settings], IngestRun]


class ImportFailed(ValueError):
    """The file cannot be imported at all (unreadable, wrong format, missing columns): one line."""


FORMATS: dict[str, ImportFormat] = {}


def register(fmt: ImportFormat) -> ImportFormat:
    FORMATS[fmt.name] = fmt
    return fmt
