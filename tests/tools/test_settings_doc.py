"""The README's configuration table is generated from the settings classes and cannot drift from them."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline_pulse.core.config import AREA_SETTINGS
from tools.settings_doc import README, main, render, rows

REPO = Path(__file__).resolve().parents[2]


def test_readme_table_is_fresh() -> None:
    assert render() in README.read_text(encoding="utf-8"), "run `python -m tools.settings_doc`"
    assert main(["--check"]) == 0


def test_every_setting_is_described() -> None:
    undescribed = [variable for model in AREA_SETTINGS for variable, meaning, _ in rows(model) if not meaning]
    assert not undescribed, f"give these fields a description: {undescribed}"


def test_only_the_settings_module_reads_the_environment() -> None:
    reads = re.compile(r"os\.environ|os\.getenv|getenv\(")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for package in ("api", "orchestration", "pipeline_pulse")
        for path in sorted((REPO / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reads.search(line)
    ]
    assert not offenders, f"read settings through pipeline_pulse/core/config.py instead: {offenders}"
