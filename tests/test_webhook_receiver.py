"""The webhook receiver as a real process on 127.0.0.1: auth, 400/413, spool durability, idempotent merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

import store
from ingest.webhook_spool import PAYLOAD, Record, Spool, encode, read_segment
from tests.am_servers import TOKEN, start_receiver, wait_until

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
def receiver(tmp_path):
    server = start_receiver(tmp_path / "recv", str(tmp_path / "alerts.duckdb"), extra=["--max-body", "100000"])
    server.extra["db"] = str(tmp_path / "alerts.duckdb")
    yield server
    server.stop()


def post(server, data: bytes, headers=AUTH) -> requests.Response:
    return requests.post(server.url + "/alertmanager", data=data, headers=headers, timeout=10)


def query(db: str, sql: str) -> list[tuple]:
    if not Path(db).exists():
        return []
    with store.reading(db) as con:
        return con.execute(sql).fetchall()


def loaded(server) -> bool:
    """Everything spooled has been committed."""
    return requests.get(server.url + "/healthz", timeout=5).json()["spool_segments"] == 0


def test_wrong_or_missing_token_gets_401_and_stores_nothing(receiver):
    assert post(receiver, body("blinking_firing"), {"Authorization": "Bearer nope"}).status_code == 401
    assert post(receiver, body("blinking_firing"), {}).status_code == 401
    assert list(Path(receiver.extra["spool"]).glob("*.seg")) == []
    assert query(receiver.extra["db"], "SELECT * FROM alerts") == []


def test_malformed_body_gets_400_with_the_reason_and_lands_in_quarantine(receiver):
    response = post(receiver, b'{"version": "4", "alerts": "nope"')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert post(receiver, b'{"version": "4"}').json() == {"error": "payload has no 'alerts' list"}
    rows = wait_until(
        lambda: len(got := query(receiver.extra["db"], "SELECT raw, reason FROM quarantine ORDER BY raw")) == 2
        and got,
        timeout=15,
        what="two quarantined bodies",
    )
    assert rows[0] == ('{"version": "4", "alerts": "nope"', rows[0][1])
    assert query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(0,)]


def test_body_over_the_limit_gets_413(receiver):
    assert post(receiver, b"x" * 100_001).status_code == 413
    assert list(Path(receiver.extra["spool"]).glob("*.seg")) == []


def test_healthz_answers(receiver):
    answer = requests.get(receiver.url + "/healthz", timeout=5)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_repeated_notifications_change_nothing(receiver):
    for name in ("always_firing", "blinking_firing", "blinking_resolved"):
        assert post(receiver, body(name)).status_code == 200
    wait_until(lambda: loaded(receiver) and query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(2,)],
               timeout=15, what="two alerts")  # fmt: skip
    sql = "SELECT source_id, created_at, resolved_at, title, runbook_url, labels FROM alerts ORDER BY 1"
    before = query(receiver.extra["db"], sql)
    for name in ("blinking_firing", "always_firing", "blinking_resolved", "blinking_firing"):
        assert post(receiver, body(name)).status_code == 200
    wait_until(lambda: loaded(receiver), timeout=15, what="the spool to drain")
    assert query(receiver.extra["db"], sql) == before


def test_resolved_before_firing_makes_one_correct_row(receiver):
    post(receiver, body("blinking_resolved"))
    post(receiver, body("blinking_firing"))
    wait_until(lambda: loaded(receiver) and query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(1,)],
               timeout=15, what="one alert")  # fmt: skip
    [(created, resolved)] = query(receiver.extra["db"], "SELECT created_at, resolved_at FROM alerts")
    resolved_at = json.loads(body("blinking_resolved"))["alerts"][0]["endsAt"]
    assert resolved.isoformat().replace("+00:00", "Z").startswith(resolved_at[:19])
    assert (resolved - created).total_seconds() == 4


def test_spool_ignores_a_torn_tail_and_a_second_receiver(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(Record(PAYLOAD, 1.0, "", b'{"a": 1}')).result(timeout=5)
    spool.append(Record(PAYLOAD, 2.0, "", b'{"b": 2}')).result(timeout=5)
    [segment] = spool.seal()
    with open(segment, "ab") as handle:  # a crash in the middle of the next append
        handle.write(encode(Record(PAYLOAD, 3.0, "", b'{"c": 3}'))[:-3])
    assert [r.body for r in read_segment(segment)] == [b'{"a": 1}', b'{"b": 2}']
    with pytest.raises(RuntimeError, match="in use"):
        Spool(tmp_path / "spool")
    spool.close()
