"""The contract every source implements: what it declares, what it maps, how it is tested.

A source is one module in ingest/sources/ (a large one may keep its mapping or its data in a
second module beside it).

Declares
    `SOURCE`, the name its rows carry in the store, and, when `python -m ingest sync` runs it,
    `SYNC`: an `HttpSource` (a REST API crawled by the framework in ingest/sync.py: its API, its
    streams and their time windows, its secret, regions and options) or a `SyncSource` (a sync
    of its own, such as the Prometheus backfill). A file format registers an
    `ingest.imports.ImportFormat` instead. The help text lives with the declaration.
Maps
    with pure functions: one vendor record (and the `Context` of names seen in earlier streams)
    to canonical rows (`ingest.mapping.Mapped`). A record that cannot be mapped raises
    `MappingError` and is quarantined, never dropped or guessed. A mapping calls no network and
    no database; runs, cursors and quarantine go under the source's own name.
Is tested
    against the vendor's published contract: tests/provider_servers.py serves the vendor's own
    examples from tests/fixtures/<source>/official/ (their README cites where each came from)
    beside variants built from the published schema, and tests/test_ingest_<source>.py syncs
    that server and checks every mapping rule on them, with figures worked out by hand.

A new source is its module, its mapping, its test server, and one line in __init__.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

import settings
from ingest.http import HttpPolicy
from ingest.sync import Provider, SyncOptions, SyncRequest, SyncResult, run_sync

# Options every HttpSource takes under [providers.<name>], beside its own.
COMMON_OPTIONS = frozenset({"base_url", "region", "overlap_minutes", "backfill_days", "reopen_max_age_days",
                            "batch_records", *(f.name for f in fields(HttpPolicy))})


@dataclass(frozen=True)
class SyncSource:
    """A source with a sync of its own. `problem` says why it cannot run (None when it can)."""

    name: str
    help: str
    problem: Callable[[settings.Settings], str | None]
    sync: Callable[[str, settings.Settings, SyncRequest], SyncResult]


@dataclass(frozen=True)
class HttpSource:
    """A REST API synced by the framework: `provider(base_url, options)` declares its streams."""

    name: str
    help: str
    secret: str  # the environment variable holding the token
    base_url_env: str
    regions: Mapping[str, str]  # region → base URL; empty when every account has its own URL
    page_limit: int
    provider: Callable[[str, dict], Provider]
    options: Mapping[str, str] = field(default_factory=dict)  # its own options → their help
    # (secret, options) → why they cannot work together, before any request (None when they can)
    check: Callable[[str, dict], str | None] | None = None
    # options → the base URL when neither $<NAME>_BASE_URL nor base_url is set and there are no
    # regions (JSM Operations: the URL holds the site's cloud id); raises ConfigError if it cannot
    default_url: Callable[[dict], str] | None = None

    def base_url(self, config: settings.Settings) -> str:
        """$<NAME>_BASE_URL, else [providers.<name>] base_url, else the configured region's URL."""
        options = config.providers.get(self.name, {})
        url = os.environ.get(self.base_url_env) or options.get("base_url")
        if url:
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise settings.ConfigError(f"{self.name}: base URL must start with https://, got {url!r}")
            return url
        if self.default_url is not None:
            return self.default_url(options)
        region = options.get("region", "us")
        if region not in self.regions:
            if not self.regions:
                raise settings.ConfigError(f"{self.name}: set {self.base_url_env} or providers.{self.name}.base_url")
            raise settings.ConfigError(
                f"providers.{self.name}.region: expected one of {', '.join(self.regions)}, got {region!r}")
        return self.regions[region]

    def checked_options(self, config: settings.Settings) -> dict:
        """[providers.<name>], every option known and the page size within the API's limit."""
        options = dict(config.providers.get(self.name, {}))
        known = COMMON_OPTIONS | set(self.options)
        for name in options:
            if name not in known:
                raise settings.ConfigError(
                    f"providers.{self.name}.{name}: unknown option (known: {', '.join(sorted(known))})")
        size = options.get("page_size", self.page_limit)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= self.page_limit:
            raise settings.ConfigError(
                f"providers.{self.name}.page_size: expected 1 to {self.page_limit}, got {size!r}")
        return options

    def problem(self, config: settings.Settings) -> str | None:
        secret = settings.secret(self.secret)
        if not secret:
            return f"{self.name}: set {self.secret} in the environment"
        self.base_url(config)
        options = self.checked_options(config)
        return self.check(secret, options) if self.check else None

    def sync(self, db: str, config: settings.Settings, request: SyncRequest) -> SyncResult:
        secret = settings.secret(self.secret)
        if not secret:
            raise settings.ConfigError(f"{self.name}: set {self.secret} in the environment")
        options = self.checked_options(config)
        problem = self.check(secret, options) if self.check else None
        if problem:
            raise settings.ConfigError(problem)
        return run_sync(db, self.provider(self.base_url(config), options), secret, config, request,
                        policy=HttpPolicy.from_options(self.name, options),
                        options=SyncOptions.from_options(self.name, options))
