"""The advice as a unified diff to apply, the patched files as YAML, or JSON for tools."""

from __future__ import annotations

import json
import math
import re

from advisor.plan import Plan, Suggestion
from settings import REDACTED, redact

NO_CHANGE = "No change to suggest: nothing in this period's history supports one."


def _headline(plan: Plan) -> str:
    who = f"team {plan.team}" if plan.team else "all teams"
    count = len(plan.suggestions)
    return f"Alert hygiene advice for {who}, {plan.period.label()}: {count} suggestion{'' if count == 1 else 's'}"


def _lines(number: int, suggestion: Suggestion) -> list[str]:
    lines = [f"{number}. {suggestion.title}: {suggestion.pages_before} → {suggestion.pages_after} pages"]
    if suggestion.warning:
        lines.append(f"   WARNING: {suggestion.warning}")
    lines.append(f"   {suggestion.evidence}")
    if suggestion.provider_text:
        lines.append(f"   In your paging provider: {suggestion.provider_text}")
    if suggestion.note:
        lines.append(f"   ({suggestion.note})")
    return lines


def summary_lines(plan: Plan) -> list[str]:
    lines = [_headline(plan) + ("." if plan.suggestions else f". {NO_CHANGE}")]
    for number, suggestion in enumerate(plan.suggestions, start=1):
        lines += _lines(number, suggestion)
    for patched in plan.files:
        for done in patched.checks:
            verdict = {True: "passes", False: "FAILS", None: "not checked"}[done.ok]
            lines.append(f"{patched.path}: {done.tool} {verdict}" + ("" if done.ok else f": {done.output}"))
    lines += plan.notes
    return lines


def _commented(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for text in lines for line in text.splitlines() or [""])


def render_diff(plan: Plan) -> str:
    """A unified diff (`git apply` / `patch -p1` take it) after a commented summary of every suggestion."""
    return _commented(summary_lines(plan)) + "".join(f.diff for f in plan.files)


def render_yaml(plan: Plan) -> str:
    """Every patched file in full, each after a comment naming it, separated by `---`."""
    parts = [_commented(summary_lines(plan))]
    for index, patched in enumerate(plan.files):
        if index:
            parts.append("---\n")
        parts.append(f"# {patched.path}, patched\n")
        parts.append(patched.after if patched.after.endswith("\n") else patched.after + "\n")
    return "".join(parts)


def as_dict(plan: Plan) -> dict:
    return {
        "period": plan.period.as_dict(),
        "team": plan.team,
        "origin": plan.origin,
        "suggestions": [s.as_json() for s in plan.suggestions],
        "files": [
            {"kind": f.kind, "path": f.path, "diff": f.diff, "patched": f.after,
             "checks": [{"tool": c.tool, "ok": c.ok, "output": c.output} for c in f.checks]}
            for f in plan.files
        ],  # fmt: skip
        "notes": plan.notes,
    }


def render_json(plan: Plan) -> str:
    return json.dumps(_clean(as_dict(plan)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _clean(value):
    """Plain JSON values: numpy numbers and arrays as Python ones, NaN as null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


RENDERERS = {"diff": render_diff, "yaml": render_yaml, "json": render_json}

# Alertmanager's secret settings (its configuration's Secret fields) and their usual neighbours: a diff's
# context lines can show them, and what the dashboard shows or a review keeps must not.
_SECRET_KEY = re.compile(
    r"^(?P<keep>[-+ ]?\s*(?:-\s+)?['\"]?(?:[a-z_]*(?:api_key|service_key|routing_key|api_url|webhook_url|password"
    r"|credentials|bearer_token|token|secret|user_key|integration_key|auth_identity))['\"]?\s*:\s*)(?P<value>\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def masked(text: str) -> str:
    """`text` (a diff or a file) with the values of secret settings and credential-shaped tokens replaced
    by ***: for what is shown on a shared page or stored in a review, never for the patch to apply."""
    text = _SECRET_KEY.sub(lambda m: m["keep"] + REDACTED, text)
    return "\n".join(redact(line) for line in text.split("\n"))  # line by line: YAML keys are not headers
