"""The project-local Dagster instance: DAGSTER_HOME=./.dagster_home (gitignored) with SQLite storage."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_TEMPLATE = REPO_ROOT / "deploy" / "dagster.local.yaml"


def ensure_local_dagster_home(root: Path = REPO_ROOT) -> Path:
    """Create `<root>/.dagster_home/dagster.yaml` from the local template if missing; return the directory
    to export as DAGSTER_HOME."""
    home = root / ".dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(LOCAL_TEMPLATE, config)
    return home


if __name__ == "__main__":
    print(ensure_local_dagster_home())
