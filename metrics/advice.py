"""Advice: co-firing, inhibition and grouping candidates, hold-down and hysteresis advice, each with its replay."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import settings as settings_module
from metrics.period import Period
from metrics.read import Scope, plain, read
from metrics.registry import Metric, option, parameters, register, term
from settings import Settings

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# pandas is imported where advice is computed: registering these metrics must not load it (a report
# reads none of them and would start half a second later).

# Sources whose labels are Prometheus labels: there one label set is one series, and rules match labels.
LABELLED_SOURCES = ("alertmanager",)
# An alert someone acted on: acknowledged, or reviewed `actionable` (Alertmanager records no acknowledgements).
ATTENDED = "(f.acknowledged_at IS NOT NULL OR coalesce(f.verdict = 'actionable', false))"
# group_wait values a grouping candidate may suggest (seconds); the smallest covering the group's spread.
GROUP_WAITS = (30, 60, 120, 180, 300)
ALL_LABELS = ("...",)  # Alertmanager's group_by: ['...']: every label set is a group of its own
RULES_TYPE = "STRUCT(unit VARCHAR, alertname VARCHAR, matchers STRUCT(path VARCHAR, value VARCHAR)[])[]"
PAIRS_TYPE = "STRUCT(a VARCHAR, b VARCHAR)[]"
INHIBITIONS_TYPE = ("STRUCT(candidate INTEGER, source VARCHAR, source_signature VARCHAR, target VARCHAR, "
                    "target_signature VARCHAR, paths VARCHAR[])[]")  # fmt: skip
GROUPS_TYPE = "STRUCT(grp INTEGER, units VARCHAR[], signatures VARCHAR[], paths VARCHAR[])[]"

# What a read of the advice metrics may pass: the rules, pairs, inhibitions, groups and signatures to replay.
for _name in ("rules", "pairs", "inhibitions", "groups", "signatures"):
    option(_name, ())


@parameters
def _advice_values(settings: Settings) -> dict:
    """The advisor's thresholds as named SQL parameters."""
    a = settings.advice
    return {
        "window_s": float(a.window_s),
        "related": min(a.group_probability, a.inhibit_probability),
        "shared_share": a.shared_label_share,
        "hold_down_grid": [60.0 * m for m in a.hold_down_minutes],
        "hold_share": a.hold_down_share,
        "delay_budget_s": float(a.delay_budget_s),
        "labelled_sources": list(LABELLED_SOURCES),
    }


def _share(value: float) -> str:
    return f"{value * 100:g} %"


term("advice_window", lambda s, h: f"{s.advice.window_s:g} s")
term("related_p", lambda s, h: f"{min(s.advice.group_probability, s.advice.inhibit_probability):g}")
term("shared_share", lambda s, h: _share(s.advice.shared_label_share))
term("hold_share", lambda s, h: _share(s.advice.hold_down_share))
term("delay_budget", lambda s, h: f"{s.advice.delay_budget_s / 60:g} min")


def label_path(name: str) -> str:
    """The JSON path of a label in alerts.labels (label names are identifiers, quoted all the same)."""
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _severity(alias: str) -> str:
    """SQL: a Prometheus alert's severity label (NULL for other sources, or without one)."""
    return (f"CASE WHEN list_contains($labelled_sources::VARCHAR[], {alias}.source) "
            f"THEN json_extract_string({alias}.labels, '$.severity') END")  # fmt: skip


def _unit(alias: str) -> str:
    """SQL: the co-firing unit of an alert, as unit_key() writes it."""
    severity = _severity(alias)
    return f"{alias}.signature || CASE WHEN {severity} IS NULL THEN '' ELSE ' [' || {severity} || ']' END"


def unit_key(signature: str, severity: str | None) -> str:
    """What co-firing tells apart: a signature, split by severity for Prometheus alerts (the critical and
    the warning alert of one rule are two alerts: Alertmanager's own example inhibits one by the other)."""
    return signature if plain(severity) is None else f"{signature} [{severity}]"


