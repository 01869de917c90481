"""From the advice metrics to ranked suggestions, each with its replay, its evidence and the change it makes."""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from advisor import check, durations, phrasing
from advisor.amconfig import AmConfig, Matcher, Route
from advisor.durations import words
from advisor.rules import RuleSet, set_duration
from advisor.yamlpatch import PatchError
from metrics import advice
from metrics import display as shown
from metrics.period import Period
from settings import Settings

NO_ALERTMANAGER = "no patch: your Alertmanager configuration was not given"
KINDS = {
    "group": "Grouping",
    "inhibit": "Inhibition",
    "hold_down": "Hold-down",
    "keep_firing": "Hysteresis",
}


# --- changes: each knows how to make itself in a set of configuration files -------------------------


@dataclass
class Configs:
    """The team's rule files and Alertmanager configuration, as read, with the edits made so far."""

    rules: RuleSet | None = None
    am: AmConfig | None = None

    def fresh(self) -> Configs:
        """The same files, unedited."""
        return Configs(self.rules.copy() if self.rules else None, self.am.copy() if self.am else None)

    def files(self) -> list[tuple[str, str, str, str]]:
        """(kind, path, text before, text after) of every file an edit changed."""
        out = []
        for rule_file in self.rules.files if self.rules else []:
            if rule_file.changed:
                out.append(("rules", rule_file.path, rule_file.document.text, rule_file.patched()))
        if self.am and self.am.document.edits:
            out.append(("alertmanager", self.am.path, self.am.document.text, self.am.document.result()))
        return out


@dataclass
class SetDuration:
    unit: str
    key: str  # for, keep_firing_for
    seconds: float
    comment: str

    def apply(self, configs: Configs) -> None:
        set_duration(configs.rules.by_unit[self.unit], self.key, self.seconds, self.comment)


@dataclass
class AddInhibit:
    source: list[Matcher]
    target: list[Matcher]
    equal: list[str]
    comment: str

    def apply(self, configs: Configs) -> None:
        configs.am.add_inhibit_rule(self.source, self.target, self.equal, self.comment)


@dataclass
class AddRoute:
    route: str  # the path of the route the alerts take now
    matchers: list[Matcher]
    group_by: list[str]
    group_wait_s: float
    comment: str

    def apply(self, configs: Configs) -> None:
        parent = configs.am.route_at(self.route)
        configs.am.add_route(parent, self.matchers, self.group_by, self.group_wait_s, self.comment)


# --- suggestions ------------------------------------------------------------------------------------


@dataclass
class Suggestion:
    kind: str
    title: str
    signatures: list[str]  # the signatures whose pages it changes (what a review of it is about)
    pages_before: int
    pages_after: int
    evidence: str
    attended_hidden: int = 0
    attended_delayed: int = 0
    delay_added_s: float = 0.0  # pages sent later, in total
    resolve_delay_s: float = 0.0  # resolves sent later, in total (hysteresis)
    provider: str | None = None  # whose settings `provider_text` speaks of
    provider_text: str = ""
    change: Any = None
    patch: str = ""  # this suggestion's own diff, when it changes a file
    note: str = ""  # why there is no patch, when there is none
    figures: dict = field(default_factory=dict)

    @property
    def pages_saved(self) -> int:
        return self.pages_before - self.pages_after

    @property
    def warning(self) -> str:
        """What it would cost in attended pages, said before anything else."""
        parts = []
        if self.attended_hidden:
            parts.append(f"would hide {_n(self.attended_hidden, 'page')} someone acknowledged or marked actionable")
        if self.attended_delayed:
            each = self.figures.get("hold_s") or self.figures.get("group_wait_added_s") or 0
            parts.append(f"would delay {_n(self.attended_delayed, 'acknowledged or actionable alert')}"
                         + (f" by {words(each)}" if each else ""))  # fmt: skip
        return ("This " + " and ".join(parts) + ".") if parts else ""

    def as_json(self) -> dict:
        return {
            "kind": self.kind, "title": self.title, "signatures": self.signatures,
            "pages_before": self.pages_before, "pages_after": self.pages_after, "pages_saved": self.pages_saved,
            "attended_hidden": self.attended_hidden, "attended_delayed": self.attended_delayed,
            "delay_added_s": self.delay_added_s, "resolve_delay_added_s": self.resolve_delay_s,
            "warning": self.warning or None, "evidence": self.evidence, "provider": self.provider,
            "provider_settings": self.provider_text or None, "patch": self.patch or None, "note": self.note or None,
            "figures": self.figures,
        }  # fmt: skip


