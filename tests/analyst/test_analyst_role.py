"""deploy/sql/analyst_role.sql gives analysts SELECT on the warehouse and views, and nothing else (Postgres)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import errors, sql
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "sql" / "analyst_role.sql"
VIEWS = ("v_open_pipeline", "v_won_lost_by_month", "v_pipeline_by_region_stage", "v_stale_deals")


@dataclass(frozen=True)
class AnalystSetup:
    database_url: str
    group_role: str
    login_user: str


def _apply_script(database_url: str, group_role: str, login_user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "psql",
            make_url(database_url).render_as_string(hide_password=False),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"analyst_role={group_role}",
            "-v",
            f"analyst_user={login_user}",
            "-f",
            str(SCRIPT),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _connect(database_url: str, user: str | None = None):  # type: ignore[no-untyped-def]
    url = make_url(database_url)
    conn = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=user or url.username, password=url.password, dbname=url.database
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def analyst(pristine_postgres_url: str) -> Iterator[AnalystSetup]:
    # Roles are cluster-wide: unique names per test, dropped afterwards (before the database goes).
    suffix = uuid.uuid4().hex[:8]
    setup = AnalystSetup(pristine_postgres_url, f"pp_analyst_grp_{suffix}", f"pp_analyst_usr_{suffix}")
    result = _apply_script(pristine_postgres_url, setup.group_role, setup.login_user)
    assert result.returncode == 0, result.stderr
    yield setup
    with _connect(pristine_postgres_url) as owner, owner.cursor() as cur:
        for role in (setup.login_user, setup.group_role):
            cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    owner.close()


def _run_as_analyst(setup: AnalystSetup, *statements: str) -> list[tuple[object, ...]]:
    """Run statements one by one (separate transactions) as the analyst login; the last one's rows."""
    conn = _connect(setup.database_url, user=setup.login_user)
    try:
        rows: list[tuple[object, ...]] = []
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
                rows = cur.fetchall() if cur.description else []
        return rows
    finally:
        conn.close()


def _seed_one_deal(database_url: str) -> None:
    with _connect(database_url) as owner, owner.cursor() as cur:
        cur.execute(
            "INSERT INTO deals (id, stage, deal_status, region, raw, first_seen_at, last_synced_at, amount_home)"
            " VALUES (1, 'Qualification', 'open', 'APAC', '{}', now(), now(), 10)"
        )
        cur.execute(
            "INSERT INTO zoho_oauth_tokens (id, refresh_token_enc, version, updated_at) VALUES ('t', 'x', 1, now())"
        )
    owner.close()


@pytest.mark.postgres
def test_analyst_reads_tables_and_views(analyst: AnalystSetup) -> None:
    _seed_one_deal(analyst.database_url)
    assert _run_as_analyst(analyst, "SELECT id, region FROM deals") == [(1, "APAC")]
    assert _run_as_analyst(analyst, "SELECT deal_id FROM v_open_pipeline") == [(1,)]
    for view in VIEWS:
        _run_as_analyst(analyst, f"SELECT * FROM {view}")
    assert _run_as_analyst(analyst, "SELECT count(*) FROM regions")[0][0] >= 5


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO regions (code, name) VALUES ('X', 'X')",
        "UPDATE deals SET stage = 'Lost'",
        "DELETE FROM deals",
        "TRUNCATE deals",
        "CREATE TABLE analyst_scratch (id int)",
        "SELECT * FROM zoho_oauth_tokens",
        "SELECT refresh_token_enc FROM zoho_oauth_tokens",
        "SELECT * FROM alembic_version",
    ],
)
def test_analyst_cannot_write_create_or_read_tokens(analyst: AnalystSetup, statement: str) -> None:
    _seed_one_deal(analyst.database_url)
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        # Lift the login's read-only default first: the privileges alone must refuse the statement.
        _run_as_analyst(analyst, "SET default_transaction_read_only = off", statement)


@pytest.mark.postgres
def test_future_tables_are_readable_and_script_is_idempotent(analyst: AnalystSetup) -> None:
    with _connect(analyst.database_url) as owner, owner.cursor() as cur:
        cur.execute("CREATE TABLE later_table (id int)")
        cur.execute("INSERT INTO later_table VALUES (42)")
    owner.close()
    assert _run_as_analyst(analyst, "SELECT id FROM later_table") == [(42,)]

    again = _apply_script(analyst.database_url, analyst.group_role, analyst.login_user)
    assert again.returncode == 0, again.stderr
    assert _run_as_analyst(analyst, "SELECT count(*) FROM deals") == [(0,)]
    with pytest.raises(errors.InsufficientPrivilege):
        _run_as_analyst(analyst, "SELECT * FROM zoho_oauth_tokens")


@pytest.mark.postgres
def test_analyst_sessions_are_read_only_and_group_role_cannot_log_in(analyst: AnalystSetup) -> None:
    assert _run_as_analyst(analyst, "SHOW default_transaction_read_only") == [("on",)]
    with pytest.raises(psycopg2.OperationalError, match="not permitted to log in"):
        _connect(analyst.database_url, user=analyst.group_role)