# Co-firing with equi-joins only, and without deduplicating pairs (both measured in bench/bench_advice.py):
#  - alerts are cut into slots of the window's width: two alerts within the window are in the same or
#    neighbouring slots, so pairs come from an equi-join on the slot, each unordered pair once (b after
#    a, ties by id), counted both ways: the work grows with alerts × their neighbours in one window,
#    never with the square of all alerts (as a range self-join would);
#  - "A alerts with a B alert near" needs no DISTINCT: an A alert has one exactly when the last B alert
#    before it, or else the first B alert after it, is within the window; each alert knows the previous
#    and next alert of its own signature, so each such pair is recognised on its own row;
#  - each pair of units is counted once, in one aggregation, whichever of the two fired first (lo, hi);
#    both ways, (A, B) and (B, A), are written out only for the related ones;
#  - the median lead, the costliest part, is taken only for related pairs (P either way at least the
#    lowest threshold a candidate needs), from their own alerts paired again: the pairs of background
#    noise are counted as they stream out of the join, never stored or sorted.
CO_FIRING = register(
    Metric(
        "co_firing",
        "Co-firing",
        "B co-fires with A when a B alert is created within {advice_window} of an A alert: support = such pairs, "
        "P(B|A) = A alerts with a B alert that near / A alerts, lead = median of B's created_at − A's; "
        "pairs with P(B|A) or P(A|B) ≥ {related_p}",
        "list",
        f"""
WITH in_period AS (
    SELECT a.signature, {_severity("a")} AS severity, a.service, a.team, a.created_at
    FROM alerts AS a WHERE a.created_at >= $start AND a.created_at < $end
),
signatures AS (  -- the co-firing units: signatures, split by severity for Prometheus alerts
    SELECT (row_number() OVER (ORDER BY signature, severity))::INTEGER AS sig, signature, severity,
        count(*) AS alerts, arg_max(service, created_at) AS service,
        $team::VARCHAR IS NULL OR bool_or(team = $team::VARCHAR) AS in_team
    FROM in_period GROUP BY signature, severity
),
numbered AS (
    SELECT (row_number() OVER ())::INTEGER AS id, s.sig, s.in_team, epoch(p.created_at) AS t
    FROM in_period AS p
    JOIN signatures AS s ON s.signature = p.signature AND s.severity IS NOT DISTINCT FROM p.severity
),
slotted AS (  -- each alert with its slot and the previous and next alert of its own signature
    SELECT id, sig, t, floor(t / $window_s)::BIGINT AS slot, in_team,
        lag(t) OVER same AS prev_t, lag(id) OVER same AS prev_id,
        lead(t) OVER same AS next_t, lead(id) OVER same AS next_id
    FROM numbered
    WINDOW same AS (PARTITION BY sig ORDER BY t, id)
),
near AS (SELECT *, unnest([slot, slot - 1]) AS near FROM slotted),
candidates AS (  -- only pairs with a unit of the team's are kept (related, below): a's side the team's,
    -- or else b's, each an equi-join with the team's alerts on one side, not every alert with every other
    SELECT a.id AS a_id, a.sig AS a_sig, a.t AS a_t, a.next_t AS a_next_t, a.next_id AS a_next_id, b.*
    FROM slotted AS a JOIN near AS b ON b.near = a.slot WHERE a.in_team
    UNION ALL
    SELECT a.id, a.sig, a.t, a.next_t, a.next_id, b.*
    FROM (FROM slotted WHERE NOT in_team) AS a JOIN (FROM near WHERE in_team) AS b ON b.near = a.slot
),
later AS (  -- each pair of alerts once: b created after a (ties by id), in a's slot or the next
    SELECT least(a_sig, sig) AS lo, greatest(a_sig, sig) AS hi, a_sig < sig AS a_is_lo, t - a_t AS lead_s,
        (prev_t IS NULL OR prev_t < a_t OR (prev_t = a_t AND prev_id < a_id))
            AND (prev_t IS NULL OR a_t - prev_t > $window_s) AS a_has_b_after_only,
        a_next_t IS NULL OR a_next_t > t OR (a_next_t = t AND a_next_id > id) AS b_has_a_before
    FROM candidates
    WHERE a_sig <> sig AND t - a_t <= $window_s AND (t > a_t OR (t = a_t AND id > a_id))
),
by_pair AS (  -- each pair of units once (lo < hi), whichever fired first: one aggregation, no transpose;
    -- lo's alerts with a hi alert near = those with one before + those with one after only (and likewise)
    SELECT lo, hi, count(*) AS support,
        count(*) FILTER (WHERE CASE WHEN a_is_lo THEN a_has_b_after_only ELSE b_has_a_before END) AS lo_with_hi,
        count(*) FILTER (WHERE CASE WHEN a_is_lo THEN b_has_a_before ELSE a_has_b_after_only END) AS hi_with_lo
    FROM later GROUP BY lo, hi
),
related_once AS (
    SELECT p.lo, p.hi, p.support, p.lo_with_hi / sl.alerts AS p_hi_given_lo, p.hi_with_lo / sh.alerts AS p_lo_given_hi
    FROM by_pair AS p
    JOIN signatures AS sl ON sl.sig = p.lo
    JOIN signatures AS sh ON sh.sig = p.hi
    WHERE greatest(p.lo_with_hi / sl.alerts, p.hi_with_lo / sh.alerts) >= $related AND (sl.in_team OR sh.in_team)
),
related_units AS (SELECT lo AS sig FROM related_once UNION SELECT hi FROM related_once),
related_alerts AS (SELECT id, sig, t, slot FROM slotted SEMI JOIN related_units USING (sig)),
leads AS (  -- only related pairs' leads are sorted (the costliest part), from their own alerts paired
    -- again: every pair of theirs is a candidate (one of the two units is the team's), and `later` is
    -- then read once, never stored; lo_to_hi = hi's created_at − lo's
    SELECT least(a.sig, b.sig) AS lo, greatest(a.sig, b.sig) AS hi,
        median(CASE WHEN a.sig < b.sig THEN b.t - a.t ELSE a.t - b.t END) AS lo_to_hi,
        median(CASE WHEN a.sig < b.sig THEN a.t - b.t ELSE b.t - a.t END) AS hi_to_lo
    FROM related_alerts AS a
    JOIN (SELECT *, unnest([slot, slot - 1]) AS near FROM related_alerts) AS b ON b.near = a.slot
    SEMI JOIN related_once AS r ON r.lo = least(a.sig, b.sig) AND r.hi = greatest(a.sig, b.sig)
    WHERE a.sig <> b.sig AND b.t - a.t <= $window_s AND (b.t > a.t OR (b.t = a.t AND b.id > a.id))
    GROUP BY ALL
),
related AS (  -- both ways: (A, B) and (B, A)
    SELECT r.lo AS sig_a, r.hi AS sig_b, r.support, r.p_hi_given_lo AS p_b_given_a,
        r.p_lo_given_hi AS p_a_given_b, l.lo_to_hi AS lead_s
    FROM related_once AS r JOIN leads AS l USING (lo, hi)
    UNION ALL
    SELECT r.hi, r.lo, r.support, r.p_lo_given_hi, r.p_hi_given_lo, l.hi_to_lo
    FROM related_once AS r JOIN leads AS l USING (lo, hi)
)
SELECT sa.signature AS signature_a, sa.severity AS severity_a, sb.signature AS signature_b,
    sb.severity AS severity_b, sa.service AS service_a, sb.service AS service_b,
    sa.alerts AS alerts_a, sb.alerts AS alerts_b, r.support, r.p_b_given_a, r.p_a_given_b, r.lead_s
FROM related AS r
JOIN signatures AS sa ON sa.sig = r.sig_a
JOIN signatures AS sb ON sb.sig = r.sig_b
ORDER BY r.support DESC, signature_a, severity_a, signature_b, severity_b
""",  # noqa: S608 - fragments are constants of this module
        "query",
        "tables",
    )
)

