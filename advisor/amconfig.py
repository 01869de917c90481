"""Alertmanager's configuration: its routing tree as Alertmanager walks it, and inhibit rules or routes added in place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, Node, SequenceNode

from advisor import durations
from advisor.yamlpatch import (
    Document,
    PatchError,
    entry,
    flow_list,
    is_null,
    items,
    key_column,
    quote,
    scalar,
    value,
)

COMMENT = "# alert-hygiene:"
DEFAULT_GROUP_WAIT_S = 30.0  # Alertmanager's default for the root route
ALL_LABELS = ("...",)  # group_by: ['...'] groups by every label: each label set alone
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.S)


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager label matcher: name, operator (=, !=, =~, !~) and value."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")  # a missing label matches as the empty string
        if self.op in ("=", "!="):
            return (got == self.value) == (self.op == "=")
        try:
            found = re.fullmatch(self.value, got) is not None  # Alertmanager anchors regular expressions
        except re.error:
            found = False
        return found == (self.op == "=~")

    def text(self) -> str:
        """As a matcher string of Alertmanager's configuration: name, operator, double-quoted value."""
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def parse_matchers(text: str) -> list[Matcher]:
    """The matchers of one `matchers:` entry: `a="b"`, or a braced, comma-separated set of them."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    found = []
    for part in _split(body):
        if not part.strip():
            continue
        match = _MATCHER.match(part)
        if not match:
            raise PatchError(f"cannot read the matcher {part.strip()!r}")
        raw = match[3]
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = bytes(raw[1:-1], "utf-8").decode("unicode_escape")
        found.append(Matcher(match[1], match[2], raw))
    return found


def _split(text: str) -> list[str]:
    """Split on commas outside double quotes."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


@dataclass(eq=False)
class Route:
    node: MappingNode
    parent: Route | None
    path: str
    matchers: list[Matcher] = field(default_factory=list)
    continues: bool = False
    children: list[Route] = field(default_factory=list)
    own_group_by: tuple[str, ...] | None = None
    own_group_wait_s: float | None = None
    receiver: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.parent is None or all(m.matches(labels) for m in self.matchers)

    @property
    def group_by(self) -> tuple[str, ...]:
        """The labels grouped by here (inherited; the root's default groups everything together: ())."""
        route: Route | None = self
        while route is not None:
            if route.own_group_by is not None:
                return route.own_group_by
            route = route.parent
        return ()

    @property
    def group_wait_s(self) -> float:
        route: Route | None = self
        while route is not None:
            if route.own_group_wait_s is not None:
                return route.own_group_wait_s
            route = route.parent
        return DEFAULT_GROUP_WAIT_S

    @property
    def receiver_name(self) -> str | None:
        route: Route | None = self
        while route is not None:
            if route.receiver:
                return route.receiver
            route = route.parent
        return None


