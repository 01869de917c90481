"""Configuration: the shipped example parses, every setting is documented, bad values get one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib

import pytest

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


def test_every_setting_is_documented_in_the_example():
    text = EXAMPLE.read_text()
    documented = set(re.findall(r"(?m)^#? ?([a-z_]+) = ", text))
    for section in (settings.Thresholds, settings.CostModel, settings.Hours, settings.Advice):
        for field in dataclasses.fields(section):
            assert field.name in documented, f"{field.name} is not in alerthygiene.example.toml"
    for name in ("time_zone", "max_wakeups_per_sprint", "max_noise_ratio", "anchor", "length_days",
                 "default_time_zone", "signature_labels", "team_label"):
        assert name in documented


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[sprint]\nlength_days = 0", "sprint.length_days: expected an integer >= 1, got 0"),
        ("[sprint]\nanchor = 'soon'", "sprint.anchor: expected a date like 2026-01-05, got 'soon'"),
        ("[time]\ndefault_time_zone = 'Mars/Olympus'", "time.default_time_zone: expected an IANA time zone"),
        ("[thresholds]\ntransient_s = 'five'", "thresholds.transient_s: expected an integer >= 0"),
        ("[thresholds]\nflapping = 3", "thresholds.flapping: unknown key"),
        ("[hours]\nworking_days = ['Monday']", "hours.working_days: expected a list of Mon, Tue"),
        ("[hours]\nsleep_start = '25:00'", "hours.sleep_start: expected a time of day like '08:00'"),
        ("[teams.ops]\nholidays = 'XX'", "teams.ops.holidays: expected a country code"),
        ("[teams.ops]\nmax_noise_ratio = 3", "teams.ops.max_noise_ratio: expected a share between 0 and 1"),
        ("[services]\napi = 3", "services.api: expected a team name"),
        ("[advice]\ninhibit_probability = 1.5", "advice.inhibit_probability: expected a share between 0 and 1"),
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