SHARED_LABELS = register(
    Metric(
        "shared_labels",
        "Shared labels",
        "labels equal in at least {shared_share} of a pair's co-firing pairs of alerts; spread = 90th percentile of |lead|",
        "list",
        f"""
WITH wanted AS (
    SELECT DISTINCT w.a AS unit_a, w.b AS unit_b FROM (SELECT unnest($pairs::{PAIRS_TYPE}) AS w)
),
slotted AS (  -- a paging provider's fields are no labels a matcher could name: Prometheus labels only
    SELECT (row_number() OVER ())::INTEGER AS id, x.* FROM (
        SELECT {_unit("a")} AS unit, epoch(a.created_at) AS t,
            floor(epoch(a.created_at) / $window_s)::BIGINT AS slot,
            CASE WHEN list_contains($labelled_sources::VARCHAR[], a.source) THEN a.labels END AS labels
        FROM alerts AS a
        WHERE a.created_at >= $start AND a.created_at < $end
    ) AS x
    WHERE x.unit IN (SELECT unit_a FROM wanted UNION SELECT unit_b FROM wanted)
),
pairs AS (
    SELECT a.unit AS unit_a, b.unit AS unit_b, b.t - a.t AS lead_s, a.labels AS labels_a, b.labels AS labels_b
    FROM slotted AS a
    JOIN (SELECT *, unnest([slot - 1, slot, slot + 1]) AS near FROM slotted) AS b ON b.near = a.slot
    SEMI JOIN wanted AS w ON w.unit_a = a.unit AND w.unit_b = b.unit
    WHERE abs(b.t - a.t) <= $window_s
),
per_pair AS (
    SELECT unit_a, unit_b, count(*) AS pairs, quantile_cont(abs(lead_s), 0.9) AS spread_s
    FROM pairs GROUP BY unit_a, unit_b
),
named AS (
    SELECT unit_a, unit_b, labels_a, labels_b, unnest(json_keys(labels_a)) AS label FROM pairs
),
equal_counts AS (
    SELECT unit_a, unit_b, label,
        count(*) FILTER (WHERE json_extract_string(labels_a, '$."' || label || '"') IS NOT NULL
            AND json_extract_string(labels_a, '$."' || label || '"')
              = json_extract_string(labels_b, '$."' || label || '"')) AS equal
    FROM named GROUP BY unit_a, unit_b, label
)
SELECT p.unit_a, p.unit_b, p.pairs, p.spread_s,
    coalesce(list_sort(list(e.label) FILTER (WHERE e.equal >= $shared_share * p.pairs)), []::VARCHAR[])
        AS shared_labels
FROM per_pair AS p
LEFT JOIN equal_counts AS e USING (unit_a, unit_b)
GROUP BY p.unit_a, p.unit_b, p.pairs, p.spread_s
ORDER BY p.unit_a, p.unit_b
""",  # noqa: S608 - fragments are constants of this module
        "query",
        "tables",
        ("pairs",),
    )
)

