"""Configuration from alerthygiene.toml and secrets from the environment, read in one place."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CONFIG_FILE = "alerthygiene.toml"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SECRET_VARIABLES = (
    "PAGERDUTY_TOKEN",
    "OPSGENIE_API_KEY",
    "GRAFANA_ONCALL_TOKEN",
    "ALERTMANAGER_WEBHOOK_TOKEN",
    # Where the outcome goes: a webhook URL carries its own credential, so it is a secret too.
    "SLACK_WEBHOOK_URL",
    "SLACK_SIGNING_SECRET",
    "TEAMS_WEBHOOK_URL",
    "DIGEST_WEBHOOK_URL",
    "JIRA_API_TOKEN",
    "GITHUB_TOKEN",
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message is one line for the user."""


@dataclass(frozen=True)
class Hours:
    """When a team works and sleeps, in its local time."""

    business_start: dt.time = dt.time(8)
    business_end: dt.time = dt.time(18)
    sleep_start: dt.time = dt.time(22)
    sleep_end: dt.time = dt.time(8)
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    holidays: str | None = None  # a country code of the `holidays` package, e.g. "DE"


@dataclass(frozen=True)
class TeamSettings:
    time_zone: str | None = None
    hours: Hours | None = None  # None: the default hours
    max_wakeups_per_sprint: int | None = None
    max_noise_ratio: float | None = None
    max_mtta_s: float | None = None


@dataclass(frozen=True)
class Thresholds:
    transient_s: int = 300
    flap_s: int = 1800
    grouping_window_s: int = 60
    novelty_lookback_days: int = 90
    hold_down_s: int = 300
    repeat_offender_sprints: int = 3
    ack_to_resolve_cap_s: int = 4 * 3600
    paging_ceiling_per_shift: int = 2
    on_call_night_min_hours: float = 1  # sleep hours on call that make a night an on-call night


@dataclass(frozen=True)
class Advice:
    """Thresholds of the advisor (METRICS.md, Advice), and where the team's configuration lives."""

    window_s: int = 120  # co-firing: B created within this many seconds of A
    inhibit_probability: float = 0.9  # P(B|A) an inhibition candidate needs
    inhibit_support: int = 5  # co-firing pairs an inhibition candidate needs
    shared_label_share: float = 0.95  # a label is shared when equal in this share of the pairs
    group_probability: float = 0.5  # P(B|A) and P(A|B) that make two signatures of a service a group
    hold_down_minutes: tuple[int, ...] = (0, 1, 2, 5, 10, 15, 30)  # the hold-downs replayed
    hold_down_share: float = 0.8  # of the pages the largest hold-down avoids
    delay_budget_s: int = 300  # the most a hold-down may delay attended alerts
    rules: str | None = None  # a directory of Prometheus rule files, for the Advisor page
    alertmanager_config: str | None = None  # the Alertmanager configuration file, for the Advisor page


@dataclass(frozen=True)
class CostModel:
    business_minutes: float = 15
    off_minutes: float = 30
    sleep_minutes: float = 60


@dataclass(frozen=True)
class RotaPerson:
    """Someone on a configured rota: `person_id` is how they are written there (e-mail or name)."""

    person_id: str
    name: str | None = None
    email: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class Rota:
    """An on-call rotation written in the configuration, for teams whose alerting has no schedules."""

    name: str
    people: tuple[RotaPerson, ...]
    start: dt.date  # the date of the first hand-over
    handover: dt.time = dt.time(9)  # local time of every hand-over
    length_days: float = 7  # each turn; may be a fraction of a day (0.5: 12-hour turns)
    time_zone: str = "UTC"
    team: str | None = None
    escalation_level: int = 1


@dataclass(frozen=True)
class Outcome:
    """Where the retro's outcome goes: links back into the dashboard, the digest, tickets."""

    dashboard_url: str | None = None  # the dashboard's address as people open it, for links back
    digest_noisy: int = 5  # noisy signatures a chat digest lists
    jira_project: str | None = None  # the project key tickets are opened in, e.g. "OPS"
    jira_issue_type: str = "Task"