class AmConfig:
    """An Alertmanager configuration file: its text, routing tree and inhibit rules, and edits to it."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.document = Document.parse(text, path)
        if len(self.document.roots) != 1 or not isinstance(self.document.roots[0], MappingNode):
            raise PatchError(f"{path}: not an Alertmanager configuration (expected one YAML mapping)")
        self.top = self.document.roots[0]
        route = value(self.top, "route")
        if not isinstance(route, MappingNode):
            raise PatchError(f"{path}: no `route:` section: not an Alertmanager configuration")
        self.root = self._route(route, None, "route")

    @classmethod
    def read(cls, path: str) -> AmConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PatchError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise PatchError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise PatchError(f"{path}: cannot be read ({exc.strerror})") from None
        return cls(path, text)

    def copy(self) -> AmConfig:
        """The same configuration as read, without the edits made to it."""
        return AmConfig(self.path, self.document.text)

    def route_at(self, path: str) -> Route:
        """The route at `path` (as Route.path names it: route.routes[0].routes[2])."""
        found = [self.root]
        while found:
            route = found.pop()
            if route.path == path:
                return route
            found += route.children
        raise KeyError(path)

    def _route(self, node: MappingNode, parent: Route | None, path: str) -> Route:
        route = Route(node, parent, path)
        try:
            for item in items(value(node, "matchers")):
                route.matchers += parse_matchers(scalar(item) or "")
            for legacy, op in (("match", "="), ("match_re", "=~")):
                found = value(node, legacy)
                if isinstance(found, MappingNode):
                    route.matchers += [Matcher(k.value, op, scalar(v) or "") for k, v in found.value]
        except PatchError as exc:
            raise PatchError(f"{self.path}: {path}: {exc}") from None
        route.continues = (scalar(value(node, "continue")) or "false").lower() == "true"
        group_by = value(node, "group_by")
        if isinstance(group_by, SequenceNode):
            route.own_group_by = tuple(scalar(item) or "" for item in group_by.value)
        wait = scalar(value(node, "group_wait"))
        try:
            route.own_group_wait_s = durations.parse(wait)
        except ValueError as exc:
            raise PatchError(f"{self.path}: {path}.group_wait: {exc}") from None
        route.receiver = scalar(value(node, "receiver"))
        for index, child in enumerate(items(value(node, "routes"))):
            if isinstance(child, MappingNode):
                route.children.append(self._route(child, route, f"{path}.routes[{index}]"))
        return route

    # --- routing ------------------------------------------------------------------------------

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with `labels` ends at, as Alertmanager's dispatcher walks the tree."""
        return _walk(self.root, labels)

    def route_for(self, labels: Mapping[str, str]) -> Route:
        return self.routes_for(labels)[0]

    # --- edits -------------------------------------------------------------------------------

    def add_inhibit_rule(self, source: list[Matcher], target: list[Matcher], equal: list[str], comment: str) -> None:
        lines = [
            f"{COMMENT} {comment}",
            "- source_matchers:",
            *(f"    - {quote(m.text())}" for m in source),
            "  target_matchers:",
            *(f"    - {quote(m.text())}" for m in target),
        ]
        if equal:
            lines.append(f"  equal: {flow_list(equal)}")
        self._append_item(self.top, "inhibit_rules", lines)

    def add_route(self, parent: Route, matchers: list[Matcher], group_by: list[str], group_wait_s: float,
                  comment: str) -> None:  # fmt: skip
        """A child route first under `parent`, taking these alerts with its settings but grouped anew."""
        lines = [
            f"{COMMENT} {comment}",
            "- matchers:",
            *(f"    - {quote(m.text())}" for m in matchers),
            f"  group_by: {flow_list(group_by)}",
            f"  group_wait: {durations.format(group_wait_s)}",
        ]
        self._append_item(parent.node, "routes", lines, first=True)

    def _append_item(self, mapping: MappingNode, key: str, lines: list[str], first: bool = False) -> None:
        """Add a block sequence item (`lines`, relative to its dash) to `key` of `mapping`."""
        document = self.document
        found = entry(mapping, key)
        column = key_column(mapping)
        if found is None or is_null(found[1]) or (isinstance(found[1], SequenceNode) and not found[1].value):
            dash = " " * (column + 2)
            block = [dash + line for line in lines]
            if found is None:
                anchor = mapping.value[-1][1]
                document.insert_lines_after(document.last_line(anchor), [f"{' ' * column}{key}:", *block])
            elif is_null(found[1]) and found[1].start_mark.index == found[1].end_mark.index:
                document.insert_lines_after(found[0].start_mark.line, block)
            else:  # `key: []` or `key: null`
                document.replace(found[1], "")
                document.insert_lines_after(found[0].start_mark.line, block)
            return
        sequence = found[1]
        if not isinstance(sequence, SequenceNode):
            raise PatchError(f"{self.path}: `{key}` is not a list")
        if sequence.flow_style:
            raise PatchError(f"{self.path}: `{key}` is written as a flow list [...]; write it as a block list "
                             "(one `- ` item per line) to have it patched")  # fmt: skip
        dash = " " * sequence.start_mark.column
        block = [dash + line for line in lines]
        if first:
            document.insert_lines_before(_above_comments(document, _item_line(document, sequence.value[0])), block)
        else:
            document.insert_lines_after(document.last_line(sequence.value[-1]), block)


def _item_line(document: Document, item: Node) -> int:
    """The line of a block sequence item's dash (the item's node may start on the line after it)."""
    line = item.start_mark.line
    while line > 0 and not document.line_text(line).lstrip().startswith("-"):
        line -= 1
    return line


def _above_comments(document: Document, line: int) -> int:
    """The first of the comment lines right above `line` (they belong to what follows them)."""
    while line > 0 and document.line_text(line - 1).lstrip().startswith("#"):
        line -= 1
    return line


def _walk(route: Route, labels: Mapping[str, str]) -> list[Route]:
    if not route.matches(labels):
        return []
    found: list[Route] = []
    for child in route.children:
        matched = _walk(child, labels)
        found += matched
        if matched and not child.continues:
            break
    return found or [route]
