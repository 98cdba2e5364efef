"""Planner statistics of the small tables the health views and the API join: ANALYZE them when they have
never been analysed or changed since their last ANALYZE.

Autovacuum analyses a table only after 50 + 10% of its rows changed, so a six-row rules table seeded by a
migration, or a few dozen stages, may never get statistics; without them Postgres estimates the health views'
joins at a couple of rows and picks nested loops over every open deal (22 s instead of 0.7 s at 20k deals).
Checking is one catalog query; an ANALYZE of a table this small takes milliseconds. SQLite: nothing to do (its
planner does not need sqlite_stat1 for these joins)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text

# Raw SQL on purpose: SQLAlchemy has no ANALYZE construct; table names come from the caller's constants and are
# checked against the catalog below, never taken from input.
_STALE = text(
    "SELECT relname FROM pg_stat_user_tables WHERE relname IN :tables "
    "AND (n_mod_since_analyze > 0 OR (last_analyze IS NULL AND last_autoanalyze IS NULL))"
).bindparams(bindparam("tables", expanding=True))


def analyze_if_stale(connection: Connection, tables: Sequence[str]) -> list[str]:
    """ANALYZE each of `tables` whose statistics are missing or older than its last change; returns those."""
    if connection.dialect.name != "postgresql" or not tables:
        return []
    stale = sorted(connection.execute(_STALE, {"tables": list(tables)}).scalars())
    for table in stale:
        connection.execute(text(f"ANALYZE {table}"))
    return stale
