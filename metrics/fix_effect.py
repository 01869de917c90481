"""Did the fix work: each fix's alert rate after / before, its exact 95 % interval and verdict."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from metrics.period import Period
from metrics.read import Scope, plain, read
from metrics.registry import Metric, option, parameters, register, term
from settings import Settings

if TYPE_CHECKING:
    import pandas as pd

WINDOW_DAYS = 28  # at most this many days on each side of the fix
MIN_DAYS_AFTER = 7  # an effect needs at least this many days after the fix
CONFIRMED_BELOW = 0.5  # the interval's upper end below this: the fix worked
LEVEL = 0.95

CONFIRMED, WORSE, NO_CHANGE, TOO_EARLY = "confirmed", "worse", "no change", "too early to tell"
VERDICTS = (CONFIRMED, NO_CHANGE, WORSE, TOO_EARLY)

option("since", None)  # fix_effect: only the fixes whose after-window reaches past this moment
term("fix_window", lambda s, h: f"{WINDOW_DAYS} days")
term("fix_min_after", lambda s, h: f"{MIN_DAYS_AFTER}")
term("fix_level", lambda s, h: f"{LEVEL * 100:g} %")
term("fix_confirmed", lambda s, h: f"{CONFIRMED_BELOW:g}")


@parameters
def _window(settings: Settings) -> dict[str, int]:
    return {"window_days": WINDOW_DAYS}


# A fix is a signature-wide review `noise` or `needs-tuning`, a fix marked done in the planner,
# or the signature's ticket closed as done. Each is judged on the signature's own alerts in up to
# 28 days before it (never before the history loaded) and up to 28 days after it (never past
# $as_of). $since keeps only the fixes whose after-window reaches past it.
FIX_EFFECT = register(
    Metric(
        "fix_effect",
        "Fix effect",
        "alert rate in up to {fix_window} after the fix / rate in up to {fix_window} before (at least "
        "{fix_min_after} after); exact {fix_level} interval; confirmed when its upper end < {fix_confirmed}, "
        "worse when its lower end is above one",
        "ratio",
        """
WITH fixes AS (
    SELECT signature, 'review' AS fixed_by, reviewed_at AS fixed_at, verdict AS detail, reviewer AS who
    FROM reviews WHERE alert_source_id IS NULL AND verdict IN ('noise', 'needs-tuning')
    UNION ALL
    SELECT signature, 'planner', done_at, fix_kind || ' fix', done_by FROM fixes_done
    UNION ALL
    SELECT signature, 'ticket', closed_at, ticket_key, NULL FROM tickets WHERE done AND closed_at IS NOT NULL
),
history AS (SELECT min(created_at) AS first_alert_at FROM alerts),
scoped AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY f.fixed_at, f.signature, f.fixed_by) AS fix_id, f.*,
        greatest(f.fixed_at - to_days($window_days), h.first_alert_at) AS before_start,
        least(f.fixed_at + to_days($window_days), $as_of) AS after_end
    FROM fixes AS f, history AS h
    WHERE f.fixed_at <= $as_of
      AND ($since::TIMESTAMPTZ IS NULL OR f.fixed_at + to_days($window_days) > $since::TIMESTAMPTZ)
      AND ($team::VARCHAR IS NULL
           OR f.signature IN (SELECT signature FROM alerts WHERE team = $team::VARCHAR))
),
relevant AS MATERIALIZED (
    SELECT signature, created_at, title FROM alerts
    WHERE signature IN (SELECT signature FROM scoped)
      AND created_at >= (SELECT min(before_start) FROM scoped) AND created_at < (SELECT max(after_end) FROM scoped)
),
-- Each fix's three edges among its signature's alerts, in time order; at equal times an edge sorts
-- before the alerts, so the running count at an edge is the number of alerts strictly before it.
-- One sort instead of joining every fix with every alert of its signature.
events AS (
    SELECT signature, created_at AS moment, 1 AS is_alert, NULL::BIGINT AS fix_id, NULL AS edge FROM relevant
    UNION ALL SELECT signature, before_start, 0, fix_id, 'start' FROM scoped
    UNION ALL SELECT signature, fixed_at, 0, fix_id, 'fix' FROM scoped
    UNION ALL SELECT signature, after_end, 0, fix_id, 'end' FROM scoped
),
running AS (
    SELECT fix_id, edge,
        sum(is_alert) OVER (PARTITION BY signature ORDER BY moment, is_alert ROWS UNBOUNDED PRECEDING) AS before_edge
    FROM events
),
edges AS (
    SELECT fix_id,
        max(before_edge) FILTER (WHERE edge = 'start') AS at_start,
        max(before_edge) FILTER (WHERE edge = 'fix') AS at_fix,
        max(before_edge) FILTER (WHERE edge = 'end') AS at_end
    FROM running WHERE fix_id IS NOT NULL
    GROUP BY fix_id
),
titles AS (SELECT signature, arg_max(title, created_at) AS title FROM relevant GROUP BY signature)
SELECT s.signature, coalesce(t.title, s.signature) AS title, s.fixed_by, s.fixed_at, s.detail, s.who,
    (e.at_fix - e.at_start)::BIGINT AS alerts_before, (e.at_end - e.at_fix)::BIGINT AS alerts_after,
    greatest(epoch(s.fixed_at - coalesce(s.before_start, s.fixed_at)), 0) / 86400.0 AS days_before,
    greatest(epoch(s.after_end - s.fixed_at), 0) / 86400.0 AS days_after
