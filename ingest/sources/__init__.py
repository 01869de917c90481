"""The registry of sync sources: a name → how to tell it is configured and how to sync it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from types import ModuleType

import settings
from ingest.http import HttpPolicy
from ingest.sources import oncall, opsgenie, pagerduty, prometheus
from ingest.sync import SyncOptions, SyncRequest, SyncResult, run_sync


@dataclass(frozen=True)
class Source:
    """A sync source. `problem` says why it cannot run (None when it can); `sync` runs it."""

    name: str
    help: str
    problem: Callable[[settings.Settings], str | None]
    sync: Callable[[str, settings.Settings, SyncRequest], SyncResult]


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    SOURCES[source.name] = source
    return source


# --- sources built on the shared HTTP sync ----------------------------------------------------------

_COMMON_OPTIONS = {"base_url", "region", "overlap_minutes", "backfill_days", "reopen_max_age_days",
                   "batch_records", *(f.name for f in fields(HttpPolicy))}


def base_url(module: ModuleType, config: settings.Settings) -> str:
    """$<PROVIDER>_BASE_URL, else [providers.<name>] base_url, else the configured region's URL."""
    options = config.providers.get(module.SOURCE, {})
    url = os.environ.get(module.BASE_URL_ENV) or options.get("base_url")
    if url:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise settings.ConfigError(f"{module.SOURCE}: base URL must start with https://, got {url!r}")
        return url
    region = options.get("region", "us")
    if region not in module.REGIONS:
        if not module.REGIONS:
            raise settings.ConfigError(
                f"{module.SOURCE}: set {module.BASE_URL_ENV} or providers.{module.SOURCE}.base_url")
        raise settings.ConfigError(
            f"providers.{module.SOURCE}.region: expected one of {', '.join(module.REGIONS)}, got {region!r}")
    return module.REGIONS[region]


def provider_options(module: ModuleType, config: settings.Settings) -> dict:
    options = dict(config.providers.get(module.SOURCE, {}))
    known = _COMMON_OPTIONS | set(module.OPTIONS)
    for name in options:
        if name not in known:
            raise settings.ConfigError(
                f"providers.{module.SOURCE}.{name}: unknown option (known: {', '.join(sorted(known))})")
    size = options.get("page_size", module.PAGE_LIMIT)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= module.PAGE_LIMIT:
        raise settings.ConfigError(
            f"providers.{module.SOURCE}.page_size: expected 1 to {module.PAGE_LIMIT}, got {size!r}")
    return options


def _http_problem(module: ModuleType) -> Callable[[settings.Settings], str | None]:
    def problem(config: settings.Settings) -> str | None:
        if not settings.secret(module.SECRET):
            return f"{module.SOURCE}: set {module.SECRET} in the environment"
        base_url(module, config)
        provider_options(module, config)
        return None

    return problem


def _http_sync(module: ModuleType) -> Callable[[str, settings.Settings, SyncRequest], SyncResult]:
    def sync(db: str, config: settings.Settings, request: SyncRequest) -> SyncResult:
        secret = settings.secret(module.SECRET)
        if not secret:
            raise settings.ConfigError(f"{module.SOURCE}: set {module.SECRET} in the environment")
        options = provider_options(module, config)
        declared = module.provider(base_url(module, config), options)
        return run_sync(db, declared, secret, config, request,
                        policy=HttpPolicy.from_options(module.SOURCE, options),
                        options=SyncOptions.from_options(module.SOURCE, options))

    return sync


for _module, _help in (
    (pagerduty, "PagerDuty incidents, log entries, users, teams, services (US or EU)"),
    (opsgenie, "Opsgenie alerts and their logs, users, teams (US or EU)"),
    (oncall, "Grafana OnCall alert groups, users, teams, integrations"),
):
    register(Source(_module.SOURCE, _help, _http_problem(_module), _http_sync(_module)))

register(Source(prometheus.NAME, "Prometheus ALERTS history (firing intervals), merged with the Alertmanager webhook's rows",
                prometheus.problem, prometheus.sync))
