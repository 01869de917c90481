"""The shared sync framework: HTTP retries and waits, paginators, windows, the CLI's exit codes,
and the thread that produces one item ahead of its consumer."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import settings
from ingest import cli
from ingest.ahead import ahead
from ingest.http import Api, Client, HttpPolicy, ProviderError, wait_from_headers
from ingest.paginators import CursorPaginator, OffsetCapReached, OffsetPaginator, Request, fetch_pages
from ingest.windows import Window, plan, split
from tests.provider_servers import FakePagerDuty, Fault, pagerduty_history, scalar, serve

TOKEN = "framework-SECRET-123"
START = dt.datetime(2026, 5, 22, tzinfo=dt.UTC)


@pytest.fixture
def fake():
    return FakePagerDuty(TOKEN, pagerduty_history(30, START, 600))


@pytest.fixture
def url(fake):
    with serve(fake) as base:
        yield base


def _client(url: str, **policy) -> Client:
    from ingest.sources.pagerduty import error_message

    api = Api("pagerduty", url, lambda t: {"Authorization": f"Token token={t}"}, error_message, "check the token",
              headers={"Accept": "application/vnd.pagerduty+json;version=2"})
    waits: list[float] = []
    client = Client(api, TOKEN, HttpPolicy(**{"wait_scale": 0.001, "max_attempts": 4, **policy}), sleep=waits.append)
    return client


@pytest.mark.parametrize("header, value, expected", [
    ("ratelimit-reset", "7", 7.0), ("Retry-After", "3", 3.0), ("X-RateLimit-Period-In-Sec", "60", 60.0),
])
def test_the_wait_a_provider_asks_for_is_honoured(url, fake, header, value, expected):
    fake.faults = [Fault("429", "/users", 1, {header: value})]
    client = _client(url)
    assert client.get_json("users")["users"]
    assert client.waits == [pytest.approx(expected * 0.001)]
    assert client.requests == 2


def test_waits_are_capped_so_a_huge_reset_does_not_stall_the_sync(url, fake):
    fake.faults = [Fault("429", "/users", 1, {"Retry-After": "86400"})]
    client = _client(url, backoff_cap_s=120)
    client.get_json("users")
    assert client.waits == [pytest.approx(0.12)]


def test_without_a_header_backoff_grows_exponentially_up_to_the_cap(url, fake):
    fake.faults = [Fault("500", "/users", 3)]
    client = _client(url, backoff_base_s=1, backoff_cap_s=3)
    client.get_json("users")
    first, second, third = client.waits
    assert 0.0005 <= first <= 0.001 and 0.001 <= second <= 0.002 and 0.0015 <= third <= 0.003


def test_retry_after_as_an_http_date():
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= wait_from_headers({"retry-after": later}) <= 31


def test_other_4xx_fail_at_once_with_the_providers_own_message(url, fake):
    client = _client(url)
    with pytest.raises(ProviderError, match="limit must be 1 to 100"):
        client.get_json("users", {"limit": 1000})
    assert client.requests == 1


def test_a_response_slower_than_the_timeout_is_retried(url, fake):
    fake.slow_s = 0.5
    fake.faults = [Fault("slow", "/users", 1)]
    client = _client(url, timeout_s=0.1)
    assert client.get_json("users")["users"]
    assert client.requests == 2


def test_giving_up_names_the_reason_and_never_the_secret(url, fake):
    fake.faults = [Fault("malformed", "/users", 9)]
    with pytest.raises(ProviderError) as failure:
        _client(url).get_json("users")
    assert "malformed JSON" in str(failure.value) and "after 4 attempts" in str(failure.value)
    assert TOKEN not in str(failure.value)


def test_a_next_link_to_another_host_is_followed_on_the_providers_own_host(url):
    client = _client(url)
    assert client.url("https://evil.example/v2/alerts?offset=100").startswith(url + "/v2/alerts?offset=100")
    assert client.url("users") == url + "/users"


def test_the_offset_paginator_stops_before_the_cap(url, fake):
    paginator = OffsetPaginator(items=("users",), limit=2, cap=3)  # offset 2 + limit 2 would pass it
    pages = fetch_pages(_client(url), "users", {}, paginator)
    assert len(next(pages).records) == 2
    with pytest.raises(OffsetCapReached):
        next(pages)


def test_the_cursor_paginator_continues_after_the_last_records_cursor():
    paginator = CursorPaginator(items=("data",), limit=2)
    body = {"data": [{"offset": "a"}, {"offset": "b"}], "paging": {"next": "x"}}
    following = paginator.advance(Request("logs", {"limit": 2}), body, body["data"])
    assert following.params == {"limit": 2, "offset": "b", "direction": "next"}
    assert paginator.advance(following, {"data": [{"offset": "c"}], "paging": {}}, [{"offset": "c"}]) is None


times = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda t: t.replace(microsecond=0, tzinfo=dt.UTC))


@given(times, st.integers(1, 10**8), st.integers(1, 400))
def test_planned_windows_cover_the_range_without_gaps_and_within_the_span(start, seconds, days):
    end = start + dt.timedelta(seconds=seconds)
    windows = plan(start, end, dt.timedelta(days=days))
    assert windows[0].start == start and windows[-1].end == end
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))
    assert all(w.span <= dt.timedelta(days=days) for w in windows)


@given(times, st.integers(2, 10**7), st.integers(1, 50))
def test_split_windows_cover_the_window(start, seconds, parts):
    window = Window(start, start + dt.timedelta(seconds=seconds))
    pieces = split(window, parts)
    assert pieces[0].start == window.start and pieces[-1].end == window.end
    assert all(a.end == b.start for a, b in zip(pieces, pieces[1:], strict=False))
    assert len(pieces) == min(parts, seconds)


# --- the command line ------------------------------------------------------------------------------------------


def test_sync_with_an_unknown_source_or_a_missing_token_is_a_usage_error(monkeypatch, capsys, db):
    monkeypatch.delenv("PAGERDUTY_TOKEN", raising=False)
    assert cli.main(["sync", "--db", db, "--source", "nagios"]) == 2
    assert "unknown source 'nagios'" in capsys.readouterr().err
    assert cli.main(["sync", "--db", db, "--source", "pagerduty"]) == 2
    assert "set PAGERDUTY_TOKEN" in capsys.readouterr().err
    assert cli.main(["sync", "--db", db, "--since", "2026-06-01", "--until", "2026-05-01"]) == 2


def test_sync_exits_1_naming_the_quarantined_records(monkeypatch, capsys, db, url, fake, tmp_path):
    del fake.history.incidents.records[2]["title"]
    monkeypatch.setenv("PAGERDUTY_TOKEN", TOKEN)
    monkeypatch.setenv("PAGERDUTY_BASE_URL", url)
    monkeypatch.delenv("OPSGENIE_API_KEY", raising=False)
    monkeypatch.delenv("GRAFANA_ONCALL_TOKEN", raising=False)
    config = tmp_path / "c.toml"
    config.write_text("[providers.pagerduty]\nwait_scale = 0.001\n")
    code = cli.main(["sync", "--db", db, "--config", str(config), "--since", "2026-05-22", "--until", "2026-05-23"])
    out, err = capsys.readouterr()
    assert code == 1 and "1 records quarantined" in out and "incomplete: pagerduty" in err
    assert scalar(db, "SELECT count(*) FROM alerts") == 29


def test_import_lists_only_registered_formats(capsys):
    with pytest.raises(SystemExit):
        cli.main(["import", "x.json", "--format", "alertmanager-json-unknown"])
    err = capsys.readouterr().err
    assert "pagerduty-csv" in err and "opsgenie-csv" in err


def test_secrets_in_the_provider_config_are_refused():
    with pytest.raises(settings.ConfigError, match="environment"):
        settings.parse({"providers": {"pagerduty": {"token": "x"}}})


def test_every_provider_option_is_documented():
    from pathlib import Path

    from ingest.sources import SOURCES
    from ingest.sources.contract import COMMON_OPTIONS, HttpSource

    doc = (Path(__file__).resolve().parents[1] / "docs" / "providers.md").read_text()
    http = [source for source in SOURCES.values() if isinstance(source, HttpSource)]
    assert {source.name for source in http} >= {"pagerduty", "opsgenie", "oncall"}
    options = set(COMMON_OPTIONS) | {name for source in http for name in source.options}
    assert [name for name in sorted(options) if f"`{name}`" not in doc] == []


def test_ahead_hands_over_items_errors_and_stops_when_the_caller_stops():
    closed = threading.Event()

    def numbers(fail_at: int | None = None):
        try:
            for n in range(1000):
                if n == fail_at:
                    raise ValueError(f"bad {n}")
                yield n
        finally:
            closed.set()

    with ahead(numbers()) as items:
        assert list(items) == list(range(1000))
    produced = []
    with ahead(produced.append(n) or n for n in range(10)) as items:
        assert next(items) == 0
        deadline = time.monotonic() + 5
        while len(produced) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert produced == [0, 1]  # the next item is ready, and no further one is made
        assert list(items) == list(range(1, 10))
    with pytest.raises(ValueError, match="bad 5"), ahead(numbers(fail_at=5)) as items:
        assert next(items) == 0
        list(items)
    closed.clear()
    threads = threading.active_count()
    with pytest.raises(RuntimeError), ahead(numbers()) as items:
        next(items)
        raise RuntimeError("the caller fails")
    assert closed.is_set()  # the producer closed its items
    assert threading.active_count() == threads  # and its thread has ended

