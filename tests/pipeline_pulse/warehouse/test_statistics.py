"""The small lookup tables get planner statistics once (issue 11.4): a migrated warehouse's seeded rules have
none until `analyze_if_stale`, which analyses them once and then leaves them alone until they change."""

from __future__ import annotations

from sqlalchemy import Engine, text

from pipeline_pulse.warehouse.statistics import analyze_if_stale


def test_seeded_lookups_are_analyzed_once_on_postgres_and_sqlite_is_left_alone(sync_engine: Engine) -> None:
    tables = ("deal_health_rules", "stage_durations")
    with sync_engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            assert analyze_if_stale(connection, tables) == []
            return
        planner_rows = text("SELECT reltuples FROM pg_class WHERE relname = 'deal_health_rules'")
        assert connection.execute(planner_rows).scalar_one() < 0  # never analysed: the planner guesses
        assert analyze_if_stale(connection, tables) == ["deal_health_rules", "stage_durations"]
        connection.commit()
        assert connection.execute(planner_rows).scalar_one() == 6  # the six seeded default rules
        assert analyze_if_stale(connection, tables) == []
