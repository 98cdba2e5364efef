"""The repository stands alone and its architecture page lists what exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED_PACKAGES = ("pipeline_pulse", "orchestration", "api", "zoho_sandbox", "tools")
SOURCE_DIRS = (*DOCUMENTED_PACKAGES, "tests", "bench", "docs", "deploy", "alembic", ".ci")
ROOT_FILES = ("README.md", "Makefile", "pyproject.toml", "alembic.ini", "workspace.yaml", "requirements.txt")


def source_files() -> list[Path]:
    """Code, tests, docs and build files (what a clone holds, without generated state or the virtualenv)."""
    files = [REPO / name for name in ROOT_FILES if (REPO / name).is_file()]
    for directory in SOURCE_DIRS:
        files += [p for p in (REPO / directory).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return files


def test_nothing_refers_to_a_path_beside_the_repository() -> None:
    # Built from parts so this file does not match itself.
    outside = re.compile(r"\.\./" + "shared|/work/" + "shared")
    offenders = []
    for path in source_files():
        if path.suffix in {".json", ".csv", ".zip", ".png", ".pyc"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(text.splitlines(), 1) if outside.search(line)
        ]
    assert not offenders, f"paths outside the repository: {offenders}"


def _sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^### ", markdown, flags=re.MULTILINE)
    return {part.split("\n", 1)[0]: part for part in parts[1:]}


def test_architecture_page_lists_every_module() -> None:
    sections = _sections((REPO / "docs" / "architecture.md").read_text(encoding="utf-8"))
    missing = []
    for package in DOCUMENTED_PACKAGES:
        heading = next((title for title in sections if f"`{package}/`" in title), None)
        assert heading is not None, f"docs/architecture.md has no '### ... `{package}/`' section"
        section = sections[heading]
        for module in sorted((REPO / package).rglob("*.py")):
            if module.name == "__init__.py":
                continue
            relative = module.relative_to(REPO / package).as_posix()
            if f"`{relative}`" not in section and module.name not in section:
                missing.append(f"{package}/{relative}")
    assert not missing, f"add these to docs/architecture.md (one line each): {missing}"


def test_architecture_page_names_every_doc_and_test_folder() -> None:
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [f"docs/{doc.name}" for doc in sorted((REPO / "docs").glob("*.md")) if doc.name not in page]
    missing += [
        f"tests/{d.name}"
        for d in sorted((REPO / "tests").iterdir())
        if d.is_dir() and d.name != "__pycache__" and f"tests/{d.name}" not in page
    ]
    assert not missing, f"name these in docs/architecture.md: {missing}"


def test_readme_links_the_architecture_page() -> None:
    assert "docs/architecture.md" in (REPO / "README.md").read_text(encoding="utf-8")
