"""Minimal textual edits of a YAML file: every byte outside the changed lines stays as the person wrote it.

A round-trip YAML library re-emits the whole file: indentation, quoting, flow style, blank lines and
comment placement drift, and a reviewer sees a pull request touching lines nobody meant to change.
Here PyYAML only *locates* things (its composed nodes carry the character offsets of every key and
value); each edit replaces one value's characters or inserts whole lines, and the result is parsed
again to prove it says what was meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class PatchError(ValueError):
    """The file cannot be read as YAML, or an edit cannot be made without rewriting what is around it."""


@dataclass
class Edit:
    start: int  # character offset
    end: int
    text: str


@dataclass
class Document:
    """One YAML stream's text, its composed documents and the edits made to it so far."""

    text: str
    roots: list[Node] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, name: str = "the file") -> Document:
        try:
            roots = [root for root in yaml.compose_all(text, Loader=yaml.SafeLoader) if root is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise PatchError(f"{name}: not valid YAML{where}: {problem}") from None
        return cls(text, roots)

    # --- reading ---------------------------------------------------------------------------------

    @property
    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    def line_start(self, line: int) -> int:
        """Offset of the first character of 0-based `line` (the end of the text past the last line)."""
        offset = 0
        for _ in range(line):
            found = self.text.find("\n", offset)
            if found < 0:
                return len(self.text)
            offset = found + 1
        return offset

    def line_text(self, line: int) -> str:
        start = self.line_start(line)
        end = self.text.find("\n", start)
        return self.text[start : len(self.text) if end < 0 else end].rstrip("\r")

    def indent_of(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" "))]

    def last_line(self, node: Node) -> int:
        """The last line holding `node`'s own content (not blank lines or comments after it)."""
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                line = node.end_mark.line - (1 if node.end_mark.column == 0 else 0)
                while line > node.start_mark.line and not self.line_text(line).strip():
                    line -= 1
                return line
            return node.end_mark.line
        if node.flow_style:
            return node.end_mark.line
        children = [v for pair in node.value for v in pair] if isinstance(node, MappingNode) else node.value
        if not children:
            return node.end_mark.line
        return max(node.start_mark.line, *(self.last_line(child) for child in children[-2:]))

    # --- editing --------------------------------------------------------------------------------

    def replace(self, node: Node, text: str) -> None:
        """Replace exactly the characters of `node` (a scalar, or a flow collection)."""
        self.edits.append(Edit(node.start_mark.index, node.end_mark.index, text))

    def insert_at(self, offset: int, text: str) -> None:
        self.edits.append(Edit(offset, offset, text))

    def insert_lines_after(self, line: int, lines: list[str]) -> None:
        """Insert whole lines after 0-based `line` (a newline is added to a last line that lacks one)."""
        start = self.line_start(line + 1)
        prefix = ""
        if start == len(self.text) and self.text and not self.text.endswith("\n"):
            prefix = self.newline
        self.insert_at(start, prefix + "".join(item + self.newline for item in lines))

    def replace_line(self, line: int, text: str) -> bool:
        """Replace the text of 0-based `line` (not its line break); False if an edit already did."""
        start = self.line_start(line)
        end = start + len(self.line_text(line))
        if any(edit.start == start and edit.end == end for edit in self.edits):
            return False
        self.edits.append(Edit(start, end, text))
        return True

    def insert_lines_before(self, line: int, lines: list[str]) -> None:
        self.insert_at(self.line_start(line), "".join(item + self.newline for item in lines))

    def result(self) -> str:
        """The text with every edit made (edits never overlap; insertions at one place keep their order)."""
        ordered = sorted(enumerate(self.edits), key=lambda pair: (pair[1].start, pair[1].end, pair[0]))
        out, position = [], 0
        for _, edit in ordered:
            if edit.start < position:
                raise PatchError("two changes touch the same part of the file")
            out.append(self.text[position : edit.start])
            out.append(edit.text)
            position = edit.end
        out.append(self.text[position:])
        return "".join(out)


# --- node helpers ------------------------------------------------------------------------------------


def entry(mapping: Node, key: str) -> tuple[ScalarNode, Node] | None:
    """The (key node, value node) of `key` in a mapping node, or None."""
    if not isinstance(mapping, MappingNode):
        return None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def value(mapping: Node, key: str) -> Node | None:
    found = entry(mapping, key)
    return found[1] if found else None


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null" else None


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null")


def items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def quote(text: str) -> str:
    """A YAML single-quoted scalar: safe for any text, readable for matcher strings."""
    return "'" + text.replace("'", "''") + "'"


def flow_list(values: list[str]) -> str:
    """A flow sequence of plain words (label names), quoted only where YAML needs it."""
    return "[" + ", ".join(v if _plain_safe(v) else quote(v) for v in values) + "]"


def _plain_safe(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "_." for c in text) and not text[0].isdigit()


def key_column(mapping: MappingNode) -> int:
    """The column at which a block mapping's keys start."""
    return mapping.value[0][0].start_mark.column if mapping.value else mapping.start_mark.column