_KEY = "list_transform(c.paths, lambda p: coalesce(json_extract_string(a.labels, p), ''))::VARCHAR"

INHIBITION_REPLAY = register(
    Metric(
        "inhibition_replay",
        "Inhibition replay",
        "for A inhibiting B with equal labels: B alerts that fired only while a matching A alert fired "
        "(pages removed), and of those the acknowledged or actionable ones (attended pages hidden)",
        "list",
        f"""
WITH candidates AS (
    SELECT c.candidate, c.source AS unit_a, c.source_signature, c.target AS unit_b, c.target_signature, c.paths
    FROM (SELECT unnest($inhibitions::{INHIBITIONS_TYPE}) AS c)
),
source_alerts AS (  -- every alert of A firing during the period, whatever its team
    SELECT c.candidate, {_KEY} AS key, a.created_at,
        coalesce(a.resolved_at, 'infinity'::TIMESTAMPTZ) AS ends_at
    FROM candidates AS c
    JOIN alerts AS a ON a.signature = c.source_signature
    WHERE a.created_at < $end AND coalesce(a.resolved_at, 'infinity'::TIMESTAMPTZ) > $start
      AND {_unit("a")} = c.unit_a
),
islands AS (  -- A's firing merged per key: an island starts where no earlier A alert is still firing
    SELECT candidate, key, created_at, ends_at,
        sum(starts::INTEGER) OVER (PARTITION BY candidate, key ORDER BY created_at ROWS UNBOUNDED PRECEDING)
            AS island
    FROM (
        SELECT *, coalesce(created_at > max(ends_at) OVER (
            PARTITION BY candidate, key ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
            true) AS starts
        FROM source_alerts
    )
),
coverage AS (
    SELECT candidate, key, min(created_at) AS covered_from, max(ends_at) AS covered_until
    FROM islands GROUP BY candidate, key, island
),
target_alerts AS (
    SELECT c.candidate, {_KEY} AS key, f.created_at,
        coalesce(f.resolved_at, 'infinity'::TIMESTAMPTZ) AS ends_at, {ATTENDED} AS attended
    FROM candidates AS c
    JOIN alert_facts AS f ON f.signature = c.target_signature
    JOIN alerts AS a ON a.source = f.source AND a.source_id = f.source_id
    WHERE {_unit("a")} = c.unit_b
),
replayed AS (  -- Alertmanager sends B's page as soon as no matching A fires: B must start and end inside
    SELECT t.candidate, t.attended,
        coalesce(c.covered_until > t.created_at AND c.covered_until >= t.ends_at, false) AS inhibited
    FROM target_alerts AS t
    ASOF LEFT JOIN coverage AS c
      ON t.candidate = c.candidate AND t.key = c.key AND t.created_at >= c.covered_from
)
SELECT c.candidate, c.unit_a, c.unit_b,
    count(r.candidate) AS pages_before,
    count(*) FILTER (WHERE r.inhibited) AS pages_removed,
    count(*) FILTER (WHERE r.inhibited AND r.attended) AS attended_hidden
FROM candidates AS c
LEFT JOIN replayed AS r USING (candidate)
GROUP BY c.candidate, c.unit_a, c.unit_b
ORDER BY c.candidate
""",  # noqa: S608 - fragments are constants of this module
        "query",
        options=("inhibitions",),
    )
)

GROUPING_REPLAY = register(
    Metric(
        "grouping_replay",
        "Grouping replay",
        "pages before = the group's alerts; after = one page per burst: an alert more than group_wait after "
        "the first alert of the current burst (with the same group_by labels) starts the next",
        "list",
        f"""
WITH groups AS (SELECT g.grp, g.units, g.signatures, g.paths FROM (SELECT unnest($groups::{GROUPS_TYPE}) AS g))
SELECT c.grp,
    CASE WHEN c.paths IS NULL THEN coalesce(a.labels::VARCHAR, '')  -- group_by '...': every label set alone
         ELSE list_transform(c.paths, lambda p: coalesce(json_extract_string(a.labels, p), ''))::VARCHAR
    END AS key,
    epoch(f.created_at) AS t, {_unit("a")} AS unit, {ATTENDED} AS attended
FROM groups AS c
JOIN alert_facts AS f ON list_contains(c.signatures, f.signature)
JOIN alerts AS a ON a.source = f.source AND a.source_id = f.source_id
WHERE list_contains(c.units, {_unit("a")})
ORDER BY c.grp, key, t
""",  # noqa: S608 - fragments are constants of this module
        "query",
        options=("groups",),
    )
)