@dataclass(frozen=True)
class Settings:
    sprint_anchor: dt.date = dt.date(2026, 1, 5)  # a Monday
    sprint_length_days: int = 14
    default_time_zone: str = "UTC"
    hours: Hours = field(default_factory=Hours)
    teams: dict[str, TeamSettings] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    cost: CostModel = field(default_factory=CostModel)
    advice: Advice = field(default_factory=Advice)
    service_teams: dict[str, str] = field(default_factory=dict)
    alertmanager_signature_labels: tuple[str, ...] = ("service", "job", "namespace")
    alertmanager_team_label: str = "team"
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotas: dict[str, Rota] = field(default_factory=dict)
    outcome: Outcome = field(default_factory=Outcome)
    source_file: str | None = None

    def team(self, name: str) -> TeamSettings:
        return self.teams.get(name, TeamSettings())

    def team_time_zone(self, name: str) -> str:
        return self.team(name).time_zone or self.default_time_zone

    def team_hours(self, name: str) -> Hours:
        return self.team(name).hours or self.hours

    def sprint_start(self, day: dt.date) -> dt.date:
        """The first day of the sprint that contains `day`."""
        offset = (day - self.sprint_anchor).days % self.sprint_length_days
        return day - dt.timedelta(days=offset)


def secret(name: str) -> str | None:
    """A secret from the environment; never from files, never logged."""
    value = os.environ.get(name)
    return value or None


# --- redaction: no secret reaches a log line ---------------------------------------------------------

