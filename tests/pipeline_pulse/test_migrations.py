"""Migrations and models agree, and the chain goes up, down and up again on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.migrate import alembic_config, downgrade, upgrade
from pipeline_pulse.models import Base, CountryRegion, Region


def _drift(url: str) -> list[object]:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True, "render_as_batch": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"alembic has several heads: {heads}"


def test_models_match_migrations(db_url: str) -> None:
    assert _drift(db_url) == []


@pytest.mark.changes_schema
def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    downgrade(db_url, "base")
    engine = create_sync_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(db_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            regions = set(conn.scalars(select(Region.code)))
            mapped = {
                row.country: row.region_code
                for row in conn.execute(select(CountryRegion.country, CountryRegion.region_code))
            }
    finally:
        engine.dispose()
    assert {"APAC", "EMEA", "Americas", "India", "Unassigned"} <= regions
    assert mapped["Singapore"] == "APAC"
    assert mapped["India"] == "India"
    assert _drift(db_url) == []


def test_every_column_is_commented() -> None:
    missing = [f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns if not c.comment]
    assert missing == []
    assert all(t.comment for t in Base.metadata.sorted_tables)