@dataclass
class PatchedFile:
    kind: str  # rules, alertmanager
    path: str
    before: str
    after: str
    checks: list[check.Check] = field(default_factory=list)

    @property
    def diff(self) -> str:
        return unified_diff(self.path, self.before, self.after)


@dataclass
class Plan:
    period: Period
    team: str | None
    suggestions: list[Suggestion]
    files: list[PatchedFile]
    notes: list[str]
    origin: dict

    @property
    def checks_failed(self) -> list[str]:
        return [f"{f.path}: {c.tool}: {c.output}" for f in self.files for c in f.checks if c.ok is False]


def unified_diff(path: str, before: str, after: str) -> str:
    """The change as `git apply` and `patch -p1` read it (a path as the user named it, a/ and b/ before)."""
    name = path.lstrip("/")  # a rule file Prometheus names by its absolute path
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _pct(value: float) -> str:
    return f"{value:.0%}"


# --- naming things as people know them ----------------------------------------------------------------


def display(key: str, info: dict) -> str:
    """`NodeDown (kubelet, critical)` for Prometheus alerts; `“disk #% full” (ledger)` for the others."""
    first, _, rest = info.get("signature", key).partition("|")
    if info.get("labels"):
        detail = ", ".join(part for part in (rest, info.get("severity")) if part)
        return f"{first} ({detail})" if detail else first
    return f"“{rest}” ({first})" if first else f"“{rest}”"


def qualifier_matchers(info: dict, settings: Settings) -> list[Matcher]:
    """The matchers naming a co-firing unit: its alertname, the label its signature was made from, and its
    severity when it has one."""
    labels = info.get("labels") or {}
    found = [Matcher("alertname", "=", labels.get("alertname", ""))]
    for name in settings.alertmanager_signature_labels:
        if labels.get(name):
            found.append(Matcher(name, "=", labels[name]))
            break
    if info.get("severity"):
        found.append(Matcher("severity", "=", info["severity"]))
    return found


def _regex_escape(text: str) -> str:
    return re.sub(r"([.+*?()|\[\]{}^$\\])", r"\\\1", text)


# --- the plan -----------------------------------------------------------------------------------------


def build(
    db: str | None,
    period: Period,
    team: str | None,
    settings: Settings,
    configs: Configs | None = None,
    run_checks: bool = True,
) -> Plan:
    """Every suggestion the history supports for the team, ranked by pages saved, and the patched files."""
    configs = configs or Configs()
    keys = configs.rules.keys() if configs.rules else None
    first = advice.unit_advice(db, period, team, settings, rules=keys, with_co_firing=True)
    cofiring = first["co_firing"]
    groups = advice.grouping_candidates(db, period, team, settings, cofiring)
    inhibitions = advice.inhibition_candidates(db, period, team, settings, cofiring)
    in_groups = {frozenset(pair) for g in groups for pair in itertools.combinations(g.units, 2)}
    inhibitions = inhibitions[
        [frozenset(p) not in in_groups for p in zip(inhibitions["unit_a"], inhibitions["unit_b"], strict=True)]
    ] if not inhibitions.empty else inhibitions
    holds, flaps = first["hold_down"], first["hysteresis"]
    involved = set(itertools.chain(*(g.signatures for g in groups), inhibitions.get("signature_a", []),
                                   inhibitions.get("signature_b", []), *holds["signatures"],
                                   *flaps["signatures"]))  # fmt: skip
    info = advice.signature_labels(db, period, involved, settings) if involved else {}
    context = _Context(db, period, team, settings, configs, info)
    suggestions = (
        context.groupings(groups)
        + [context.inhibition(row) for row in inhibitions.to_dict("records")]
        + _one_per_unit(context.hold_downs(holds), [context.hysteresis(row) for row in flaps.to_dict("records")])
    )
    suggestions = [s for s in suggestions if s.pages_saved > 0]
    suggestions.sort(key=lambda s: (-s.pages_saved, s.attended_hidden, list(KINDS).index(s.kind), s.title))
    files = _apply(configs, suggestions, run_checks, context.notes)
    origin = {
        "rules": configs.rules.origin if configs.rules else None,
        "alertmanager_config": configs.am.path if configs.am else None,
    }
    return Plan(period, team, suggestions, files, context.notes, origin)


