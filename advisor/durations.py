"""Prometheus and Alertmanager durations ('1h30m', '5m', '90s'): parsed to seconds and written back."""

from __future__ import annotations

import re

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse(text: str | None) -> float | None:
    """Seconds of a duration as Prometheus writes them; None for no value; ValueError when malformed."""
    if text is None or str(text).strip() == "":
        return None
    written = str(text).strip()
    if written == "0":
        return 0.0
    found = _DURATION.match(written)
    if not found or not any(found.groups()):
        raise ValueError(f"not a duration: {written!r} (expected something like 5m or 1h30m)")
    return float(sum(int(n) * unit for n, unit in zip(found.groups(), _UNITS.values(), strict=True) if n))


def format(seconds: float) -> str:  # noqa: A001 - the module's verb, read as durations.format
    """The shortest exact way to write whole seconds: 0s, 45s, 5m, 1h30m, 1h0m30s."""
    total = round(seconds)
    if total <= 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes or (hours and secs):
        parts.append(f"{minutes}m")
    if secs:
        parts.append(f"{secs}s")
    return "".join(parts)


def words(seconds: float) -> str:
    """For sentences: '5 min', '90 s', '1 h 30 min'."""
    total = round(seconds)
    if total < 60 or total % 60:
        return f"{total} s" if total < 120 else f"{total / 60:.1f} min"
    minutes = total // 60
    if minutes < 60 or minutes % 60 == 0 and minutes < 120:
        return f"{minutes} min" if minutes < 60 else "1 h"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
