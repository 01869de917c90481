"""Configuration: the shipped example parses, every setting is documented, bad values get one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tomllib

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import metrics
import settings
from tests.conftest import ROOT

EXAMPLE = ROOT / "alerthygiene.example.toml"


def _uncommented_example() -> str:
    """The example with every commented-out key switched on."""
    return re.sub(r"(?m)^# (\[|[a-z_\"-]+ = )", r"\1", EXAMPLE.read_text())


def test_the_example_file_parses_with_and_without_its_commented_keys(tmp_path):
    assert settings.load(EXAMPLE) == dataclasses.replace(settings.Settings(), source_file=str(EXAMPLE))
    full = tmp_path / "alerthygiene.toml"
    full.write_text(_uncommented_example())
    config = settings.load(full)
    assert config.team_time_zone("payments") == "Europe/Berlin"
    assert config.team_hours("payments").holidays == "DE"
    assert config.team("payments").max_noise_ratio == 0.3
    assert config.service_teams == {"checkout-api": "payments"}
    assert config.team_time_zone("search") == "UTC"
    assert config.outcome.dashboard_url == "https://alert-hygiene.example.com"
    assert config.outcome.jira_project == "OPS"


def test_every_setting_is_documented_in_the_example():
    text = EXAMPLE.read_text()
    documented = set(re.findall(r"(?m)^#? ?([a-z_]+) = ", text))
    for section in (settings.Thresholds, settings.CostModel, settings.Hours, settings.Advice, settings.Outcome):
        for field in dataclasses.fields(section):
            assert field.name in documented, f"{field.name} is not in alerthygiene.example.toml"
    for name in ("time_zone", "max_wakeups_per_sprint", "max_noise_ratio", "anchor", "length_days",
                 "default_time_zone", "signature_labels", "team_label"):
        assert name in documented


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[sprint]\nlength_days = 0", "sprint.length_days: expected an integer from 1 to 366, got 0"),
        ("[sprint]\nlength_days = 100000000000", "sprint.length_days: expected an integer from 1 to 366"),
        ("[sprint]\nanchor = 0001-01-01", "sprint.anchor: expected a date from 1970 to 2200"),
        ("[cost]\nsleep_minutes = inf", "cost.sleep_minutes: expected a number from 0 to 1440, got inf"),
        ("[cost]\noff_minutes = nan", "cost.off_minutes: expected a number from 0 to 1440, got nan"),
        ("[thresholds]\nflap_s = 1e300", "thresholds.flap_s: expected an integer from 0 to 2592000"),
        ("[sprint]\nanchor = 'soon'", "sprint.anchor: expected a date like 2026-01-05, got 'soon'"),
        ("[time]\ndefault_time_zone = 'Mars/Olympus'", "time.default_time_zone: expected an IANA time zone"),
        ("[thresholds]\ntransient_s = 'five'", "thresholds.transient_s: expected an integer from 0 to"),
        ("[thresholds]\nflapping = 3", "thresholds.flapping: unknown key"),
        ("[hours]\nworking_days = ['Monday']", "hours.working_days: expected a list of Mon, Tue"),
        ("[hours]\nsleep_start = '25:00'", "hours.sleep_start: expected a time of day like '08:00'"),
        ("[teams.ops]\nholidays = 'XX'", "teams.ops.holidays: expected a country code"),
        ("[teams.ops]\nmax_noise_ratio = 3", "teams.ops.max_noise_ratio: expected a number from 0 to 1, got 3"),
        ("[services]\napi = 3", "services.api: expected a team name"),
        ("[advice]\ninhibit_probability = 1.5", "advice.inhibit_probability: expected a share between 0 and 1"),
        ("[outcome]\ndashboard_url = 'hygiene'", "outcome.dashboard_url: expected the dashboard's address"),
        ("[outcome]\ndigest_noisy = 11", "outcome.digest_noisy: expected an integer from 1 to 10"),
        ("[outcome]\njira_project = ''", "outcome.jira_project: expected a name like 'OPS'"),
        ("[outcome]\nslack_url = 'x'", "outcome.slack_url: unknown key"),
        ("[advice]\nhold_down_minutes = [5, -1]", "advice.hold_down_minutes: expected a list of whole minutes >= 0"),
        ("[advice]\nrules = 3", "advice.rules: expected a file path"),
        ("[advice]\nwindow = 3", "advice.window: unknown key"),
        ("[providers.pagerduty]\ntoken = 'abc'", "secrets are read only from the environment"),
        ("[sprint\n", "not valid TOML"),
    ],
)
def test_bad_values_get_a_one_line_error_naming_the_key(tmp_path, toml, message):
    path = tmp_path / "alerthygiene.toml"
    path.write_text(toml)
    with pytest.raises(settings.ConfigError) as caught:
        settings.load(path)
    text = str(caught.value)
    assert message in text and "\n" not in text and str(path) in text


def test_a_missing_explicit_file_is_an_error_but_a_missing_default_is_not(tmp_path, monkeypatch):
    with pytest.raises(settings.ConfigError, match="not found"):
        settings.load(tmp_path / "nope.toml")
    monkeypatch.chdir(tmp_path)
    assert settings.load() == settings.Settings()


def test_sprints_start_on_the_anchor_and_repeat():
    config = settings.parse(tomllib.loads("[sprint]\nanchor = 2026-01-05\nlength_days = 14"))
    assert config.sprint_start(dt.date(2026, 1, 5)) == dt.date(2026, 1, 5)
    assert config.sprint_start(dt.date(2026, 1, 18)) == dt.date(2026, 1, 5)
    assert config.sprint_start(dt.date(2026, 1, 19)) == dt.date(2026, 1, 19)
    assert config.sprint_start(dt.date(2025, 12, 31)) == dt.date(2025, 12, 22)  # before the anchor too


NUMERIC_KEYS = [("sprint", "length_days"), *(("thresholds", f.name) for f in dataclasses.fields(settings.Thresholds)),
                *(("cost", f.name) for f in dataclasses.fields(settings.CostModel)),
                ("teams.ops", "max_wakeups_per_sprint"), ("teams.ops", "max_noise_ratio")]


@given(key=st.sampled_from(NUMERIC_KEYS),
       value=st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True)))
@hsettings(max_examples=300, deadline=None)
def test_any_number_in_any_numeric_setting_is_taken_or_refused_in_one_line_never_a_crash_later(key, value):
    table, name = key
    try:
        config = settings.parse(tomllib.loads(f"[{table}]\n{name} = {_toml_number(value)}"))
    except settings.ConfigError as exc:
        assert f"{table}.{name}: expected" in str(exc) and "\n" not in str(exc)
        return
    # What the numbers feed: sprint arithmetic and the cost model stay finite.
    period = metrics.sprint_period(config, dt.date(2026, 11, 30))
    assert period.start < period.end
    assert all(math.isfinite(getattr(config.cost, f.name)) for f in dataclasses.fields(settings.CostModel))
    assert all(math.isfinite(getattr(config.thresholds, f.name)) for f in dataclasses.fields(settings.Thresholds))


def _toml_number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


@pytest.mark.parametrize(("options", "message"), [
    ({"timeout_s": math.inf}, "providers.pagerduty.timeout_s: expected a number from 0.001 to 3600, got inf"),
    ({"max_attempts": 0}, "providers.pagerduty.max_attempts: expected an integer from 1 to 100, got 0"),
    ({"backfill_days": 10**11}, "providers.pagerduty.backfill_days: expected a number from 0 to 7320"),
    ({"overlap_minutes": math.nan}, "providers.pagerduty.overlap_minutes: expected a number from 0 to 10080, got nan"),
])
def test_provider_options_refuse_nan_inf_and_absurd_sizes_in_one_line(options, message):
    from ingest.http import HttpPolicy
    from ingest.sync import SyncOptions

    with pytest.raises(settings.ConfigError) as caught:
        HttpPolicy.from_options("pagerduty", options)
        SyncOptions.from_options("pagerduty", options)
    assert message in str(caught.value)