SIGNATURE_LABELS = register(
    Metric(
        "signature_labels",
        "Signature labels",
        "per signature (and severity, for Prometheus alerts): its source, and the labels and title of its "
        "latest alert in the period (what a matcher can name)",
        "list",
        f"""
SELECT a.signature, {_severity("a")} AS severity, arg_max(a.source, a.created_at) AS source,
    arg_max(a.labels, a.created_at)::VARCHAR AS labels, arg_max(a.title, a.created_at) AS title,
    arg_max(a.service, a.created_at) AS service, arg_max(a.team, a.created_at) AS team, count(*) AS alerts
FROM alerts AS a
WHERE a.created_at >= $start AND a.created_at < $end AND list_contains($signatures::VARCHAR[], a.signature)
GROUP BY ALL
ORDER BY a.signature, severity
""",  # noqa: S608 - fragments are constants of this module
        "query",
        "tables",
        ("signatures",),
    )
)

# The unit advice is given for: the Prometheus rule an alert came from (when the team's rules are
# known: its alertname and static labels match the alert's), else the alert's signature.
_UNITS = f"""
WITH rules AS (SELECT unnest($rules::{RULES_TYPE}, recursive := true)),
rule_of_alert AS (
    SELECT f.source, f.source_id, r.unit
    FROM alert_facts AS f
    JOIN alerts AS a ON a.source = f.source AND a.source_id = f.source_id
    JOIN rules AS r ON r.alertname = json_extract_string(a.labels, '$.alertname')
    WHERE list_contains($labelled_sources::VARCHAR[], f.source)
      AND len(list_filter(r.matchers, lambda m: json_extract_string(a.labels, m.path) = m.value))
          = len(r.matchers)
    QUALIFY row_number() OVER (PARTITION BY f.source, f.source_id ORDER BY len(r.matchers) DESC, r.unit) = 1
),
units AS (
    SELECT f.*, coalesce(u.unit, f.signature) AS unit, {ATTENDED} AS attended
    FROM alert_facts AS f
    LEFT JOIN rule_of_alert AS u ON u.source = f.source AND u.source_id = f.source_id
)"""  # noqa: S608 - fragments are constants of this module

HOLD_DOWN_ADVICE = register(
    Metric(
        "hold_down_advice",
        "Hold-down advice",
        "the smallest hold-down H avoiding ≥ {hold_share} of the pages the largest avoids, delaying acknowledged "
        "or actionable alerts by ≤ {delay_budget} (else the largest within that budget)",
        "list",
        _UNITS  # noqa: S608 - fragments are constants of this module
        + """,
grid AS (SELECT unnest($hold_down_grid::DOUBLE[]) AS hold_s),
replay AS (
    SELECT u.unit, g.hold_s, count(*) AS alerts,
        list_sort(list(DISTINCT u.signature)) AS signatures,
        count(*) FILTER (WHERE NOT u.attended AND u.ttr_s <= g.hold_s) AS pages_avoided,
        count(*) FILTER (WHERE u.attended AND u.ttr_s <= g.hold_s) AS attended_hidden,
        count(*) FILTER (WHERE u.ttr_s IS NULL OR u.ttr_s > g.hold_s) AS pages_delayed,
        count(*) FILTER (WHERE u.attended AND (u.ttr_s IS NULL OR u.ttr_s > g.hold_s)) AS attended_delayed
    FROM units AS u CROSS JOIN grid AS g
    GROUP BY u.unit, g.hold_s
),
judged AS (
    SELECT *, g.hold_s * g.pages_delayed AS delay_added_s,
        arg_max(g.pages_avoided, g.hold_s) OVER (PARTITION BY g.unit) AS most_avoided,
        g.attended_delayed = 0 OR g.hold_s <= $delay_budget_s AS within_budget
    FROM replay AS g
),
chosen AS (
    SELECT unit,
        coalesce(
            min(hold_s) FILTER (WHERE within_budget AND pages_avoided >= $hold_share * most_avoided),
            max(hold_s) FILTER (WHERE within_budget AND pages_avoided > 0)) AS advised_s
    FROM judged WHERE most_avoided > 0 GROUP BY unit
)
SELECT j.unit, j.signatures, j.hold_s, j.alerts, j.pages_avoided, j.attended_hidden, j.pages_delayed,
    j.attended_delayed, j.delay_added_s, j.most_avoided, j.within_budget,
    coalesce(j.hold_s = c.advised_s AND c.advised_s > 0, false) AS advised,
    coalesce(c.advised_s > 0 AND j.hold_s = c.advised_s
        AND j.pages_avoided < $hold_share * j.most_avoided, false) AS limited_by_budget
FROM judged AS j
LEFT JOIN chosen AS c USING (unit)
ORDER BY j.unit, j.hold_s
""",
        "query",
        options=("rules",),
    )
)