def _one_per_unit(holds: list[Suggestion], flaps: list[Suggestion]) -> list[Suggestion]:
    """A hold-down and a keep_firing_for of one rule (or signature) remove the same pages in part: their
    replays cannot be added up, so the one saving more is offered and the other named in its evidence."""
    by_unit = {s.figures["unit"]: s for s in holds}
    kept = list(holds)
    for flap in flaps:
        hold = by_unit.get(flap.figures["unit"])
        if hold is None:
            kept.append(flap)
            continue
        better, other = (hold, flap) if hold.pages_saved >= flap.pages_saved else (flap, hold)
        better.evidence += (f" (Alternatively: {other.title[0].lower()}{other.title[1:]}, saving "
                            f"{_n(other.pages_saved, 'page')}; not both, as they remove some of the same pages.)")
        if better is flap:
            kept[kept.index(hold)] = flap
    return kept


def _apply(configs: Configs, suggestions: list[Suggestion], run_checks: bool, notes: list[str]) -> list[PatchedFile]:
    """Make every change together (the patch) and each alone (the suggestion's own diff); check the result."""
    combined = configs.fresh()
    for suggestion in suggestions:
        if suggestion.change is None:
            continue
        alone = configs.fresh()
        try:
            suggestion.change.apply(alone)
            suggestion.change.apply(combined)
        except PatchError as exc:
            suggestion.note = f"not patched: {exc}"
            suggestion.change = None
            continue
        suggestion.patch = "".join(unified_diff(path, before, after) for _, path, before, after in alone.files())
    files = [PatchedFile(kind, path, before, after) for kind, path, before, after in combined.files()]
    if run_checks:
        for patched in files:
            patched.checks = _checks(configs, patched)
    return files


def _checks(configs: Configs, patched: PatchedFile) -> list[check.Check]:
    """The patched file checked; when it fails, the file as it was too, to say whether the patch did it."""
    done = _check(configs, patched, patched.after)
    if done.ok is False and _check(configs, patched, patched.before).ok is False:
        done = dataclasses.replace(done, output=f"{done.output} (it fails without the patch too)")
    return [done]


def _check(configs: Configs, patched: PatchedFile, text: str) -> check.Check:
    if patched.kind == "alertmanager":
        return check.alertmanager(text, patched.path)
    rule_file = next(f for f in configs.rules.files if f.path == patched.path)
    if rule_file.kubernetes:
        return check.rules(rule_file.rule_groups(text), patched.path)
    return check.rule_file_text(text, patched.path)