FROM scoped AS s
JOIN edges AS e USING (fix_id)
LEFT JOIN titles AS t USING (signature)
ORDER BY s.fixed_at DESC, s.signature, s.fixed_by
""",
        "query",
        "tables",
        ("as_of", "since"),
    )
)


def fix_effects(
    db: str | None,
    as_of: dt.datetime | None = None,
    team: str | None = None,
    settings: Settings | None = None,
    since: dt.datetime | None = None,
) -> pd.DataFrame:
    """Every fix up to `as_of` (whose after-window reaches past `since`), newest first, judged.

    Columns: signature, title, fixed_by (review, planner, ticket), fixed_at, detail, who,
    alerts_before, alerts_after, days_before, days_after, effect, low, high, verdict.
    """
    as_of = as_of or dt.datetime.now(dt.UTC)
    scope = Scope(Period(as_of - dt.timedelta(days=1), as_of), team)
    return judge(read(db, ["fix_effect"], scope, settings, as_of=as_of, since=since)["fix_effect"])


def latest_per_signature(effects: pd.DataFrame) -> pd.DataFrame:
    """Each signature's most recent fix (the frame is newest first)."""
    return effects.drop_duplicates("signature", keep="first").reset_index(drop=True)


def latest_rows(effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """latest_per_signature for plain rows (newest first)."""
    seen: set[str] = set()
    return [row for row in effects if not (row["signature"] in seen or seen.add(row["signature"]))]


JUDGED = ("effect", "low", "high", "verdict")


def judge(frame: pd.DataFrame) -> pd.DataFrame:
    """Add effect, low, high and verdict to rows of counts and days on each side."""
    import pandas as pd

    judged = [_judged(row) for row in frame.to_dict("records")]
    frame = frame.copy()
    for i, name in enumerate(JUDGED):
        frame[name] = [item[i] for item in judged] if judged else pd.Series(dtype=object)
    return frame


def judged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """judge for plain rows (Figures.rows): each row with effect, low, high and verdict."""
    return [row | dict(zip(JUDGED, _judged(row), strict=True)) for row in rows]


def _judged(row: dict[str, Any]) -> tuple[float | None, float | None, float | None, str]:
    return judgement(int(row["alerts_after"]), float(row["days_after"]), int(row["alerts_before"]),
                     float(row["days_before"]))


def judgement(
    after: int, days_after: float, before: int, days_before: float
) -> tuple[float | None, float | None, float | None, str]:
    """(effect, low, high, verdict) for `after` alerts in `days_after` days against `before` in `days_before`.

    With fewer than 7 days after the fix, or no history before it, there is no effect yet.
    """
    if days_after < MIN_DAYS_AFTER or days_before <= 0:
        return None, None, None, TOO_EARLY
    effect = (after / days_after) / (before / days_before) if before else None
    low, high = rate_ratio_interval(after, days_after, before, days_before)
    return effect, low, high, verdict(low, high)


def verdict(low: float, high: float) -> str:
    """METRICS.md: confirmed when high < 0.5; worse when low > 1; no change when 1 is inside; else too early."""
    if high < CONFIRMED_BELOW:
        return CONFIRMED
    if low > 1:
        return WORSE
    if low <= 1 <= high:
        return NO_CHANGE
    return TOO_EARLY


def rate_ratio_interval(
    after: int, days_after: float, before: int, days_before: float, level: float = LEVEL
) -> tuple[float, float]:
    """The exact interval of rate after / rate before: the conditional binomial test of two Poisson counts.

    Given n = after + before alerts, `after` is Binomial(n, p) with p = R·t_a / (R·t_a + t_b) for the
    rate ratio R; the Clopper-Pearson interval of p maps to R = p / (1 - p) · t_b / t_a.
    """
    n = after + before
    if n == 0:
        return 0.0, math.inf
    p_low, p_high = clopper_pearson(after, n, level)
    scale = days_before / days_after
    low = p_low / (1 - p_low) * scale
    high = math.inf if p_high >= 1 else p_high / (1 - p_high) * scale
    return low, high


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion: k successes in n trials."""
    alpha = 1 - level
    low = 0.0 if k == 0 else beta_quantile(alpha / 2, k, n - k + 1)
    high = 1.0 if k == n else beta_quantile(1 - alpha / 2, k + 1, n - k)
    return low, high


def beta_quantile(q: float, a: float, b: float) -> float:
    """x with I_x(a, b) = q: Newton's method from the normal approximation, kept inside a bracket
    that bisection narrows whenever a step would leave it (a few steps even for tens of thousands of alerts)."""
    mean, spread = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    x = min(max(mean + _normal_quantile(q) * spread, 1e-12), 1 - 1e-12)
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    lo, hi = 0.0, 1.0
    for _ in range(200):
        error = regularized_beta(x, a, b) - q
        if error < 0:
            lo = x
        else:
            hi = x
        density = math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - log_beta)
        following = x - error / density if density > 0 else -1.0
        if not lo < following < hi:
            following = (lo + hi) / 2
        if abs(following - x) <= 1e-15 * x:
            return following
        x = following
    return x


def _normal_quantile(q: float) -> float:
    """The standard normal quantile (Acklam's rational approximation; a starting point only)."""
    if q < 0.5:
        return -_normal_quantile(1 - q)
    t = math.sqrt(-2 * math.log(1 - q))
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t ** 3)


def regularized_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny, c, d = 1e-300, 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return result


TICKETS = register(
    Metric(
        "fix_tickets",
        "Tickets",
        "each signature's ticket as the last `python -m metrics tickets` run read it back",
        "list",
        """
SELECT t.signature, t.system, t.ticket_key, t.url, t.status, t.done, t.closed_at, t.synced_at, named.title
FROM tickets t
LEFT JOIN (  -- the signature's latest title, to name a ticketed alert wherever it is listed
    SELECT signature, arg_max(title, created_at) AS title
    FROM alerts
    WHERE signature IN (SELECT signature FROM tickets)
    GROUP BY signature
) named USING (signature)
ORDER BY t.signature, t.synced_at DESC
""",
        "query",
        "tables",
    )
)


def tickets(db: str | None, settings: Settings | None = None) -> pd.DataFrame:
    """Every ticket opened for a fix, with the status last read back (newest sync first per signature)."""
    return read(db, ["fix_tickets"], settings=settings)["fix_tickets"]


def fix_board(
    db: str | None,
    as_of: dt.datetime | None = None,
    team: str | None = None,
    settings: Settings | None = None,
    since: dt.datetime | None = None,
) -> pd.DataFrame:
    """Each signature's latest fix with its effect, and its ticket (ticket_key, ticket_status, ticket_url); a
    signature with a ticket but no fix yet has a row too, without verdict."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    scope = Scope(Period(as_of - dt.timedelta(days=1), as_of), team)
    figures = read(db, ["fix_effect", "fix_tickets"], scope, settings, as_of=as_of, since=since)
    return board(figures["fix_effect"], figures["fix_tickets"], outer=since is None)


def board(effects: pd.DataFrame, known: pd.DataFrame, outer: bool = True) -> pd.DataFrame:
    """fix_board of a read's `fix_effect` and `fix_tickets` tables; `outer`: signatures with a ticket and
    no fix yet have a row too."""
    latest = latest_per_signature(judge(effects))
    known = known.drop_duplicates("signature")
    known = known.rename(columns={"status": "ticket_status", "url": "ticket_url", "done": "ticket_done",
                                  "title": "ticket_title"})
    merged = latest.merge(known[["signature", "system", "ticket_key", "ticket_status", "ticket_url", "ticket_done",
                                 "ticket_title"]], on="signature", how="outer" if outer else "left")
    # A signature with a ticket and no fix yet is named by its alerts' title.
    return merged.assign(title=merged["title"].fillna(merged.pop("ticket_title")))


def effect_text(effect: float | None, low: float | None, high: float | None, short: bool = False) -> str:
    """'×0.20 (95 %: 0.05–0.61)', or short '×0.20 (0.05–0.61)'; 'new' without a rate before; '–' without an
    interval."""
    if plain(low) is None:
        return "–"
    shown = ("new" if short else "new after the fix") if plain(effect) is None else f"×{effect:.2f}"
    upper = "∞" if math.isinf(high) else f"{high:.2f}"
    return f"{shown} ({'' if short else '95 %: '}{low:.2f}–{upper})"


def how_fixed(fixed_by: str, detail: str | None) -> str:
    """'review noise', 'alert fix marked done', 'ticket OPS-7 closed'."""
    return {"review": f"review {detail}", "planner": f"{detail} marked done",
            "ticket": f"ticket {detail} closed"}.get(fixed_by, fixed_by)
