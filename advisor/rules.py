"""Prometheus alerting rules: read from rule files (or Prometheus's API) and given new `for:` values in place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from advisor import durations
from advisor.yamlpatch import Document, PatchError, entry, items, key_column, scalar, value
from metrics.advice import RuleKey

RULE_SUFFIXES = (".yml", ".yaml")
COMMENT = "# alert-hygiene:"  # the mark of our comments: a second patch replaces its own, never stacks


@dataclass(eq=False)
class Rule:
    """One alerting rule where it is written: file, group, position, and its node in the file."""

    file: RuleFile
    group: str
    index: int
    alert: str
    labels: dict[str, str]
    for_s: float
    keep_firing_s: float
    node: MappingNode
    unit: str = ""

    def key(self) -> RuleKey:
        return RuleKey(self.unit, self.alert, tuple(sorted(self.labels.items())))

    @property
    def where(self) -> str:
        return f"{self.file.path} › {self.group} › {self.alert}"


@dataclass(eq=False)
class RuleFile:
    path: str  # as the user named it: the diff's file name
    document: Document
    rules: list[Rule] = field(default_factory=list)
    kubernetes: bool = False  # a PrometheusRule resource: the groups are under spec

    @property
    def changed(self) -> bool:
        return bool(self.document.edits)

    def patched(self) -> str:
        return self.document.result()

    def rule_groups(self, text: str) -> list[dict[str, Any]]:
        """The rule file promtool checks: the text itself, or the `spec` of a PrometheusRule."""
        docs = [d for d in yaml.safe_load_all(text) if d]
        if self.kubernetes:
            return [{"groups": (d.get("spec") or {}).get("groups") or []} for d in docs]
        return docs


class RuleSet:
    """The team's alerting rules, from rule files or from Prometheus's rules API."""

    def __init__(self, files: list[RuleFile], origin: str):
        self.files = files
        self.origin = origin  # "files" or the Prometheus URL they were read from
        self.rules = [rule for f in files for rule in f.rules]
        seen: dict[str, int] = {}
        for rule in self.rules:
            base = rule.where
            seen[base] = seen.get(base, 0) + 1
            rule.unit = base if seen[base] == 1 else f"{base} #{seen[base]}"
        self.by_unit = {rule.unit: rule for rule in self.rules}

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path]) -> RuleSet:
        """Every rule file in the given files and directories (recursively); files without groups are skipped."""
        files = []
        for given in paths:
            path = Path(given)
            if path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
            elif path.is_file():
                found = [path]
            else:
                raise PatchError(f"{given}: no such file or directory")
            for file_path in found:
                rule_file = read_rule_file(str(file_path), _read(file_path))
                if rule_file is not None:
                    files.append(rule_file)
        return cls(files, "files")

    @classmethod
    def from_api(cls, data: dict, origin: str) -> RuleSet:
        """Rule files rebuilt from Prometheus's /api/v1/rules answer (its `data`), one per rule file."""
        by_file: dict[str, list[dict]] = {}
        for group in data.get("groups") or []:
            by_file.setdefault(group.get("file") or "rules.yml", []).append(group)
        files = []
        for name, groups in by_file.items():
            text = yaml.safe_dump({"groups": [_api_group(g) for g in groups]}, sort_keys=False, width=100,
                                  allow_unicode=True)  # fmt: skip
            rule_file = read_rule_file(name, text)
            if rule_file is not None:
                files.append(rule_file)
        return cls(files, origin)

    def keys(self) -> list[RuleKey]:
        return [rule.key() for rule in self.rules]

    def copy(self) -> RuleSet:
        """The same files as read, without the edits made to them."""
        return RuleSet([read_rule_file(f.path, f.document.text) for f in self.files], self.origin)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PatchError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PatchError(f"{path}: cannot be read ({exc.strerror})") from None


def _api_group(group: dict) -> dict:
    rules = []
    for rule in group.get("rules") or []:
        if rule.get("type") == "recording":
            out = {"record": rule.get("name"), "expr": rule.get("query")}
        else:
            out = {"alert": rule.get("name"), "expr": rule.get("query")}
            if rule.get("duration"):
                out["for"] = durations.format(float(rule["duration"]))
            if rule.get("keepFiringFor"):
                out["keep_firing_for"] = durations.format(float(rule["keepFiringFor"]))
        if rule.get("labels"):
            out["labels"] = dict(rule["labels"])
        if rule.get("annotations"):
            out["annotations"] = dict(rule["annotations"])
        rules.append(out)
    out_group: dict[str, Any] = {"name": group.get("name")}
    if group.get("interval"):
        out_group["interval"] = durations.format(float(group["interval"]))
    out_group["rules"] = rules
    return out_group