@dataclass
class _Context:
    db: str | None
    period: Period
    team: str | None
    settings: Settings
    configs: Configs
    info: dict[str, dict]
    notes: list[str] = field(default_factory=list)

    @property
    def when(self) -> str:
        """The period as people read it ('9 – 22 Nov 2026'), in the evidence shown to them."""
        return shown.period(self.period, self.settings.default_time_zone)

    @property
    def short_when(self) -> str:
        end = self.period.end - pd.Timedelta(microseconds=1)
        return f"{self.period.start.date()}..{end.date()}"

    def of(self, key: str) -> dict:
        """What is known of a co-firing unit, or of a signature (its first unit)."""
        return self.info.get(key) or next((i for i in self.info.values() if i["signature"] == key), {})

    def name(self, key: str) -> str:
        return display(key, self.of(key))

    def labelled(self, keys) -> bool:
        return all(self.of(k).get("labels") for k in keys)

    def provider(self, keys) -> str | None:
        sources = {self.of(k).get("source") for k in keys}
        providers = {phrasing.provider_of(s) for s in sources}
        return providers.pop() if len(providers) == 1 else None

    # --- grouping ------------------------------------------------------------------------------

    def groupings(self, groups: list[advice.Group]) -> list[Suggestion]:
        if not groups:
            return []
        plans = [self._grouping_plan(g) for g in groups]
        variants = [variant for plan in plans for variant in (plan["before"], plan["after"])]
        replay = advice.grouping_replay(self.db, self.period, variants, self.team, self.settings)
        suggestions = []
        for i, plan in enumerate(plans):
            before, after = replay.iloc[2 * i], replay.iloc[2 * i + 1]
            pages_before = int(before["pages_before"]) if plan["before"] is None else int(before["pages_after"])
            suggestions.append(self._grouping(plan, pages_before, int(after["pages_after"])))
        return suggestions

    def _grouping_plan(self, group: advice.Group) -> dict:
        route = None
        am = self.configs.am
        note = ""
        if am is not None and self.labelled(group.units):
            routes = {am.route_for(self.of(u)["labels"]).path for u in group.units}
            if len(routes) == 1:
                route = am.route_at(routes.pop())
            else:
                note = ("no patch: these alerts take different routes (" + ", ".join(sorted(routes))
                        + "), and Alertmanager groups within one route only")  # fmt: skip
        elif am is None and self.labelled(group.units):
            note = NO_ALERTMANAGER
        current_wait = route.group_wait_s if route else 0.0
        wait = max(group.group_wait_s, current_wait)
        after = dataclasses.replace(group, group_wait_s=wait)
        before = dataclasses.replace(group, group_by=tuple(route.group_by) if route else advice.ALL_LABELS,
                                     group_wait_s=route.group_wait_s if route else 0.0)  # fmt: skip
        return {"group": group, "route": route, "after": after, "before": before, "note": note,
                "current_wait": current_wait}  # fmt: skip

    def _grouping(self, plan: dict, pages_before: int, pages_after: int) -> Suggestion:
        group: advice.Group = plan["group"]
        route: Route | None = plan["route"]
        names = [self.name(u) for u in group.units]
        wait = plan["after"].group_wait_s
        by = ", ".join(group.group_by) or "nothing (one group for the route)"
        strongest = sorted(group.pairs, key=lambda p: -p["support"])
        pair_text = "; ".join(
            f"{self.name(p['unit_b'])} came with {self.name(p['unit_a'])} in "
            f"{_pct(p['p_b_given_a'])} of its alerts ({p['support']} pairs, median {p['lead_s']:+.0f} s)"
            for p in strongest[:3]
        )
        added = max(0.0, wait - plan["current_wait"]) if route else wait
        evidence = (
            f"In {self.when} these {len(names)} alerts of service {group.service} fired together: {pair_text}. "
            f"Grouped by {by} within {words(wait)}, their {pages_before} pages would have been {pages_after}."
        )
        comment = (f"{self.short_when}: group {' '.join(n.split(' ')[0] for n in names)} by {by} within "
                   f"{durations.format(wait)}: {pages_before} pages -> {pages_after}")  # fmt: skip
        change = None
        if route is not None:
            matchers = _group_matchers([qualifier_matchers(self.of(u), self.settings) for u in group.units])
            change = AddRoute(route.path, matchers, list(group.group_by), wait, comment)
        provider = self.provider(group.units)
        return Suggestion(
            "group", f"Group {_join(names)} into one page per incident", list(group.signatures),
            pages_before, pages_after, evidence,
            delay_added_s=added * pages_after, provider=provider,
            provider_text="" if provider == "prometheus" else phrasing.grouping(provider, wait, group.service,
                                                                                 list(group.group_by)),
            change=change, note=plan["note"],
            figures={"group_by": list(group.group_by), "group_wait_s": wait, "spread_s": group.spread_s,
                     "route": route.path if route else None, "group_wait_added_s": added, "pairs": group.pairs},
        )  # fmt: skip

    # --- inhibition ----------------------------------------------------------------------------

    def inhibition(self, row: dict) -> Suggestion:
        a, b = row["unit_a"], row["unit_b"]
        source, target = self.name(a), self.name(b)
        equal = list(row["equal"])
        same = f" on the same {', '.join(equal)}" if equal else ""
        before, removed = int(row["pages_before"]), int(row["pages_removed"])
        evidence = (
            f"In {self.when} {source} fired {row['alerts_a']} times and {target} came within "
            f"{words(self.settings.advice.window_s)} of {_pct(row['p_b_given_a'])} of them "
            f"({row['support']} pairs, median {row['lead_s']:.0f} s later{same}). With {source} inhibiting "
            f"{target}, {removed} of the {_n(before, 'page')} of {target} would not have been sent."
        )
        if not equal and self.labelled((a, b)):
            evidence += f" No label is shared, so any firing {source} would hide every {target}."
        comment = (f"{self.short_when}: {removed} of {before} {b.split('|')[0]} pages came while "
                   f"{a.split('|')[0]} fired{same}")  # fmt: skip
        change, note = None, ""
        if self.labelled((a, b)):
            if self.configs.am is not None:
                change = AddInhibit(qualifier_matchers(self.of(a), self.settings),
                                    qualifier_matchers(self.of(b), self.settings), equal, comment)  # fmt: skip
            else:
                note = NO_ALERTMANAGER
        provider = self.provider((b,))
        same_service = self.of(a).get("service") == self.of(b).get("service")
        return Suggestion(
            "inhibit", f"Hide {target} while {source} fires{same}", [row["signature_b"]], before, before - removed,
            evidence,
            attended_hidden=int(row["attended_hidden"]), provider=provider,
            provider_text="" if provider == "prometheus" else phrasing.inhibition(provider, source, row["lead_s"],
                                                                                   same_service),
            change=change, note=note,
            figures={"source": row["signature_a"], "source_severity": _none(row.get("severity_a")),
                     "target": row["signature_b"], "target_severity": _none(row.get("severity_b")), "equal": equal, "support": int(row["support"]),
                     "p_b_given_a": row["p_b_given_a"], "p_a_given_b": row["p_a_given_b"], "lead_s": row["lead_s"]},
        )  # fmt: skip

    # --- hold-down ---------------------------------------------------------------------------

    def hold_downs(self, frame: pd.DataFrame) -> list[Suggestion]:
        curves = dict(iter(frame.groupby("unit", sort=False)))  # one pass, not a mask per unit
        return [self.hold_down(row, curves[row["unit"]]) for row in frame[frame["advised"]].to_dict("records")]

    def _unit(self, unit: str, signatures: list[str]):
        rules = self.configs.rules
        rule = rules.by_unit.get(unit) if rules else None
        name = f"{rule.alert} ({rule.file.path})" if rule else self.name(signatures[0])
        return rule, name

    def hold_down(self, row: dict, curve: pd.DataFrame) -> Suggestion:
        signatures = list(row["signatures"])
        rule, name = self._unit(row["unit"], signatures)
        hold = float(row["hold_s"])
        avoided, alerts = int(row["pages_avoided"]), int(row["alerts"])
        hidden = int(row["attended_hidden"])
        after = alerts - avoided - hidden
        evidence = (
            f"In {self.when} {avoided} of the {_n(alerts, 'alert')} of {name} resolved within {words(hold)} "
            f"with nobody acting on them: held down {words(hold)} they would not have paged"
            + (f"; nor would {hidden} that someone acknowledged or marked actionable, which also resolved within "
               f"{words(hold)}" if hidden else "")
            + (f"; the other {after} would have paged {words(hold)} later" if after else "")
            + "."
        )  # fmt: skip
        if row["limited_by_budget"]:
            evidence += (f" A longer hold-down would avoid more, but would delay acknowledged or actionable alerts "
                         f"by more than {words(self.settings.advice.delay_budget_s)}.")  # fmt: skip
        comment = (f"for {{from}} -> {{to}}: {avoided} of {alerts} alerts resolved within "
                   f"{durations.format(hold)} unattended (no page)"
                   + (f"; {hidden} attended ones too (hidden)" if hidden else "")
                   + f"; {after} page {durations.format(hold)} later")  # fmt: skip
        suffix, change, note, provider = self._rule_change(row["unit"], rule, signatures, "for",
                                                           rule.for_s if rule else 0.0, hold, comment)  # fmt: skip
        title = f"Hold {name} down for {words(hold)}{suffix}"
        info = self.of(signatures[0])
        return Suggestion(
            "hold_down", title, signatures, alerts, after, evidence,
            attended_hidden=hidden, attended_delayed=int(row["attended_delayed"]),
            delay_added_s=float(row["delay_added_s"]), provider=provider,
            provider_text="" if provider == "prometheus" else phrasing.hold_down(
                provider, hold, info.get("service"), info.get("title"), info.get("team")),
            change=change, note=note,
            figures={"unit": row["unit"], "hold_s": hold, "limited_by_budget": bool(row["limited_by_budget"]),
                     "replay": curve[["hold_s", "pages_avoided", "attended_hidden", "pages_delayed",
                                      "delay_added_s"]].to_dict("records")},
        )  # fmt: skip

    def _rule_change(self, unit: str, rule, signatures: list[str], key: str, current: float, advised: float,
                     comment: str) -> tuple[str, SetDuration | None, str, str | None]:  # fmt: skip
        """(title suffix, change, note, provider) for a new `key` duration on the unit's rule, if it has one.

        A hold-down adds to the rule's `for:`; keep_firing_for is the advised one (or the current if longer)."""
        provider = "prometheus" if rule else self.provider(signatures)
        if rule is None:
            return "", None, self._no_rule_note(signatures) if provider == "prometheus" else "", provider
        new = current + advised if key == "for" else max(advised, current)
        before, after = durations.format(current), durations.format(new)
        text = f"{self.short_when}: " + comment.format(**{"from": before, "to": after})
        return f" ({key}: {before} → {after})", SetDuration(unit, key, new, text), "", provider

    def _no_rule_note(self, signatures: list[str]) -> str:
        names = ", ".join(sorted({s.split("|")[0] for s in signatures}))
        if self.configs.rules is None:
            return f"no patch: your Prometheus rule files were not given (the rule to change: {names})"
        return f"no patch: no alerting rule named {names} with matching labels in the rules given"

    # --- hysteresis --------------------------------------------------------------------------

    def hysteresis(self, row: dict) -> Suggestion:
        signatures = list(row["signatures"])
        rule, name = self._unit(row["unit"], signatures)
        keep = float(row["keep_firing_s"])
        avoided, alerts = int(row["refires_avoided"]), int(row["alerts"])
        evidence = (
            f"In {self.when} {name} fired again soon after resolving {row['refires']} times (90 % of those gaps "
            f"within {words(keep)}). Kept firing {words(keep)} after its condition clears, {avoided} of its "
            f"{alerts} pages would not have been sent; {_n(int(row['resolves_delayed']), 'resolve')} would come "
            f"{words(keep)} later."
        )
        comment = (f"keep_firing_for {{from}} -> {{to}}: {avoided} of {alerts} alerts re-fired within "
                   f"{durations.format(keep)} of a resolve")  # fmt: skip
        suffix, change, note, provider = self._rule_change(row["unit"], rule, signatures, "keep_firing_for",
                                                           rule.keep_firing_s if rule else 0.0, keep, comment)
        title = f"Keep {name} firing for {words(keep)} after it clears{suffix}"
        return Suggestion(
            "keep_firing", title, signatures, alerts, alerts - avoided, evidence,
            attended_hidden=int(row["attended_hidden"]), resolve_delay_s=float(row["delay_added_s"]),
            provider=provider, provider_text="" if provider == "prometheus" else phrasing.hysteresis(provider, keep),
            change=change, note=note,
            figures={"unit": row["unit"], "keep_firing_s": keep, "refires": int(row["refires"]),
                     "resolves_delayed": int(row["resolves_delayed"])},
        )  # fmt: skip