REDACTED = "***"
# Credentials in the shapes the providers and the receiver use, whatever their value.
_CREDENTIAL = re.compile(
    r"(?P<keep>(?:authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|token|genie[\s_-]?key|basic)\s*)?(?:token\s*=\s*)?|bearer\s+|token\s+token\s*=\s*"
    r"|geniekey\s+)(?P<secret>[^\s\"',;}\]]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every current secret value and every credential-shaped token replaced by ***."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        for part in _secret_parts(value):
            text = text.replace(part, REDACTED)
    return _CREDENTIAL.sub(lambda m: m["keep"] + REDACTED, text)


def _secret_parts(value: str | None) -> list[str]:
    """A secret, and for a webhook URL also its path and query, which HTTP libraries log on their own."""
    if not value or len(value) < 4:  # a one- to three-character "secret" would blank ordinary text
        return []
    parts = [value]
    if value.startswith(("https://", "http://")):
        after_host = value.split("/", 3)[3] if value.count("/") >= 3 else ""
        if len(after_host) >= 8:
            parts.append(after_host)
    return parts


class RedactingFilter(logging.Filter):
    """Redacts secrets in a record's message, arguments, exception and stack text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep what can be shown
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction() -> None:
    """Put one RedactingFilter on every handler there is now (root and named loggers); idempotent."""
    loggers = [logging.getLogger(), *(
        item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


# --- parsing -------------------------------------------------------------------------------


def _fail(key: str, expected: str, got: Any) -> None:
    raise ConfigError(f"{key}: expected {expected}, got {got!r}")


def _time_zone(key: str, value: Any) -> str:
    if not isinstance(value, str):
        _fail(key, "an IANA time zone name like 'Europe/Berlin'", value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(key, "an IANA time zone name like 'Europe/Berlin'", value)
    return value


def _clock(key: str, value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        _fail(key, "a time of day like '08:00'", value)


EARLIEST_YEAR, LATEST_YEAR = 1970, 2200  # the dates this program reckons with (as the stored alerts)


def _date(key: str, value: Any) -> dt.date:
    if not (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        try:
            value = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            _fail(key, "a date like 2026-01-05", value)
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        _fail(key, f"a date from {EARLIEST_YEAR} to {LATEST_YEAR}", value.isoformat())
    return value


def number(key: str, value: Any, kind: type = float, minimum: float = 0, maximum: float | None = None) -> Any:
    """A finite number within [minimum, maximum] (an int when `kind` is int), else ConfigError naming `key`.

    nan, inf and absurd sizes are refused here, at the edge: downstream they became "inf h" in a
    report or an OverflowError in date arithmetic.
    """
    what = "an integer" if kind is int else "a number"
    expected = f"{what} {f'from {_shown(minimum)} to {_shown(maximum)}' if maximum is not None else f'>= {_shown(minimum)}'}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(key, expected, value)
    if isinstance(value, float) and not math.isfinite(value):
        _fail(key, expected, value)
    if value < minimum or (maximum is not None and value > maximum):
        _fail(key, expected, value)
    if kind is int and value != int(value):
        _fail(key, "an integer", value)
    return kind(value)


_number = number


def _shown(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"
# The largest sensible value of each numeric setting (larger ones are typing mistakes that overflow).
DAY_S, YEAR_DAYS = 86400, 366
MAXIMUMS = {
    "sprint.length_days": YEAR_DAYS,
    "transient_s": 30 * DAY_S, "flap_s": 30 * DAY_S, "grouping_window_s": 30 * DAY_S, "hold_down_s": 30 * DAY_S,
    "ack_to_resolve_cap_s": 30 * DAY_S, "novelty_lookback_days": 10 * YEAR_DAYS, "repeat_offender_sprints": 100,
    "paging_ceiling_per_shift": 1000,
    "business_minutes": 24 * 60, "off_minutes": 24 * 60, "sleep_minutes": 24 * 60,
    "max_wakeups_per_sprint": 100_000,
}  # fmt: skip


def _table(key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        _fail(key, "a table", value)
    return value


def _reject_unknown(prefix: str, table: dict, known: set[str]) -> None:
    for name in table:
        if name not in known:
            raise ConfigError(f"{prefix}{name}: unknown key (known: {', '.join(sorted(known))})")


def _holidays(key: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    import holidays  # imported here: it is slow to import and only needed with a calendar

    if not isinstance(value, str) or value.upper() not in holidays.list_supported_countries():
        _fail(key, "a country code of the holidays package like 'DE' or 'US'", value)
    return value.upper()


_HOURS_KEYS = {"business_start", "business_end", "sleep_start", "sleep_end", "working_days", "holidays"}


def _hours(prefix: str, table: dict, base: Hours) -> Hours:
    _reject_unknown(prefix, table, _HOURS_KEYS)
    hours = base
    for name in ("business_start", "business_end", "sleep_start", "sleep_end"):
        if name in table:
            hours = replace(hours, **{name: _clock(prefix + name, table[name])})
    if "working_days" in table:
        days = table["working_days"]
        if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
            _fail(prefix + "working_days", f"a list of {', '.join(WEEKDAYS)}", days)
        hours = replace(hours, working_days=tuple(sorted(WEEKDAYS.index(d) for d in days)))
    if "holidays" in table:
        hours = replace(hours, holidays=_holidays(prefix + "holidays", table["holidays"]))
    return hours


def _dataclass_numbers(prefix: str, table: dict, base: Any) -> Any:
    known = {f.name: f.type for f in fields(base)}
    _reject_unknown(prefix, table, set(known))
    values = {}
    for name, value in table.items():
        kind = int if known[name] in ("int", int) else float
        values[name] = _number(prefix + name, value, kind, maximum=MAXIMUMS.get(name))
    return replace(base, **values)


_SHARES = ("inhibit_probability", "shared_label_share", "group_probability", "hold_down_share")


def _advice(table: dict) -> Advice:
    table = dict(table)
    paths = {}
    for name in ("rules", "alertmanager_config"):
        if name in table:
            value = table.pop(name)
            if not isinstance(value, str) or not value:
                _fail(f"advice.{name}", "a file path", value)
            paths[name] = value
    minutes = table.pop("hold_down_minutes", None)
    advice = replace(_dataclass_numbers("advice.", table, Advice()), **paths)
    for name in _SHARES:
        if getattr(advice, name) > 1:
            _fail(f"advice.{name}", "a share between 0 and 1", getattr(advice, name))
    if minutes is not None:
        if (
            not isinstance(minutes, list) or not minutes
            or any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in minutes)
        ):
            _fail("advice.hold_down_minutes", "a list of whole minutes >= 0", minutes)
        advice = replace(advice, hold_down_minutes=tuple(sorted(set(minutes))))
    return advice


def parse(doc: dict, source_file: str | None = None) -> Settings:
    """Settings from a parsed TOML document; raises ConfigError naming the bad key."""
    _reject_unknown(
        "",
        doc,
        {"sprint", "time", "hours", "teams", "thresholds", "cost", "advice", "services", "alertmanager", "providers",
         "rotas", "outcome"},
    )
    settings = Settings(source_file=source_file)
    sprint = _table("sprint", doc.get("sprint", {}))
    _reject_unknown("sprint.", sprint, {"anchor", "length_days"})
    if "anchor" in sprint:
        settings = replace(settings, sprint_anchor=_date("sprint.anchor", sprint["anchor"]))
    if "length_days" in sprint:
        settings = replace(
            settings, sprint_length_days=_number("sprint.length_days", sprint["length_days"], int, 1,
                                                 MAXIMUMS["sprint.length_days"])
        )
    time_table = _table("time", doc.get("time", {}))
    _reject_unknown("time.", time_table, {"default_time_zone"})
    if "default_time_zone" in time_table:
        settings = replace(
            settings, default_time_zone=_time_zone("time.default_time_zone", time_table["default_time_zone"])
        )
    settings = replace(settings, hours=_hours("hours.", _table("hours", doc.get("hours", {})), Hours()))

    teams = {}
    for name, table in _table("teams", doc.get("teams", {})).items():
        prefix = f"teams.{name}."
        table = dict(_table(f"teams.{name}", table))
        own = {k: table.pop(k) for k in list(table) if k in _HOURS_KEYS}
        _reject_unknown(prefix, table, {"time_zone", "max_wakeups_per_sprint", "max_noise_ratio", "max_mtta_s"})
        teams[name] = TeamSettings(
            time_zone=_time_zone(prefix + "time_zone", table["time_zone"]) if "time_zone" in table else None,
            hours=_hours(prefix, own, settings.hours) if own else None,
            max_wakeups_per_sprint=(
                _number(prefix + "max_wakeups_per_sprint", table["max_wakeups_per_sprint"], int,
                        maximum=MAXIMUMS["max_wakeups_per_sprint"])
                if "max_wakeups_per_sprint" in table
                else None
            ),
            max_noise_ratio=(
                _number(prefix + "max_noise_ratio", table["max_noise_ratio"], maximum=1)
                if "max_noise_ratio" in table
                else None
            ),
            max_mtta_s=_number(prefix + "max_mtta_s", table["max_mtta_s"]) if "max_mtta_s" in table else None,
        )
    settings = replace(settings, teams=teams)

    settings = replace(
        settings,
        thresholds=_dataclass_numbers("thresholds.", _table("thresholds", doc.get("thresholds", {})), Thresholds()),
        cost=_dataclass_numbers("cost.", _table("cost", doc.get("cost", {})), CostModel()),
    )
    settings = replace(settings, advice=_advice(_table("advice", doc.get("advice", {}))))
    services = _table("services", doc.get("services", {}))
    for name, team in services.items():
        if not isinstance(team, str) or not team:
            _fail(f"services.{name}", "a team name", team)
    settings = replace(settings, service_teams=dict(services))

    am = _table("alertmanager", doc.get("alertmanager", {}))
    _reject_unknown("alertmanager.", am, {"signature_labels", "team_label"})
    if "signature_labels" in am:
        labels = am["signature_labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            _fail("alertmanager.signature_labels", "a list of label names", labels)
        settings = replace(settings, alertmanager_signature_labels=tuple(labels))
    if "team_label" in am:
        if not isinstance(am["team_label"], str):
            _fail("alertmanager.team_label", "a label name", am["team_label"])
        settings = replace(settings, alertmanager_team_label=am["team_label"])

    providers = _table("providers", doc.get("providers", {}))
    for name, table in providers.items():
        for key in _table(f"providers.{name}", table):
            if any(word in key.lower() for word in ("token", "key", "secret", "password")):
                raise ConfigError(
                    f"providers.{name}.{key}: secrets are read only from the environment, "
                    "never from the configuration file"
                )
    rotas = {name: _rota(name, table) for name, table in _table("rotas", doc.get("rotas", {})).items()}
    outcome = _outcome(_table("outcome", doc.get("outcome", {})))
    return replace(settings, providers={k: dict(v) for k, v in providers.items()}, rotas=rotas, outcome=outcome)


def _outcome(table: dict) -> Outcome:
    _reject_unknown("outcome.", table, {f.name for f in fields(Outcome)})
    outcome = Outcome()
    url = table.get("dashboard_url")
    if url is not None:
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
            _fail("outcome.dashboard_url", "the dashboard's address, like 'https://alert-hygiene.example.com'", url)
        outcome = replace(outcome, dashboard_url=url.rstrip("/"))
    if "digest_noisy" in table:
        count = _number("outcome.digest_noisy", table["digest_noisy"], int, 1)
        if count > 10:
            _fail("outcome.digest_noisy", "an integer from 1 to 10", count)
        outcome = replace(outcome, digest_noisy=count)
    for name in ("jira_project", "jira_issue_type"):
        if name in table:
            value = table[name]
            if not isinstance(value, str) or not value.strip():
                _fail(f"outcome.{name}", "a name like 'OPS'" if name == "jira_project" else "an issue type like 'Task'",
                      value)
            outcome = replace(outcome, **{name: value.strip()})
    return outcome


_ROTA_KEYS = {"people", "start", "handover", "length_days", "time_zone", "team", "escalation_level"}


def _rota_person(key: str, value: Any) -> RotaPerson:
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return RotaPerson(text, email=text if "@" in text else None, name=None if "@" in text else text)
    table = _table(key, value)
    _reject_unknown(key + ".", table, {"name", "email", "time_zone"})
    name, email = table.get("name"), table.get("email")
    for part, text in (("name", name), ("email", email)):
        if text is not None and (not isinstance(text, str) or not text.strip()):
            _fail(f"{key}.{part}", "text", text)
    if not (name or email):
        _fail(key, "an e-mail address or name, or a table with email and/or name", value)
    zone = _time_zone(key + ".time_zone", table["time_zone"]) if "time_zone" in table else None
    return RotaPerson((email or name).strip(), name=name, email=email, time_zone=zone)


def _rota(name: str, value: Any) -> Rota:
    prefix = f"rotas.{name}."
    table = _table(f"rotas.{name}", value)
    _reject_unknown(prefix, table, _ROTA_KEYS)
    people = table.get("people")
    if not isinstance(people, list) or not people:
        _fail(prefix + "people", "a list of people (e-mail or name) in the order they take turns", people)
    if "start" not in table:
        _fail(prefix + "start", "the date of the first hand-over, like 2026-01-05", None)
    length = _number(prefix + "length_days", table.get("length_days", 7))
    if not 1 / 24 <= length <= 366 or (length * 24) != int(length * 24):
        _fail(prefix + "length_days", "whole hours from 1/24 to 366 days", length)
    team = table.get("team")
    if team is not None and (not isinstance(team, str) or not team):
        _fail(prefix + "team", "a team name", team)
    level = _number(prefix + "escalation_level", table.get("escalation_level", 1), int, 1)
    return Rota(
        name=name,
        people=tuple(_rota_person(f"{prefix}people[{i}]", p) for i, p in enumerate(people)),
        start=_date(prefix + "start", table["start"]),
        handover=_clock(prefix + "handover", table.get("handover", "09:00")),
        length_days=length,
        time_zone=_time_zone(prefix + "time_zone", table.get("time_zone", "UTC")),
        team=team,
        escalation_level=level,
    )


def load(path: str | os.PathLike | None = None) -> Settings:
    """Settings from `path`, else ./alerthygiene.toml when present, else the defaults."""
    explicit = path is not None
    path = Path(path) if explicit else Path(DEFAULT_CONFIG_FILE)
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: configuration file not found")
        return Settings()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        return parse(doc, str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
