"""An alert history with one advisor candidate of each kind, shared by the advisor's CLI and page tests."""

from __future__ import annotations

import datetime as dt

from metrics_fixtures import T0, alert, am_alert, review


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def history() -> tuple[list[dict], list[dict]]:
    """Alerts (and reviews) with one candidate of each kind, apart in time so that they never co-fire."""
    rows, reviews = [], []
    # InstanceDown (rules/instances.yml, for: 5m): six blips of 2.5 min, two real outages someone handled.
    for i in range(6):
        rows.append(am_alert(at(10 * i), 150, "InstanceDown", job="node", instance=f"n{i}", severity="page"))
    for i in range(2):
        real = am_alert(at(100 + 60 * i), 3600, "InstanceDown", job="node", instance=f"r{i}", severity="page")
        rows.append(real)
        reviews.append(review("InstanceDown|node", "actionable", at(0), alert=real))
    # QueueBacklog (rules/api.yaml, keep_firing_for: 1m): one label set flapping, gaps 3, 3, 3, 3, 12 min.
    start = 1000.0
    for gap in (3, 3, 3, 3, 12, None):
        rows.append(am_alert(at(start), 40 * 60, "QueueBacklog", service="checkout", severity="ticket"))
        start += 40 + (gap or 0)
    # HighErrorRate then CheckoutLatency 20 s later, five times: one service, a grouping candidate.
    for i in range(5):
        base = at(2000 + 120 * i)
        rows.append(am_alert(base, 3000, "HighErrorRate", service="checkout", severity="page"))
        rows.append(am_alert(base + dt.timedelta(seconds=20), 3000, "CheckoutLatency", service="checkout",
                             severity="page"))  # fmt: skip
    # NodeDown (job kubelet) and, a minute later, PodCrash in the payments namespace on the same node,
    # resolved while the node is still down.
    for i in range(6):
        base = at(3000 + 120 * i)
        rows.append(am_alert(base, 3000, "NodeDown", job="kubelet", node=f"k{i}", severity="critical"))
        rows.append(am_alert(base + dt.timedelta(seconds=60), 2000, "PodCrash", namespace="payments",
                             node=f"k{i}", severity="warning"))  # fmt: skip
    rows.append(am_alert(at(4000), 3000, "PodCrash", namespace="payments", node="k9", severity="warning"))
    # A paging provider's transient alert: advice in PagerDuty's words.
    for i in range(5):
        rows.append(alert(at(5000 + 60 * i), resolve_s=100, signature="ledger|disk #% full",
                          title=f"Disk {90 + i}% full", service="ledger"))  # fmt: skip
    return rows, reviews