def _none(value):
    return None if value is None or pd.isna(value) else value


def _group_matchers(per_unit: list[list[Matcher]]) -> list[Matcher]:
    """One route's matchers for a group: its alertnames, and each other label all units name alike (a
    service, a severity) or, for severities that differ, all of them."""
    names = sorted({m.value for ms in per_unit for m in ms if m.name == "alertname"})
    found = [Matcher("alertname", "=~", "|".join(_regex_escape(n) for n in names))]
    others = [{(m.name, m.value) for m in ms if m.name != "alertname"} for ms in per_unit]
    for name in sorted({n for labels in others for n, _ in labels}):
        values = [{v for n, v in labels if n == name} for labels in others]
        if all(values):
            chosen = sorted(set().union(*values))
            found.append(Matcher(name, "=", chosen[0]) if len(chosen) == 1
                         else Matcher(name, "=~", "|".join(_regex_escape(v) for v in chosen)))
    return found


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- for the dashboard: configuration as texts (uploaded, or the files the settings name) ---------------


def configured_files(settings: Settings) -> tuple[tuple[tuple[str, str], ...], tuple[str, str] | None]:
    """(rule files, Alertmanager configuration) as (path, text), from the settings' [advice] paths."""
    rule_files: tuple[tuple[str, str], ...] = ()
    if settings.advice.rules:
        rules = RuleSet.from_paths([settings.advice.rules])
        rule_files = tuple((f.path, f.document.text) for f in rules.files)
    am = None
    if settings.advice.alertmanager_config:
        read = AmConfig.read(settings.advice.alertmanager_config)
        am = (read.path, read.document.text)
    return rule_files, am


def from_texts(
    db: str | None,
    period: Period,
    team: str | None,
    rule_files: tuple[tuple[str, str], ...] = (),
    am_file: tuple[str, str] | None = None,
    settings: Settings | None = None,
) -> Plan:
    """The plan for configuration given as (name, text) pairs: what the dashboard has, cacheable by value."""
    import settings as settings_module
    from advisor.rules import read_rule_file

    settings = settings if settings is not None else settings_module.load()
    read = [read_rule_file(name, text) for name, text in rule_files]
    rules = RuleSet([f for f in read if f is not None], "files") if rule_files else None
    am = AmConfig(*am_file) if am_file else None
    return build(db, period, team, settings, Configs(rules, am))