HYSTERESIS_ADVICE = register(
    Metric(
        "hysteresis_advice",
        "Hysteresis advice",
        "keep_firing_for = 90th percentile of a series' gaps (resolve → next firing) shorter than {flap_s}, "
        "rounded up to a minute; replay: re-fires avoided and resolve delay added",
        "list",
        _UNITS  # noqa: S608 - fragments are constants of this module
        + """,
series_history AS (  -- the scope's alerts and the earlier firing intervals of their series
    SELECT a.source, a.source_id, a.created_at, a.resolved_at,
        CASE WHEN list_contains($labelled_sources::VARCHAR[], a.source) THEN a.labels::VARCHAR
             ELSE a.signature END AS series
    FROM alerts AS a
    WHERE a.signature IN (SELECT signature FROM units)
      AND a.created_at < $end AND coalesce(a.resolved_at, $end) >= $start - to_seconds($flap_s)
),
gaps AS (
    SELECT source, source_id,
        max(coalesce(resolved_at, 'infinity'::TIMESTAMPTZ)) OVER earlier AS previous_end,
        epoch(lead(created_at) OVER later - resolved_at) AS next_gap_s,
        created_at
    FROM series_history
    WINDOW earlier AS (PARTITION BY series ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           later AS (PARTITION BY series ORDER BY created_at)
),
per_alert AS (
    SELECT u.unit, u.signature, u.attended, u.resolved_at IS NOT NULL AS resolved, g.next_gap_s,
        CASE WHEN NOT isinf(g.previous_end) THEN epoch(g.created_at - g.previous_end) END AS gap_s
    FROM units AS u
    JOIN gaps AS g ON g.source = u.source AND g.source_id = u.source_id
),
advised AS (
    SELECT unit, count(*) AS alerts, list_sort(list(DISTINCT signature)) AS signatures,
        count(*) FILTER (WHERE gap_s >= 0 AND gap_s < $flap_s) AS refires,
        greatest(60, ceil(quantile_cont(gap_s, 0.9) FILTER (WHERE gap_s >= 0 AND gap_s < $flap_s) / 60) * 60)
            AS keep_firing_s
    FROM per_alert GROUP BY unit
    HAVING count(*) FILTER (WHERE gap_s >= 0 AND gap_s < $flap_s) > 0
),
replayed AS (
    SELECT a.unit, a.signatures, a.alerts, a.refires, a.keep_firing_s,
        count(*) FILTER (WHERE p.gap_s >= 0 AND p.gap_s <= a.keep_firing_s) AS refires_avoided,
        count(*) FILTER (WHERE p.gap_s >= 0 AND p.gap_s <= a.keep_firing_s AND p.attended) AS attended_hidden,
        count(*) FILTER (WHERE p.resolved AND NOT coalesce(p.next_gap_s <= a.keep_firing_s, false))
            AS resolves_delayed
    FROM advised AS a JOIN per_alert AS p USING (unit)
    GROUP BY a.unit, a.signatures, a.alerts, a.refires, a.keep_firing_s
)
SELECT *, keep_firing_s * resolves_delayed AS delay_added_s
FROM replayed
ORDER BY refires_avoided DESC, unit
""",
        "query",
        options=("rules",),
    )
)


# --- the Python side: parameters, candidates and replays ----------------------------------------


@dataclass(frozen=True)
class RuleKey:
    """A Prometheus alerting rule as alerts show it: its alertname and its static labels."""

    unit: str
    alertname: str
    labels: tuple[tuple[str, str], ...] = ()

    def as_param(self) -> dict:
        matchers = [{"path": label_path(k), "value": v} for k, v in self.labels if k != "alertname"]
        return {"unit": self.unit, "alertname": self.alertname, "matchers": matchers}


@dataclass(frozen=True)
class Group:
    """Co-firing units (unit_key) whose alerts would page once per burst, grouped by `group_by` within
    `group_wait_s`."""

    units: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    group_wait_s: float = 30.0
    service: str | None = None
    spread_s: float | None = None
    pairs: list[dict] = field(default_factory=list, compare=False)
    signatures: tuple[str, ...] = ()  # the units' signatures


def _read(db, name: str, period: Period, team: str | None, settings: Settings | None, **options):
    return read(db, [name], Scope(period, team), settings, **options)[name]


