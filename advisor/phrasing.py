"""The same advice in the words of each paging provider's own settings, for teams that page from them."""

from __future__ import annotations

from advisor.durations import format as duration
from advisor.durations import words

# PagerDuty's auto-pause accepts these pauses only (the service's auto_pause_notifications_parameters.timeout).
PAGERDUTY_PAUSES_S = (120, 180, 300, 600, 900)
PROVIDER_OF_SOURCE = {
    "pagerduty": "pagerduty", "demo": "pagerduty", "opsgenie": "opsgenie", "jsm": "opsgenie", "oncall": "oncall",
    "alertmanager": "prometheus", "prometheus": "prometheus",
}  # fmt: skip
PROVIDER_NAMES = {"pagerduty": "PagerDuty", "opsgenie": "Opsgenie / JSM", "oncall": "Grafana OnCall",
                  "prometheus": "Prometheus"}  # fmt: skip


def provider_of(source: str | None) -> str | None:
    return PROVIDER_OF_SOURCE.get(source or "")


def hold_down(provider: str | None, seconds: float, service: str | None, title: str | None, team: str | None) -> str:
    where = f"service {service}" if service else "the service"
    if provider == "pagerduty":
        pause = next((p for p in PAGERDUTY_PAUSES_S if p >= seconds), PAGERDUTY_PAUSES_S[-1])
        short = " (its longest pause, shorter than advised)" if pause < seconds else ""
        return (f"On {where}: Auto-pause incident notifications with a {words(pause)} pause{short}: an alert "
                f"that resolves within it pages nobody (API and Terraform: auto_pause_notifications_parameters "
                f"{{enabled: true, timeout: {pause}}}). If the alert comes from a Prometheus rule, the rule's "
                f"`for:` does the same upstream.")  # fmt: skip
    if provider == "opsgenie":
        return (f"A notification policy of team {team or 'the owner team'}: delay notifications for "
                f"{words(seconds)} for alerts whose message matches “{title or 'this alert'}”; an alert closed "
                f"within the delay notifies nobody.")  # fmt: skip
    if provider == "oncall":
        return (f"A Wait step of {words(seconds)} first in the escalation chain of the route these alerts take: "
                f"an alert group resolved during the wait notifies nobody.")
    return f"Hold the alert down for {words(seconds)} where it is raised (a `for:` on a Prometheus rule)."


def grouping(provider: str | None, seconds: float, service: str | None, fields: list[str]) -> str:
    where = f"service {service}" if service else "the service"
    on = ", ".join(fields)
    if provider == "pagerduty":
        how = (f"content-based alert grouping on {on}" if fields else "time-based alert grouping")
        return (f"On {where}: {how} with a window of at least {words(seconds)}: the alerts that follow the "
                f"first within the window join its incident instead of paging again.")
    if provider == "opsgenie":
        return (f"Give these alerts one alias in their integration ({'the ' + on if on else 'e.g. the service'}): "
                f"Opsgenie folds an alert whose alias is already open into that alert instead of notifying again.")
    if provider == "oncall":
        template = " ".join(f"{{{{ payload.labels.{f} }}}}" for f in fields) or "{{ payload.service }}"
        return (f"In the integration's grouping template use {template}: alerts with the same grouping ID join "
                f"the open alert group instead of starting a new one.")
    return f"Group these alerts into one notification within {words(seconds)}."


def inhibition(provider: str | None, source_title: str, lead_s: float, same_service: bool) -> str:
    if provider == "pagerduty":
        extra = (f"content-based alert grouping on the service, window at least {words(max(lead_s, 60))}, folds "
                 f"them into the incident of “{source_title}”; " if same_service else "")
        return (f"PagerDuty cannot hide one alert while another is open: {extra}otherwise stop them where they are "
                f"sent: for Prometheus alerts, the Alertmanager inhibit rule.")
    if provider == "opsgenie":
        return (f"Opsgenie cannot hide one alert while another is open: an alias shared with “{source_title}” folds "
                f"them into its alert; otherwise stop them where they are sent (an Alertmanager inhibit rule).")
    if provider == "oncall":
        return (f"A grouping template that gives them the grouping ID of “{source_title}” puts them in its alert "
                f"group; otherwise stop them where they are sent (an Alertmanager inhibit rule).")
    return "An Alertmanager inhibit rule."


def hysteresis(provider: str | None, seconds: float) -> str:
    if provider in ("pagerduty", "opsgenie", "oncall"):
        return (f"{PROVIDER_NAMES[provider]} has no resolve delay: keep the alert open for {words(seconds)} in the "
                f"monitor that sends it (`keep_firing_for: {duration(seconds)}` on a Prometheus rule; a recovery "
                f"window or threshold elsewhere).")
    return f"Keep the alert firing for {words(seconds)} after its condition clears (`keep_firing_for`)."
