"""Generate docs/data-dictionary.md from the models' table/column comments and the analyst views' docs.

    python -m tools.data_dictionary          # (re)write docs/data-dictionary.md
    python -m tools.data_dictionary --check  # exit 1 if the committed file differs from a fresh generation

Tables come from `Base.metadata` (the ORM models are the schema). Views are not in the ORM: each migration
that creates or replaces analyst views declares them in a module-level `ANALYST_VIEWS` mapping
(view name -> {"purpose": str, "columns": [(name, type, meaning), ...]}); later revisions win. The script
migrates a throwaway SQLite database to head and checks that every declared view exists there with exactly
the documented columns, so the dictionary cannot describe a view that the migrations do not build.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Column, Index, Table, inspect, text
from sqlalchemy.dialects import postgresql

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.migrate import REPO_ROOT, alembic_config, upgrade
from pipeline_pulse.models import Base
from tools import analyst_examples

OUTPUT = REPO_ROOT / "docs" / "data-dictionary.md"
_PG_DIALECT = postgresql.dialect()


@dataclass(frozen=True)
class ViewColumn:
    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class ViewDoc:
    name: str
    purpose: str
    columns: tuple[ViewColumn, ...]


@dataclass(frozen=True)
class WarehouseFacts:
    """What the migrated schema holds beyond the models: seeded regions, mapped countries, real view columns."""

    regions: tuple[tuple[str, str, str | None], ...]
    countries_per_region: dict[str, int]
    view_columns: dict[str, tuple[str, ...]]


def declared_views() -> list[ViewDoc]:
    """`ANALYST_VIEWS` of every migration from base to head; a later revision replaces an earlier entry."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    views: dict[str, ViewDoc] = {}
    for revision in reversed(list(script.walk_revisions())):
        declared: Mapping[str, Mapping[str, Any]] = getattr(revision.module, "ANALYST_VIEWS", {})
        for name, spec in declared.items():
            columns = tuple(ViewColumn(*column) for column in spec["columns"])
            views[name] = ViewDoc(name=name, purpose=spec["purpose"], columns=columns)
        for name in getattr(revision.module, "DROPPED_ANALYST_VIEWS", ()):
            views.pop(name, None)
    return sorted(views.values(), key=lambda view: view.name)