def read_rule_file(path: str, text: str) -> RuleFile | None:
    """The rule file's alerting rules, or None when the file holds no rule groups."""
    document = Document.parse(text, path)
    rule_file = RuleFile(path, document)
    found_groups = False
    for root in document.roots:
        groups = value(root, "groups")
        if groups is None and scalar(value(root, "kind")) == "PrometheusRule":
            groups = value(value(root, "spec"), "groups")
            rule_file.kubernetes = True
        if groups is None:
            continue
        found_groups = True
        for group in items(groups):
            name = scalar(value(group, "name")) or "?"
            for index, rule in enumerate(items(value(group, "rules"))):
                alert = scalar(value(rule, "alert"))
                if alert is None or not isinstance(rule, MappingNode):
                    continue  # a recording rule
                rule_file.rules.append(_rule(rule_file, name, index, alert, rule))
    return rule_file if found_groups else None


def _rule(rule_file: RuleFile, group: str, index: int, alert: str, node: MappingNode) -> Rule:
    labels = {}
    written = value(node, "labels")
    for key_node, value_node in written.value if isinstance(written, MappingNode) else []:
        text = scalar(value_node)
        if text is not None and "{{" not in text:  # a templated label is no constant to match on
            labels[key_node.value] = text
    try:
        for_s = durations.parse(scalar(value(node, "for"))) or 0.0
        keep_s = durations.parse(scalar(value(node, "keep_firing_for"))) or 0.0
    except ValueError as exc:
        raise PatchError(f"{rule_file.path}: rule {alert}: {exc}") from None
    return Rule(rule_file, group, index, alert, labels, for_s, keep_s, node)


def set_duration(rule: Rule, key: str, seconds: float, comment: str) -> None:
    """Give `rule` the duration `key` (for, keep_firing_for), with `comment` on the line above."""
    document = rule.file.document
    text = durations.format(seconds)
    comment = comment.replace("\n", " ").strip()
    found = entry(rule.node, key)
    anchored = found is not None and found[1].start_mark.index < rule.node.start_mark.index
    if anchored or entry(rule.node, "<<") is not None:
        raise PatchError(f"{rule.where}: its keys come from a YAML anchor or merge (<<); change its {key} by hand")
    if rule.node.flow_style:
        _set_in_flow(document, rule, key, text, comment, found)
        return
    column = key_column(rule.node)
    if found is not None:
        key_node, value_node = found
        quote = value_node.style if value_node.style in ("'", '"') else ""
        empty = value_node.start_mark.index == value_node.end_mark.index  # `for:` with nothing after it
        document.replace(value_node, f"{' ' if empty else ''}{quote}{text}{quote}")
        _comment_above(document, key_node.start_mark.line, " " * column, comment)
        return
    after = entry(rule.node, "for") if key == "keep_firing_for" else None
    after = after or entry(rule.node, "expr") or entry(rule.node, "alert")
    line = document.last_line(after[1])
    document.insert_lines_after(line, [f"{' ' * column}{COMMENT} {comment}", f"{' ' * column}{key}: {text}"])


def _comment_above(document: Document, line: int, indent: str, comment: str) -> None:
    """Our comment on the line above `line`: replacing an earlier one of ours there, else a new line."""
    ours = f"{indent}{COMMENT} {comment}"
    if line > 0 and document.line_text(line - 1).strip().startswith(COMMENT):
        if document.replace_line(line - 1, ours):
            return
    document.insert_lines_before(line, [ours])


def _set_in_flow(document: Document, rule: Rule, key: str, text: str, comment: str, found) -> None:
    if found is not None:
        document.replace(found[1], text)
    else:
        close = rule.node.end_mark.index - 1
        if document.text[close] != "}":
            raise PatchError(f"{rule.where}: cannot find the end of its flow mapping")
        document.insert_at(close, f", {key}: {text}")
    line = rule.node.start_mark.line
    _comment_above(document, line, document.indent_of(line), comment)
