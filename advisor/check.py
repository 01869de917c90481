"""Proof before a patch is offered: the real promtool and amtool check every file the advisor writes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

TIMEOUT_S = 60


@dataclass(frozen=True)
class Check:
    tool: str  # "promtool check rules" / "amtool check-config"
    ok: bool | None  # None: the tool is not installed here
    output: str


def _run(argv: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return False, f"{argv[0]} did not finish within {TIMEOUT_S} s"
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def rules(documents: list[dict], name: str) -> Check:
    """`promtool check rules` on rule groups (a PrometheusRule's spec is checked as the rule file it holds)."""
    tool = "promtool check rules"
    binary = shutil.which("promtool")
    if binary is None:
        return Check(tool, None, "promtool is not installed here: not checked")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, document in enumerate(documents):
            path = Path(folder) / f"{index}-{Path(name).name}"
            path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
            paths.append(str(path))
        ok, output = _run([binary, "check", "rules", *paths])
        return Check(tool, ok, output.replace(folder + "/", ""))


def rule_file_text(text: str, name: str) -> Check:
    """`promtool check rules` on the rule file exactly as written."""
    return _check_text("promtool", ["check", "rules"], text, name)


def alertmanager(text: str, name: str) -> Check:
    """`amtool check-config` on an Alertmanager configuration as written."""
    return _check_text("amtool", ["check-config"], text, name)


def _check_text(tool: str, command: list[str], text: str, name: str) -> Check:
    title = f"{tool} {' '.join(command)}"
    binary = shutil.which(tool)
    if binary is None:
        return Check(title, None, f"{tool} is not installed here: not checked")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_text(text, encoding="utf-8")
        ok, output = _run([binary, *command, str(path)])
        return Check(title, ok, output.replace(folder + "/", ""))