def co_firing(
    db: str | None, period: Period, team: str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Every ordered pair of co-firing units (A, B) related in the period, with support, P(B|A), P(A|B), lead.

    A unit is a signature, split by severity for Prometheus alerts (unit_a, unit_b: unit_key()). Pairs are
    kept when either fired for `team`; the probabilities count all teams' alerts."""
    return _with_units(_read(db, "co_firing", period, team, settings))


def _with_units(frame: pd.DataFrame) -> pd.DataFrame:
    units = {side: [unit_key(s, v) for s, v in zip(frame[f"signature_{side}"], frame[f"severity_{side}"],
                                                     strict=True)] for side in "ab"}  # fmt: skip
    return frame.assign(unit_a=units["a"], unit_b=units["b"])


def shared_labels(
    db: str | None, period: Period, pairs: Iterable[tuple[str, str]], settings: Settings | None = None
) -> pd.DataFrame:
    """For each pair of units (A, B): co-firing pairs, the spread (p90 of |lead|) and the labels equal in ≥ 95 %
    of the pairs."""
    wanted = [{"a": a, "b": b} for a, b in pairs]
    return _read(db, "shared_labels", period, None, settings, pairs=wanted)


def _with_shared(db, period, settings, frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if frame.empty:
        return frame.assign(shared_labels=pd.Series(dtype=object), spread_s=pd.Series(dtype=float))
    detail = shared_labels(db, period, zip(frame["unit_a"], frame["unit_b"], strict=True), settings)
    detail["shared_labels"] = detail["shared_labels"].map(list)
    return frame.merge(detail[["unit_a", "unit_b", "shared_labels", "spread_s"]], how="left")


def inhibition_candidates(
    db: str | None,
    period: Period,
    team: str | None = None,
    settings: Settings | None = None,
    cofiring: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A inhibits B where P(B|A) ≥ 0.9, support ≥ 5 and A leads; with `equal` and the replay over the period.

    Rows: unit_a (source), unit_b (target), their signatures and severities, the co-firing figures,
    shared_labels, equal (the shared labels but alertname), pages_before (B's alerts for the team),
    pages_removed, attended_hidden; those hiding an attended page first, then by pages removed."""
    import pandas as pd

    settings = settings if settings is not None else settings_module.load()
    a = settings.advice
    cofiring = co_firing(db, period, team, settings) if cofiring is None else cofiring
    chosen = cofiring[
        (cofiring["p_b_given_a"] >= a.inhibit_probability)
        & (cofiring["support"] >= a.inhibit_support)
        & (cofiring["lead_s"] >= 0)
    ].reset_index(drop=True)
    chosen = _with_shared(db, period, settings, chosen)
    if chosen.empty:
        return chosen.assign(equal=[], pages_before=[], pages_removed=[], attended_hidden=[])
    chosen["equal"] = [[name for name in shared if name != "alertname"] for shared in chosen["shared_labels"]]
    replay = inhibition_replay(db, period, chosen, team, settings)
    result = pd.concat([chosen, replay[["pages_before", "pages_removed", "attended_hidden"]]], axis=1)
    order = result.assign(hides=result["attended_hidden"] > 0).sort_values(
        ["hides", "pages_removed", "unit_b", "unit_a"], ascending=[False, False, True, True]
    )
    return order.drop(columns="hides").reset_index(drop=True)


def inhibition_replay(
    db: str | None,
    period: Period,
    inhibitions: pd.DataFrame,
    team: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Per row of `inhibitions` (signature_a, severity_a, signature_b, severity_b, equal), in order:
    pages_before, pages_removed, attended_hidden for the team's B alerts in the period."""
    param = []
    for i, row in enumerate(inhibitions.to_dict("records")):
        param.append({
            "candidate": i, "source": unit_key(row["signature_a"], row.get("severity_a")),
            "source_signature": row["signature_a"], "target": unit_key(row["signature_b"], row.get("severity_b")),
            "target_signature": row["signature_b"], "paths": [label_path(name) for name in row["equal"]],
        })  # fmt: skip
    return _read(db, "inhibition_replay", period, team, settings, inhibitions=param)


def _cliques(edges: dict[frozenset, float]) -> list[list[str]]:
    """Greedy cliques: the strongest remaining pair, then every unit co-firing with all members."""
    neighbours: dict[str, set[str]] = {}
    for pair in edges:
        a, b = tuple(pair)
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    taken: set[str] = set()
    groups = []
    for pair in sorted(edges, key=lambda p: (-edges[p], sorted(p))):
        if pair & taken:
            continue
        members = sorted(pair)
        for other in sorted(neighbours[members[0]] - taken - set(members)):
            if all(other in neighbours[m] for m in members):
                members.append(other)
        groups.append(sorted(members))
        taken.update(members)
    return groups


def group_wait_for(spread_s: float | None) -> int:
    """The smallest group_wait of GROUP_WAITS that covers the spread of a group's co-firing alerts."""
    spread = spread_s or 0.0
    return next((w for w in GROUP_WAITS if w >= spread), GROUP_WAITS[-1])


def grouping_candidates(
    db: str | None,
    period: Period,
    team: str | None = None,
    settings: Settings | None = None,
    cofiring: pd.DataFrame | None = None,
) -> list[Group]:
    """Units of one service co-firing pairwise with P(B|A) and P(A|B) ≥ 0.5, as groups with the labels all
    their pairs share (the group_by) and the group_wait covering their spread. Two severities of one
    signature are never grouped: they are one condition, for an inhibit rule."""
    settings = settings if settings is not None else settings_module.load()
    threshold = settings.advice.group_probability
    cofiring = co_firing(db, period, team, settings) if cofiring is None else cofiring
    same = cofiring[
        cofiring["service_a"].notna()
        & (cofiring["service_a"] == cofiring["service_b"])
        & (cofiring["signature_a"] != cofiring["signature_b"])
        & (cofiring["p_b_given_a"] >= threshold)
        & (cofiring["p_a_given_b"] >= threshold)
    ]
    if same.empty:
        return []
    edges: dict[frozenset, float] = {}
    for row in same.itertuples(index=False):
        pair = frozenset((row.unit_a, row.unit_b))
        edges[pair] = max(edges.get(pair, 0.0), float(row.support))
    cliques = _cliques(edges)
    members = {u: i for i, group in enumerate(cliques) for u in group}
    signature_of = dict(zip(same["unit_a"], same["signature_a"], strict=True))
    inside = same[[members[a] == members.get(b) for a, b in zip(same["unit_a"], same["unit_b"], strict=True)]]
    detail = _with_shared(db, period, settings, inside.reset_index(drop=True))
    groups = []
    for i, units in enumerate(cliques):
        rows = detail[detail["unit_a"].map(members.get) == i]
        shared = set.intersection(*(set(labels) for labels in rows["shared_labels"])) - {"alertname"}
        spread = float(rows["spread_s"].max()) if rows["spread_s"].notna().any() else None
        groups.append(
            Group(
                units=tuple(units),
                group_by=tuple(sorted(shared)),
                group_wait_s=float(group_wait_for(spread)),
                service=rows["service_a"].iloc[0],
                spread_s=spread,
                pairs=rows[["unit_a", "unit_b", "support", "p_b_given_a", "p_a_given_b", "lead_s"]]
                .to_dict("records"),
                signatures=tuple(sorted({signature_of[u] for u in units})),
            )
        )
    return groups


def bursts(times: np.ndarray, window_s: float) -> np.ndarray:
    """Indexes of the alerts that start a page: each page takes every alert within `window_s` of its first."""
    import numpy as np  # here: the metrics package is imported by the command-line report, which needs no numpy

    starts = []
    i = 0
    while i < len(times):
        starts.append(i)
        i = int(np.searchsorted(times, times[i] + window_s, side="right"))
    return np.asarray(starts, dtype=int)


def grouping_replay(
    db: str | None,
    period: Period,
    groups: Sequence[Group],
    team: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Per group, in order: pages_before (its alerts for the team) and pages_after (bursts)."""
    import pandas as pd

    param = [
        {"grp": i, "units": list(g.units), "signatures": list(g.signatures),
         "paths": None if g.group_by == ALL_LABELS else [label_path(n) for n in g.group_by]}
        for i, g in enumerate(groups)
    ]  # fmt: skip
    alerts = _read(db, "grouping_replay", period, team, settings, groups=param)
    rows = []
    for i, group in enumerate(groups):
        mine = alerts[alerts["grp"] == i]
        after = sum(
            len(bursts(part["t"].to_numpy(dtype=float), group.group_wait_s)) for _, part in mine.groupby("key")
        )
        rows.append({"grp": i, "pages_before": len(mine), "pages_after": after})
    return pd.DataFrame(rows, columns=["grp", "pages_before", "pages_after"])


def signature_labels(
    db: str | None, period: Period, signatures: Iterable[str], settings: Settings | None = None
) -> dict[str, dict]:
    """Per co-firing unit (unit_key) of these signatures: signature, severity, source, labels (Prometheus
    labels; empty for other sources), title, service, team, alerts."""
    frame = _read(db, "signature_labels", period, None, settings, signatures=sorted(set(signatures)))
    result = {}
    for row in frame.to_dict("records"):
        # NULL comes back as NaN when no row of the read has labels (an Alertmanager import without them).
        text = row["labels"] if isinstance(row["labels"], str) else None
        labels = json.loads(text) if text and row["source"] in LABELLED_SOURCES else {}
        row["labels"] = labels if isinstance(labels, dict) else {}
        row["severity"] = plain(row["severity"])
        result[unit_key(row["signature"], row["severity"])] = row
    return result


def unit_advice(
    db: str | None,
    period: Period,
    team: str | None = None,
    settings: Settings | None = None,
    rules: Sequence[RuleKey] | None = None,
    with_co_firing: bool = False,
) -> dict[str, pd.DataFrame]:
    """Hold-down and hysteresis advice per unit (its rule when `rules` match its alerts, else its
    signature), from one computation of the facts: {"hold_down": ..., "hysteresis": ...}, and with
    `with_co_firing` co_firing(...) too from the same read (what every plan starts from)."""
    names = ["hold_down_advice", "hysteresis_advice"] + (["co_firing"] if with_co_firing else [])
    figures = read(db, names, Scope(period, team), settings, rules=[r.as_param() for r in rules or ()])
    found = {"hold_down": figures["hold_down_advice"], "hysteresis": figures["hysteresis_advice"]}
    return found | ({"co_firing": _with_units(figures["co_firing"])} if with_co_firing else {})


def hold_down_advice(db, period, team=None, settings=None, rules=None) -> pd.DataFrame:
    """Per unit and hold-down H of the settings' grid: the hold-down replay, `advised` marking the advice."""
    return unit_advice(db, period, team, settings, rules)["hold_down"]


def hysteresis_advice(db, period, team=None, settings=None, rules=None) -> pd.DataFrame:
    """Per unit with re-fires: the keep_firing_for advised and its replay (re-fires avoided, attended
    pages hidden, resolves delayed and the delay added)."""
    return unit_advice(db, period, team, settings, rules)["hysteresis"]
