"""Signatures: what makes two alerts "the same alert" (METRICS.md, Words)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# IPv6: eight full groups, or a compressed form with '::' (so clock times like 10:30:00 are not).
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
    r"|(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4})(?![\w:])",
    re.I,
)
_HEX_RUN = re.compile(r"\b[0-9a-f]{8,}\b", re.I)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalize_title(title: str | None) -> str:
    """Lower-case; UUIDs, IP addresses, hex runs of 8+ and digit runs become '#'."""
    text = (title or "").lower()
    text = _UUID.sub("#", text)
    text = _IPV4.sub("#", text)
    text = _IPV6.sub("#", text)
    text = _HEX_RUN.sub("#", text)
    text = _DIGITS.sub("#", text)
    return _SPACE.sub(" ", text).strip()


def title_signature(service: str | None, title: str | None) -> str:
    """PagerDuty, Opsgenie, Grafana OnCall and CSV: service + '|' + normalized title."""
    return f"{service or ''}|{normalize_title(title)}"


def label_signature(labels: Mapping[str, str], signature_labels: Iterable[str]) -> str:
    """Alertmanager/Prometheus: alertname + '|' + the first present of the configured labels."""
    qualifier = next((labels[name] for name in signature_labels if labels.get(name)), "")
    return f"{labels.get('alertname', '')}|{qualifier}"
