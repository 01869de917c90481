"""Advice: co-firing, inhibition and grouping candidates, hold-down and hysteresis advice, worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from metrics_fixtures import T0, _frame, alert, am_alert, build, review

import metrics
import store
from metrics import advice
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())


def sec(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def am(start_s: float, resolve_s: float | None, name: str, **labels) -> dict:
    """An Alertmanager firing interval of `name` starting `start_s` after T0."""
    return am_alert(sec(start_s), resolve_s, name, **labels)


def pairs_of(frame: pd.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["signature_a"], r["signature_b"]): r for r in frame.to_dict("records")}


# --- co-firing ----------------------------------------------------------------------------------

A, B, C, D = "api|a", "api|b", "api|c", "web|d"


@pytest.fixture
def cofire_db(tmp_path):
    rows = [alert(sec(t), resolve_s=10, signature=A) for t in (0, 1000, 2000, 3000)]
    # Two B alerts near A@0 (one A, two pairs); B@1120 exactly 120 s after A@1000 (in, and in the next
    # slot); B@2121 121 s after A@2000 (out); B@5000 alone.
    rows += [alert(sec(t), resolve_s=10, signature=B) for t in (30, 50, 1120, 2121, 5000)]
    # C: once near A@3000, twice far from everything: unrelated (P 1/4 and 1/3).
    rows += [alert(sec(t), resolve_s=10, signature=C) for t in (3050, 10000, 20000)]
    # D, of another team, at the same second as A@1000 (a tie) and 120 s before B@1120.
    rows.append(alert(sec(1000), resolve_s=10, signature=D, team="web"))
    return build(tmp_path / "c.duckdb", alerts=rows)


def test_co_firing_support_probabilities_and_lead(cofire_db):
    found = pairs_of(advice.co_firing(cofire_db, P, settings=S))
    ab = found[(A, B)]
    assert ab["support"] == 3  # (A@0, B@30), (A@0, B@50), (A@1000, B@1120)
    assert ab["p_b_given_a"] == pytest.approx(2 / 4)  # A@0 and A@1000 have a B within 120 s
    assert ab["p_a_given_b"] == pytest.approx(3 / 5)  # B@30, B@50, B@1120 have an A within 120 s
    assert ab["lead_s"] == pytest.approx(50)  # median of 30, 50, 120
    assert (ab["alerts_a"], ab["alerts_b"]) == (4, 5)
    ba = found[(B, A)]
    assert (ba["support"], ba["p_b_given_a"], ba["p_a_given_b"], ba["lead_s"]) == (3, 0.6, 0.5, -50)
    ad = found[(A, D)]
    assert (ad["support"], ad["p_b_given_a"], ad["p_a_given_b"], ad["lead_s"]) == (1, 0.25, 1.0, 0)
    db_ = found[(D, B)]
    assert (db_["support"], db_["p_b_given_a"], db_["p_a_given_b"], db_["lead_s"]) == (1, 1.0, 0.2, 120)
    # A and C co-fired once, but neither P reaches 0.5: not a related pair, not listed.
    assert (A, C) not in found and (C, A) not in found
    assert set(found) == {(A, B), (B, A), (A, D), (D, A), (D, B), (B, D)}


def test_co_firing_keeps_pairs_with_a_signature_of_the_team(cofire_db):
    web = pairs_of(advice.co_firing(cofire_db, P, team="web", settings=S))
    assert set(web) == {(A, D), (D, A), (D, B), (B, D)}
    assert web[(A, D)]["p_b_given_a"] == 0.25  # the probabilities still count every team's alerts


def test_co_firing_window_is_a_setting(cofire_db):
    narrow = dataclasses.replace(S, advice=dataclasses.replace(S.advice, window_s=40))
    found = pairs_of(advice.co_firing(cofire_db, P, settings=narrow))
    # Within 40 s only (A@0, B@30) is left: P 1/4 and 1/5, no longer related; D@1000 is 120 s from B.
    assert set(found) == {(A, D), (D, A)}
    assert found[(A, D)]["support"] == 1  # the tie still counts


def brute_force(rows: list[tuple[str, float]], window: float) -> dict[tuple[str, str], dict]:
    """Co-firing by the definition, comparing every pair of alerts."""
    by_sig: dict[str, list[float]] = {}
    for sig, t in rows:
        by_sig.setdefault(sig, []).append(t)
    result = {}
    for a, b in itertools.permutations(by_sig, 2):
        leads = [tb - ta for ta in by_sig[a] for tb in by_sig[b] if abs(tb - ta) <= window]
        if not leads:
            continue
        p_ba = sum(any(abs(tb - ta) <= window for tb in by_sig[b]) for ta in by_sig[a]) / len(by_sig[a])
        p_ab = sum(any(abs(tb - ta) <= window for ta in by_sig[a]) for tb in by_sig[b]) / len(by_sig[b])
        result[(a, b)] = {"support": len(leads), "p_b_given_a": p_ba, "p_a_given_b": p_ab,
                          "lead_s": statistics.median(leads)}  # fmt: skip
    return result


history = st.lists(
    st.tuples(st.sampled_from(["x|1", "x|2", "y|3", "z|4"]), st.integers(0, 1200)), min_size=1, max_size=30
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> str:
    """One database for many generated histories (migrating a new file for each would be slow)."""
    return build(tmp_path_factory.mktemp("scratch") / "s.duckdb", alerts=[])


def refill(db: str, rows: list[dict], reviews: list[dict] = ()) -> str:
    with store.writing(db) as con:
        con.execute("DELETE FROM alerts")
        con.execute("DELETE FROM reviews")
        for table, new in (("alerts", rows), ("reviews", list(reviews))):
            if new:
                store.upsert(con, table, _frame(table, new))
    return db


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=history)
def test_co_firing_agrees_with_the_definition_on_any_history(scratch, rows):
    db = refill(scratch, [alert(sec(t), resolve_s=1, signature=s) for s, t in rows])
    found = pairs_of(advice.co_firing(db, P, settings=S))
    expected = {k: v for k, v in brute_force(rows, 120).items() if max(v["p_b_given_a"], v["p_a_given_b"]) >= 0.5}
    assert set(found) == set(expected)
    for key, want in expected.items():
        got = found[key]
        assert got["support"] == want["support"], key
        assert 0 <= got["p_b_given_a"] <= 1 and 0 <= got["p_a_given_b"] <= 1
        assert got["p_b_given_a"] == pytest.approx(want["p_b_given_a"]), key
        assert got["p_a_given_b"] == pytest.approx(want["p_a_given_b"]), key
        assert got["lead_s"] == pytest.approx(want["lead_s"]), key


# --- inhibition ----------------------------------------------------------------------------------

DOWN, CRASH = "NodeDown|kubelet", "PodCrash|kubelet"


def inhibition_history() -> list[dict]:
    rows = []
    for i in range(6):  # six incidents, each node's NodeDown followed 60 s later by its PodCrash
        start = 1000 * i
        rows.append(am(start, 600, "NodeDown", job="kubelet", node=f"n{i}", severity="critical"))
        rows.append(am(start + 60, 120, "PodCrash", job="kubelet", node=f"n{i}", severity="warning",
                       pod=f"p{i}"))  # fmt: skip
    rows.append(am(8000, 100, "PodCrash", job="kubelet", node="n9", pod="q", severity="warning"))  # alone
    # Another node's crash while n0 is down: NodeDown fires, but not for its node.
    rows.append(am(300, 100, "PodCrash", job="kubelet", node="n7", pod="r", severity="warning"))
    return rows


def test_inhibition_candidate_with_equal_labels_and_replay(tmp_path):
    rows = inhibition_history()
    reviews = [review(CRASH, "actionable", sec(-1), alert=rows[3])]  # the crash on n1 was actionable
    db = build(tmp_path / "i.duckdb", alerts=rows, reviews=reviews)
    [row] = advice.inhibition_candidates(db, P, settings=S).to_dict("records")
    assert (row["signature_a"], row["signature_b"]) == (DOWN, CRASH)
    assert row["support"] == 6  # n7's crash is 300 s after n0's NodeDown: not co-firing
    assert (row["p_b_given_a"], row["p_a_given_b"], row["lead_s"]) == (1.0, 6 / 8, 60)
    assert row["shared_labels"] == ["job", "node"]  # alertname and severity differ; pod is only on B
    assert row["equal"] == ["job", "node"]
    assert row["pages_before"] == 8
    assert row["pages_removed"] == 6  # the six same-node crashes; n7's and n9's had no NodeDown of theirs
    assert row["attended_hidden"] == 1  # n1's crash was reviewed actionable: said first


def test_inhibition_replay_counts_b_created_while_a_fires(tmp_path):
    before = P.start - dt.timedelta(hours=1)
    rows = [
        am(0, 600, "NodeDown", job="kubelet", node="n1"),
        am(100, 50, "PodCrash", job="kubelet", node="n1"),  # while n1 is down: removed
        am(500, 200, "PodCrash", job="kubelet", node="n1"),  # outlives n1's NodeDown: pages when it resolves
        am(600, 50, "PodCrash", job="kubelet", node="n1"),  # at the resolve itself: pages
        am(650, 50, "PodCrash", job="kubelet", node="n1"),  # after: pages
        am(700, None, "NodeDown", job="kubelet", node="n2"),  # still firing
        am(5000, 50, "PodCrash", job="kubelet", node="n2", ack_s=20),  # removed, and it was acknowledged
        am(5000, 50, "PodCrash", job="kubelet", node="n3"),  # no NodeDown for n3
        am(9000, 50, "PodCrash", job="kubelet", node="n4"),  # n4 went down before the period: removed
    ]
    rows.append(am_alert(before, 7 * 3600, "NodeDown", job="kubelet", node="n4"))
    db = build(tmp_path / "r.duckdb", alerts=rows)
    wanted = pd.DataFrame({"signature_a": [DOWN, DOWN], "signature_b": [CRASH, CRASH],
                           "equal": [["node"], []]})  # fmt: skip
    by_node, any_node = advice.inhibition_replay(db, P, wanted, settings=S).to_dict("records")
    assert (by_node["pages_before"], by_node["pages_removed"], by_node["attended_hidden"]) == (7, 3, 1)
    # With no equal labels any firing NodeDown inhibits: n4's, down since before the period, covers all.
    assert (any_node["pages_before"], any_node["pages_removed"]) == (7, 7)


def test_a_b_alert_stays_hidden_while_one_a_alert_after_another_fires(tmp_path):
    rows = [am(0, 600, "NodeDown", job="kubelet", node="n1"), am(590, 600, "NodeDown", job="kubelet", node="n1"),
            am(100, 900, "PodCrash", job="kubelet", node="n1"),  # 100..1000: the second NodeDown takes over
            am(1200, 100, "PodCrash", job="kubelet", node="n1")]  # after both: pages  # fmt: skip
    db = build(tmp_path / "chain.duckdb", alerts=rows)
    wanted = pd.DataFrame({"signature_a": [DOWN], "signature_b": [CRASH], "equal": [["node"]]})
    [row] = advice.inhibition_replay(db, P, wanted, settings=S).to_dict("records")
    assert (row["pages_before"], row["pages_removed"]) == (2, 1)


def test_shared_labels_need_95_percent_of_the_pairs(tmp_path):
    rows = []
    for i in range(20):  # the same zone in 19 of 20 pairs: 95 %; the same rack in 18: 90 %
        rows += [am(1000 * i, 60, "PowerLow", job="pdu", zone="z1", rack="r1"),
                 am(1000 * i + 10, 60, "FanFail", job="pdu", zone="z1" if i else "z2",
                    rack="r1" if i > 1 else "r2")]  # fmt: skip
    db = build(tmp_path / "z.duckdb", alerts=rows)
    [row] = advice.shared_labels(db, P, [("PowerLow|pdu", "FanFail|pdu")], S).to_dict("records")
    assert (row["pairs"], row["spread_s"], list(row["shared_labels"])) == (20, 10, ["job", "zone"])


def test_a_paging_providers_fields_are_never_shared_labels(tmp_path):
    fields = '{"urgency": "high", "priority": "P1"}'
    rows = [alert(sec(1000 * i + k), resolve_s=60, signature=s, labels=fields)
            for i in range(6) for k, s in enumerate(("api|down", "api|slow"))]  # fmt: skip
    db = build(tmp_path / "pd.duckdb", alerts=rows)
    [row] = advice.shared_labels(db, P, [("api|down", "api|slow")], S).to_dict("records")
    assert (row["pairs"], list(row["shared_labels"])) == (6, [])


def test_no_inhibition_candidate_below_the_thresholds(tmp_path):
    rows = inhibition_history()[:8]  # four incidents: support 4 < 5
    db = build(tmp_path / "few.duckdb", alerts=rows)
    assert advice.inhibition_candidates(db, P, settings=S).empty
    loose = dataclasses.replace(S, advice=dataclasses.replace(S.advice, inhibit_support=4))
    assert len(advice.inhibition_candidates(db, P, settings=loose)) == 1


# --- grouping ------------------------------------------------------------------------------------


def test_bursts_page_once_per_window_from_its_first_alert():
    starts = advice.bursts(np.array([0.0, 10, 60, 61, 200, 250, 330]), 60)
    assert starts.tolist() == [0, 3, 4, 6]  # 0 takes 10 and 60; 61 starts the next; 200 takes 250
    assert advice.bursts(np.array([]), 60).tolist() == []


def checkout(start_s: float, name: str, **labels) -> dict:
    return am(start_s, 300, name, service="checkout", cluster="eu", **labels)


def test_grouping_candidate_groups_a_service_and_replays_bursts(tmp_path):
    rows = []
    for i in range(5):  # five incidents: errors, latency 20 s later, saturation 45 s later
        rows += [checkout(1000 * i, "CheckoutErrors"), checkout(1000 * i + 20, "CheckoutLatency"),
                 checkout(1000 * i + 45, "CheckoutSaturation")]  # fmt: skip
    rows.append(checkout(9000, "CheckoutErrors"))  # alone
    rows.append(am(30, 300, "SearchSlow", service="search"))  # another service, firing with the first
    db = build(tmp_path / "g.duckdb", alerts=rows)
    [group] = advice.grouping_candidates(db, P, settings=S)
    assert group.signatures == ("CheckoutErrors|checkout", "CheckoutLatency|checkout", "CheckoutSaturation|checkout")
    assert group.service == "checkout"
    assert group.group_by == ("cluster", "service")
    assert group.spread_s == pytest.approx(45)  # p90 of |lead|, the widest pair: errors → saturation
    assert group.group_wait_s == 60  # the smallest usual group_wait covering 45 s
    [replay] = advice.grouping_replay(db, P, [group], settings=S).to_dict("records")
    assert (replay["pages_before"], replay["pages_after"]) == (16, 6)  # five incidents + the lone one
    narrow = dataclasses.replace(group, group_wait_s=30)  # saturation comes 45 s after: its own page
    [replay] = advice.grouping_replay(db, P, [narrow], settings=S).to_dict("records")
    assert replay["pages_after"] == 11
    by_cluster = dataclasses.replace(group, group_by=("cluster",))
    assert advice.grouping_replay(db, P, [by_cluster], settings=S)["pages_after"].tolist() == [6]


def test_grouping_keeps_label_values_apart(tmp_path):
    rows = []
    for i in range(4):
        for region in ("eu", "us"):  # the same incident in two regions: one page per region
            rows += [am(1000 * i, 60, "DbDown", service="db", region=region),
                     am(1000 * i + 5, 60, "DbSlow", service="db", region=region)]  # fmt: skip
    db = build(tmp_path / "k.duckdb", alerts=rows)
    [group] = advice.grouping_candidates(db, P, settings=S)
    assert group.group_by == ("service",)  # region differs in half the pairs: not shared
    assert advice.grouping_replay(db, P, [group], settings=S)["pages_after"].tolist() == [4]
    regional = dataclasses.replace(group, group_by=("region", "service"))
    assert advice.grouping_replay(db, P, [regional], settings=S)["pages_after"].tolist() == [8]


def test_cliques_take_the_strongest_pair_then_every_signature_tied_to_all():
    edges = {frozenset("ab"): 9.0, frozenset("bc"): 5.0, frozenset("ac"): 4.0, frozenset("cd"): 8.0,
             frozenset("de"): 1.0}  # fmt: skip
    assert advice._cliques(edges) == [["a", "b", "c"], ["d", "e"]]
    assert advice.group_wait_for(None) == 30 and advice.group_wait_for(31) == 60
    assert advice.group_wait_for(10_000) == advice.GROUP_WAITS[-1]


# --- hold-down -----------------------------------------------------------------------------------


def grid(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    return frame[frame["unit"] == unit].set_index("hold_s")


def test_hold_down_advice_replays_every_hold_down_and_picks_the_smallest_good_one(tmp_path):
    disk = [am(60 * i, 150, "DiskFull", service="db", instance=f"i{i}") for i in range(6)]  # 2.5 min each
    disk += [am(0, 1200, "DiskFull", service="db", instance="long1"),  # 20 min, nobody acted
             am(0, 40 * 60, "DiskFull", service="db", instance="long2")]  # 40 min
    db = build(tmp_path / "h.duckdb", alerts=disk)
    frame = grid(advice.hold_down_advice(db, P, settings=S), "DiskFull|db")
    assert frame["pages_avoided"].tolist() == [0, 0, 0, 6, 6, 6, 7]  # H = 0, 1, 2, 5, 10, 15, 30 min
    assert frame.loc[300.0, "pages_delayed"] == 2 and frame.loc[300.0, "delay_added_s"] == 600
    # 80 % of the 7 the largest avoids is 5.6: five minutes already avoids 6.
    assert frame.index[frame["advised"]].tolist() == [300.0]
    assert not frame["limited_by_budget"].any()


def test_hold_down_never_delays_attended_alerts_beyond_the_budget(tmp_path):
    rows = [am(600 * i, 8 * 60, "Flaky", service="api") for i in range(8)]  # 8 min, unattended
    rows.append(am(9000, 3600, "Flaky", service="api", ack_s=60))  # a real one, acknowledged
    db = build(tmp_path / "b.duckdb", alerts=rows)
    frame = grid(advice.hold_down_advice(db, P, settings=S), "Flaky|api")
    assert frame.loc[600.0, "pages_avoided"] == 8  # ten minutes would avoid them all...
    assert frame.loc[600.0, "attended_delayed"] == 1 and not frame.loc[600.0, "within_budget"]
    # ...but delays the acknowledged alert by more than five minutes: the largest within the budget is
    # five minutes, which avoids none; no advice at all then.
    assert not frame["advised"].any()
    roomy = dataclasses.replace(S, advice=dataclasses.replace(S.advice, delay_budget_s=600))
    frame = grid(advice.hold_down_advice(db, P, settings=roomy), "Flaky|api")
    assert frame.index[frame["advised"]].tolist() == [600.0]


def test_hold_down_within_budget_when_the_best_is_out_of_reach(tmp_path):
    rows = [am(600 * i, 4 * 60, "Blip", service="api") for i in range(2)]  # 4 min: five minutes avoid them
    rows += [am(5000 + 600 * i, 12 * 60, "Blip", service="api") for i in range(8)]  # 12 min
    rows.append(am(20000, 3600, "Blip", service="api", ack_s=30))
    db = build(tmp_path / "l.duckdb", alerts=rows)
    frame = grid(advice.hold_down_advice(db, P, settings=S), "Blip|api")
    [advised] = frame.index[frame["advised"]].tolist()
    assert advised == 300.0 and frame.loc[300.0, "limited_by_budget"]  # 2 of the 10 that 15 min avoids


def test_actionable_alerts_count_as_attended(tmp_path):
    rows = [am(600 * i, 100, "Quick", service="api") for i in range(5)]
    reviews = [review("Quick|api", "actionable", sec(-60))]  # reviewed before: in force for all five
    db = build(tmp_path / "a.duckdb", alerts=rows, reviews=reviews)
    frame = grid(advice.hold_down_advice(db, P, settings=S), "Quick|api")
    assert frame["pages_avoided"].max() == 0 and frame.loc[300.0, "attended_hidden"] == 5
    assert not frame["advised"].any()


def test_hold_down_advice_per_prometheus_rule(tmp_path):
    rows = [am(600 * i, 100, "HighLatency", job=job, severity=sev)
            for i, (job, sev) in enumerate([("api", "page"), ("web", "page"), ("api", "ticket"),
                                             ("web", "page"), ("api", "page")])]  # fmt: skip
    db = build(tmp_path / "p.duckdb", alerts=rows)
    rules = [advice.RuleKey("paging", "HighLatency", (("severity", "page"),)),
             advice.RuleKey("tickets", "HighLatency", (("severity", "ticket"),)),
             advice.RuleKey("any", "HighLatency")]  # fmt: skip
    frame = advice.hold_down_advice(db, P, settings=S, rules=rules)
    alerts = frame.groupby("unit")["alerts"].first().to_dict()
    assert alerts == {"paging": 4, "tickets": 1}  # the most specific rule wins; "any" matches less well
    assert frame[frame["unit"] == "paging"]["signatures"].iloc[0].tolist() == ["HighLatency|api",
                                                                             "HighLatency|web"]


# --- hysteresis ----------------------------------------------------------------------------------


def flapping(instance: str, start_s: float = 0, gaps_min=(3, 3, 3, 3, 10), on_min: float = 3) -> list[dict]:
    rows, t = [], start_s
    for gap in (*gaps_min, None):
        rows.append(am(t, on_min * 60, "Flappy", service="queue", instance=instance))
        if gap is not None:
            t += (on_min + gap) * 60
    return rows


def test_hysteresis_advice_from_the_gaps_of_one_label_set(tmp_path):
    rows = flapping("i1") + flapping("i2", start_s=30, gaps_min=(2, 2, 2, 2, 2))
    db = build(tmp_path / "f.duckdb", alerts=rows)
    [row] = advice.hysteresis_advice(db, P, settings=S).to_dict("records")
    assert row["unit"] == "Flappy|queue"
    assert row["refires"] == 10  # five gaps per instance; i2's firings never close i1's gaps
    assert row["keep_firing_s"] == 240  # p90 of 2 ×5, 3 ×4, 10 (min) = 3.7 min, up to 4
    assert row["refires_avoided"] == 9  # all but the 10-minute gap
    assert row["resolves_delayed"] == 3  # i1: before its 10-minute gap and its last; i2: its last
    assert row["delay_added_s"] == 3 * 240
    assert (row["alerts"], row["attended_hidden"]) == (12, 0)


def test_hysteresis_ignores_gaps_longer_than_the_flap_threshold(tmp_path):
    rows = flapping("i1", gaps_min=(40, 45))
    db = build(tmp_path / "n.duckdb", alerts=rows)
    assert advice.hysteresis_advice(db, P, settings=S).empty


def test_hysteresis_of_a_paging_provider_uses_the_signature_as_the_series(tmp_path):
    rows = [alert(sec(t), resolve_s=60, signature="api|x") for t in (0, 120, 240, 5000)]
    rows[1]["acknowledged_at"] = rows[1]["created_at"] + dt.timedelta(seconds=10)
    db = build(tmp_path / "pd.duckdb", alerts=rows)
    [row] = advice.hysteresis_advice(db, P, settings=S).to_dict("records")
    assert (row["refires"], row["keep_firing_s"], row["refires_avoided"], row["attended_hidden"]) == (2, 60, 2, 1)


# --- invariants on any history -------------------------------------------------------------------

intervals = st.lists(
    st.tuples(
        st.sampled_from(["Up", "Down"]), st.sampled_from(["n1", "n2"]), st.integers(0, 3000),
        st.one_of(st.none(), st.integers(0, 2400)), st.booleans(),
    ),
    min_size=1, max_size=25,
)  # fmt: skip


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=intervals, verdict=st.sampled_from([None, "actionable", "noise"]))
def test_replays_never_add_pages_and_advice_stays_within_the_budget(scratch, rows, verdict):
    alerts = [am(start, length, name, service="svc", node=node, ack_s=(5 if acked else None))
              for name, node, start, length, acked in rows]  # fmt: skip
    reviews = [review("Up|svc", verdict, sec(-10))] if verdict else []
    db = refill(scratch, alerts, reviews)
    budget = S.advice.delay_budget_s
    hold = advice.hold_down_advice(db, P, settings=S)
    assert (hold["pages_avoided"] + hold["attended_hidden"] + hold["pages_delayed"] == hold["alerts"]).all()
    advised = hold[hold["advised"]]
    assert ((advised["attended_delayed"] == 0) | (advised["hold_s"] <= budget)).all()
    assert (advised["pages_avoided"] > 0).all()
    assert hold.groupby("unit")["advised"].sum().max() <= 1
    flaps = advice.hysteresis_advice(db, P, settings=S)
    assert (flaps["refires_avoided"] <= flaps["refires"]).all() and (flaps["refires"] < flaps["alerts"]).all()
    assert (flaps["attended_hidden"] <= flaps["refires_avoided"]).all() and (flaps["keep_firing_s"] >= 60).all()
    pairs = pd.DataFrame({"signature_a": ["Up|svc", "Down|svc"], "signature_b": ["Down|svc", "Up|svc"],
                          "equal": [["node"], []]})  # fmt: skip
    inhibit = advice.inhibition_replay(db, P, pairs, settings=S)
    assert (inhibit["pages_removed"] <= inhibit["pages_before"]).all()
    assert (inhibit["attended_hidden"] <= inhibit["pages_removed"]).all()
    group = advice.Group(("Up|svc", "Down|svc"), ("node",), 60.0, signatures=("Up|svc", "Down|svc"))
    [grouped] = advice.grouping_replay(db, P, [group], settings=S).to_dict("records")
    assert grouped["pages_after"] <= grouped["pages_before"] == len(alerts)
    assert (grouped["pages_after"] > 0) == (len(alerts) > 0)
    for row in advice.co_firing(db, P, settings=S).to_dict("records"):
        assert 0 <= row["p_b_given_a"] <= 1 and 0 <= row["p_a_given_b"] <= 1


def test_signature_labels_name_what_a_matcher_can_match(tmp_path):
    rows = [am(0, 60, "DiskFull", service="db", instance="i1"), am(100, 60, "DiskFull", service="db", instance="i2"),
            alert(sec(50), resolve_s=10, signature="ledger|disk #% full", title="Disk 91% full", service="ledger")]
    db = build(tmp_path / "s.duckdb", alerts=rows)
    found = advice.signature_labels(db, P, ["DiskFull|db", "ledger|disk #% full", "nothing|here"], S)
    assert set(found) == {"DiskFull|db", "ledger|disk #% full"}
    assert found["DiskFull|db"]["labels"] == {"alertname": "DiskFull", "service": "db", "instance": "i2"}  # latest
    assert (found["DiskFull|db"]["source"], found["DiskFull|db"]["alerts"]) == ("alertmanager", 2)
    assert found["ledger|disk #% full"]["labels"] == {}  # a paging provider's fields are not Prometheus labels
    assert found["ledger|disk #% full"]["title"] == "Disk 91% full"


def test_alertmanager_alerts_stored_without_labels_have_none(tmp_path):
    # All labels NULL: pandas reads the column as NaN, which json.loads refused (the Advisor page broke).
    db = build(tmp_path / "n.duckdb", alerts=[alert(sec(0), resolve_s=60, signature="DiskFull|db", source="alertmanager")])
    found = advice.signature_labels(db, P, ["DiskFull|db"], S)
    assert (found["DiskFull|db"]["labels"], found["DiskFull|db"]["source"]) == ({}, "alertmanager")


def test_the_critical_and_the_warning_alert_of_one_rule_are_two_units(tmp_path):
    rows = []
    for i in range(6):  # the critical alert, and 30 s later the warning of the same rule and instance
        rows += [am(1000 * i, 600, "DiskSpace", service="db", instance=f"i{i}", severity="critical"),
                 am(1000 * i + 30, 300, "DiskSpace", service="db", instance=f"i{i}", severity="warning")]
    rows.append(am(9000, 300, "DiskSpace", service="db", instance="i9", severity="warning"))  # alone
    db = build(tmp_path / "ladder.duckdb", alerts=rows)
    cofiring = advice.co_firing(db, P, settings=S)
    assert set(zip(cofiring["unit_a"], cofiring["unit_b"], strict=True)) == {
        ("DiskSpace|db [critical]", "DiskSpace|db [warning]"), ("DiskSpace|db [warning]", "DiskSpace|db [critical]")}
    assert advice.grouping_candidates(db, P, settings=S, cofiring=cofiring) == []  # one condition: not a group
    [row] = advice.inhibition_candidates(db, P, settings=S, cofiring=cofiring).to_dict("records")
    assert (row["unit_a"], row["unit_b"]) == ("DiskSpace|db [critical]", "DiskSpace|db [warning]")
    assert (row["support"], row["p_b_given_a"], row["lead_s"], row["equal"]) == (6, 1.0, 30, ["instance", "service"])
    assert (row["pages_before"], row["pages_removed"]) == (7, 6)