def migrated_facts() -> WarehouseFacts:
    """Migrate a temporary SQLite warehouse to head and read what the dictionary reports from it."""
    with tempfile.TemporaryDirectory(prefix="data-dictionary-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'warehouse.db'}"
        upgrade(url)
        engine = create_sync_engine(url)
        try:
            inspector = inspect(engine)
            view_columns = {
                view: tuple(column["name"] for column in inspector.get_columns(view))
                for view in inspector.get_view_names()
            }
            with engine.connect() as conn:
                regions = tuple(
                    (row.code, row.name, row.description)
                    for row in conn.execute(text("SELECT code, name, description FROM regions ORDER BY code"))
                )
                counts = {
                    row.region_code: row.n
                    for row in conn.execute(
                        text("SELECT region_code, COUNT(*) AS n FROM country_regions GROUP BY region_code")
                    )
                }
        finally:
            engine.dispose()
    return WarehouseFacts(regions=regions, countries_per_region=counts, view_columns=view_columns)


def check_views_match(views: Sequence[ViewDoc], facts: WarehouseFacts) -> None:
    """Raise if the documented views and the views the migrations build disagree."""
    documented = {view.name: tuple(column.name for column in view.columns) for view in views}
    problems = []
    for name in sorted(set(documented) | set(facts.view_columns)):
        if name not in facts.view_columns:
            problems.append(f"view {name} is documented but no migration creates it")
        elif name not in documented:
            problems.append(f"view {name} exists but no migration's ANALYST_VIEWS documents it")
        elif documented[name] != facts.view_columns[name]:
            problems.append(f"view {name}: documented columns {documented[name]} != built {facts.view_columns[name]}")
    if problems:
        raise SystemExit("data dictionary: " + "; ".join(problems))


def _cell(value: str | None) -> str:
    return (value or "").replace("|", "\\|").replace("\n", " ")


def _column_type(column: Column[Any]) -> str:
    return column.type.compile(dialect=_PG_DIALECT)


def _column_keys(table: Table, column: Column[Any]) -> str:
    keys = []
    if column.primary_key:
        keys.append("PK")
    keys.extend(f"FK → {fk.target_fullname}" for fk in sorted(column.foreign_keys, key=lambda fk: fk.target_fullname))
    single = [index for index in table.indexes if list(index.columns) == [column]]
    partial = [index for index in single if index.unique and _index_where(index) is not None]
    if column.unique or any(index.unique and _index_where(index) is None for index in single):
        keys.append("unique")
    elif partial:
        keys.append(f"unique where {_index_where(partial[0])}")
    elif column.index or single:
        keys.append("indexed")
    return ", ".join(keys)


def _index_where(index: Index) -> str | None:
    where = index.dialect_options["postgresql"].get("where")
    return None if where is None else str(where)


def _table_section(table: Table) -> list[str]:
    lines = [f"### `{table.name}`", "", _cell(table.comment), ""]
    lines += ["| column | type (PostgreSQL) | null | key | meaning |", "|---|---|---|---|---|"]
    for column in table.columns:
        nullable = "yes" if column.nullable else "no"
        lines.append(
            f"| `{column.name}` | {_column_type(column)} | {nullable} | {_column_keys(table, column)} | "
            f"{_cell(column.comment)} |"
        )
    composite = [index for index in table.indexes if len(index.columns) > 1]
    if composite:
        names = ", ".join(
            f"`{index.name}` ({', '.join(column.name for column in index.columns)})"
            for index in sorted(composite, key=lambda index: str(index.name))
        )
        lines += ["", f"Composite indexes: {names}."]
    checks = sorted(
        str(constraint.sqltext) for constraint in table.constraints if isinstance(constraint, CheckConstraint)
    )
    if checks:
        lines += ["", "Checks: " + "; ".join(f"`{check}`" for check in checks) + "."]
    return [*lines, ""]


def _view_section(view: ViewDoc) -> list[str]:
    lines = [f"### `{view.name}`", "", view.purpose, ""]
    lines += ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{column.name}` | {column.type} | {_cell(column.meaning)} |" for column in view.columns]
    return [*lines, ""]


def _intro(facts: WarehouseFacts) -> list[str]:
    region_rows = [
        f"| `{code}` | {_cell(name)} | {facts.countries_per_region.get(code, 0)} | {_cell(description)} |"
        for code, name, description in facts.regions
    ]
    return [
        "# Pipeline Pulse warehouse: data dictionary",
        "",
        "<!-- Generated by `python -m tools.data_dictionary` from the models' comments and the analyst views' "
        "documentation in the migrations. Do not edit by hand; a test fails when this file is out of date. -->",
        "",
        "The warehouse holds a copy of Zoho CRM deals and their history, kept current by the Dagster pipeline.",
        "Analysts read it with the `pipeline_pulse_analyst` role (`deploy/sql/analyst_role.sql`), ideally on a",
        "read replica. Start with the views; go to the tables for detail.",
        "",
        "## Conventions",
        "",
        "- **Time zones.** Every timestamp column (`TIMESTAMP WITH TIME ZONE`) holds UTC. Zoho reports times in",
        "  the org's time zone with an offset; the pipeline converts them to UTC on load. Date columns",
        "  (`closing_date`, `snapshot_date`, `rate_date`) are calendar dates without a time zone; snapshot days",
        "  are UTC days. Convert to a local zone at query time (`AT TIME ZONE 'Asia/Singapore'` on PostgreSQL,",
        "  `datetime(col, '+8 hours')` on SQLite).",
        "- **Currency.** `amount` is in the deal's own currency (`currency`, ISO 4217). `*_home` columns are in",
        "  the org's home currency (the `currencies` row with `is_home = true`). Zoho's rate convention is",
        "  *units of the deal currency per 1 home-currency unit*, so `amount_home = amount / exchange_rate`.",
        "  `weighted_amount_home = amount_home × probability / 100`. Always sum `*_home` across deals;",
        "  never sum `amount` across currencies.",
        "- **Soft deletes.** A deal deleted in Zoho keeps its row with `deleted_at` set (UTC). Every view filters",
        "  `deleted_at IS NULL`; do the same when you query `deals` directly, or you will count deleted deals.",
        "  Stage history rows of a deleted deal stay until the deal row is purged (`ON DELETE CASCADE`).",
        "- **Deal status.** `deal_status` is `open`, `won` or `lost`, derived from the stage's Zoho forecast type",
        "  (Open / Closed Won / Closed Lost) in `pipeline_stages`.",
        "- **Regions.** Every deal has exactly one region (`deals.region` → `regions.code`): the deal's Region",
        "  field if set, else the region of its Country via `country_regions` (matched case-insensitively), else",
        "  `Unassigned`. The API's JWT region claims use the same codes. Seeded regions:",
        "",
        "| code | name | mapped countries | covers |",
        "|---|---|---|---|",
        *region_rows,
        "",
        "- **Money types.** Amounts are `NUMERIC(20, 2)`, rates `NUMERIC(20, 9)`: exact decimals on PostgreSQL.",
        "  SQLite (local development) stores them as binary floats: round money sums there (see the examples).",
        "- **Ids.** Zoho ids are 64-bit integers (`BIGINT`); `raw` keeps the full record as received (Postgres `json`: the JSON text, validated, not converted to jsonb; `raw->>'Field'` works).",
        "",
    ]


def render(tables: Iterable[Table], views: Sequence[ViewDoc], facts: WarehouseFacts) -> str:
    lines = _intro(facts)
    lines += analyst_examples.render()
    lines += [
        "## Views",
        "",
        "Created by migrations for the common questions; they always reflect the live tables.",
        "",
    ]
    for view in views:
        lines += _view_section(view)
    lines += ["## Tables", ""]
    for table in sorted(tables, key=lambda table: table.name):
        lines += _table_section(table)
    return "\n".join(lines).rstrip("\n") + "\n"


def generate() -> str:
    views = declared_views()
    facts = migrated_facts()
    check_views_match(views, facts)
    return render(Base.metadata.tables.values(), views, facts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file differs from a fresh generation")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"file to write or check (default {OUTPUT})")
    args = parser.parse_args(argv)
    content = generate()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != content:
            print(
                f"{args.output} is out of date: run `python -m tools.data_dictionary` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(content, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
