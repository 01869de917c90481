"""`python -m metrics advise`: the team's configuration read, the advice built and checked, the patch printed."""

from __future__ import annotations

import argparse

from advisor import output
from advisor.amconfig import AmConfig
from advisor.plan import Configs, Plan, build
from advisor.rules import RuleSet
from advisor.yamlpatch import PatchError

EPILOG = """\
examples:
  python -m metrics advise --team payments --rules monitoring/rules \\
      --alertmanager-config monitoring/alertmanager.yml > advice.patch && git apply advice.patch
  python -m metrics advise --team search --prometheus http://prometheus:9090 --format yaml
  python -m metrics advise --sprint 2026-03-10 --format json      (paging providers: settings in words)

The patch changes only the lines it must, each with a comment giving its evidence; every patched
file is checked with promtool / amtool when they are installed. Dates are read in the configured
time zone; --to is exclusive.
Exit codes: 0 done, 1 the database or Prometheus could not be read, or a patched file fails its
check, 2 bad usage or configuration.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", action="append", metavar="PATH",
                        help="a Prometheus rule file or a directory of them (repeatable)")  # fmt: skip
    parser.add_argument("--prometheus", metavar="URL", help="read the rules from Prometheus's /api/v1/rules instead")
    parser.add_argument("--alertmanager-config", metavar="FILE", help="the Alertmanager configuration file")
    parser.add_argument("--format", choices=sorted(output.RENDERERS), default="diff", help="default: diff")


class ConfigurationError(Exception):
    """The team's rule files or Alertmanager configuration cannot be used (exit 2)."""


class SourceError(Exception):
    """Prometheus could not be read (exit 1)."""


def configs(args: argparse.Namespace, config) -> Configs:
    """The rule files and Alertmanager configuration the options (else the settings' [advice]) name."""
    defaults = config.advice
    rules_paths = args.rules or ([defaults.rules] if defaults.rules and not args.prometheus else [])
    if rules_paths and args.prometheus:
        raise ConfigurationError("--rules and --prometheus: give one of them")
    am_path = args.alertmanager_config or defaults.alertmanager_config
    try:
        rules = RuleSet.from_paths(rules_paths) if rules_paths else None
        if args.prometheus:
            rules = rules_from_prometheus(args.prometheus, config.providers.get("prometheus", {}))
        am = AmConfig.read(am_path) if am_path else None
    except PatchError as exc:
        raise ConfigurationError(str(exc)) from None
    return Configs(rules, am)


def rules_from_prometheus(url: str, options: dict) -> RuleSet:
    """The rules Prometheus has loaded, through the backfill's client (its [providers.prometheus] retries)."""
    from ingest.http import HttpPolicy, ProviderError
    from ingest.sources.prometheus import NAME, PrometheusApi
    from settings import ConfigError

    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"--prometheus must be an http:// or https:// URL, got {url!r}")
    try:
        policy = HttpPolicy.from_options(NAME, options)
        data = PrometheusApi(url.rstrip("/"), policy).get("/api/v1/rules")
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    except ProviderError as exc:
        raise SourceError(str(exc)) from None
    return RuleSet.from_api(data, url)


def advise(args: argparse.Namespace, db: str, period, config) -> tuple[str, Plan]:
    plan = build(db, period, args.team, config, configs(args, config))
    return output.RENDERERS[args.format](plan), plan
