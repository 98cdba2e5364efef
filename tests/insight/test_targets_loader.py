"""Loading sales targets from CSV with the documented command, on SQLite and Postgres: all-or-nothing, every
problem reported with its line, replacing by key or by period."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from pipeline_pulse.models import CrmUser, SalesTarget
from pipeline_pulse.warehouse.targets import Lookups, TargetFileError, parse_targets
from tests.fixtures.demo import REPO_ROOT

ANA, BEN = 4_876_876_000_000_200_001, 4_876_876_000_000_200_002


@pytest.fixture
def warehouse(sync_engine: Engine) -> Engine:
    with sync_engine.begin() as connection:
        connection.execute(
            insert(CrmUser),
            [
                {"id": ANA, "full_name": "Ana", "email": "ana@example.com", "region": "APAC", "is_active": True},
                {"id": BEN, "full_name": "Ben", "email": "Ben@Example.com", "region": "EMEA", "is_active": True},
            ],
        )
    return sync_engine


def _load(db_url: str, tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": db_url, "APP_ENV": "development"}
    return subprocess.run(
        [sys.executable, "-m", "tools.load_targets", str(path), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _targets(engine: Engine) -> set[tuple[str, str, int | None, Decimal, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                SalesTarget.period,
                SalesTarget.region,
                SalesTarget.owner_id,
                SalesTarget.amount_home,
                SalesTarget.source,
            )
        ).all()
    return {tuple(row) for row in rows}  # type: ignore[misc]


def test_load_then_replace_by_key_and_by_period(warehouse: Engine, db_url: str, tmp_path: Path) -> None:
    first = _load(
        db_url,
        tmp_path,
        "\ufeffPeriod,Region,owner_id,owner_email,Amount\n"  # Excel's BOM, header case ignored
        "2026-Q1,APAC,,,100000\n"
        f"2026-Q1,apac,{ANA},,60000.50\n"
        "2026-Q1,EMEA,,ben@example.com,40000\n"
        "2026-02,EMEA,,,12000\n"
        "\n",
    )
    assert first.returncode == 0, first.stderr
    assert "loaded 4 target(s) for 2026-02, 2026-Q1" in first.stdout
    assert _targets(warehouse) == {
        ("2026-Q1", "APAC", None, Decimal("100000.00"), "targets.csv"),
        ("2026-Q1", "APAC", ANA, Decimal("60000.50"), "targets.csv"),
        ("2026-Q1", "EMEA", BEN, Decimal("40000.00"), "targets.csv"),
        ("2026-02", "EMEA", None, Decimal("12000.00"), "targets.csv"),
    }
    with warehouse.connect() as connection:
        row = connection.execute(select(SalesTarget).where(SalesTarget.period == "2026-02")).one()
    assert (row.period_start.isoformat(), row.period_end.isoformat()) == ("2026-02-01", "2026-02-28")

    again = _load(db_url, tmp_path, "period,region,amount\n2026-Q1,APAC,120000\n")
    assert again.returncode == 0, again.stderr
    assert "1 existing target(s) replaced" in again.stdout
    assert ("2026-Q1", "APAC", None, Decimal("120000.00"), "targets.csv") in _targets(warehouse)
    assert len(_targets(warehouse)) == 4  # the owner targets of the same period stay

    whole = _load(db_url, tmp_path, "period,region,amount\n2026-Q1,India,5000\n", "--replace-periods")
    assert whole.returncode == 0, whole.stderr
    assert "3 existing target(s) replaced" in whole.stdout
    assert _targets(warehouse) == {
        ("2026-Q1", "India", None, Decimal("5000.00"), "targets.csv"),
        ("2026-02", "EMEA", None, Decimal("12000.00"), "targets.csv"),
    }


def test_a_bad_file_loads_nothing_and_names_every_problem(warehouse: Engine, db_url: str, tmp_path: Path) -> None:
    before = _load(db_url, tmp_path, "period,region,amount\n2026-Q1,APAC,1\n")
    assert before.returncode == 0, before.stderr
    bad = _load(
        db_url,
        tmp_path,
        "period,region,owner_id,amount\n"
        "2026-Q2,APAC,,100\n"  # fine, but the file as a whole is refused
        "2026-Q5,APAC,,100\n"
        "2026-Q2,Mars,,100\n"
        "2026-Q2,EMEA,,1,000.00\n"
        "2026-Q2,EMEA,,-5\n"
        "2026-Q2,EMEA,42,5\n"
        "2026-Q2,APAC,,7\n",
    )
    assert bad.returncode == 1
    for expected in (
        "line 3, period: '2026-Q5' is not a period",
        "line 4, region: unknown region 'Mars' (known: Americas, APAC, EMEA, India, Unassigned)",
        "line 5: 5 cells, the header has 4",
        "line 6, amount: '-5' is not an amount",
        "line 7, owner_id: no CRM user has the id 42",
        "line 8: duplicate target for period 2026-Q2, region APAC, owner (region) (first on line 2)",
        "Nothing was loaded.",
    ):
        assert expected in bad.stderr
    assert _targets(warehouse) == {("2026-Q1", "APAC", None, Decimal("1.00"), "targets.csv")}


def test_dry_run_writes_nothing(warehouse: Engine, db_url: str, tmp_path: Path) -> None:
    result = _load(db_url, tmp_path, "period,region,amount\n2026-Q1,APAC,1\n", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "is valid: 1 target(s)" in result.stdout
    assert _targets(warehouse) == set()


LOOKUPS = Lookups(
    regions={"apac": "APAC", "emea": "EMEA"}, user_ids=frozenset({ANA, BEN}), users_by_email={"ana@x.io": ANA}
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("period,region\n", "missing column 'amount'"),
        ("period,region,amount,quota\n", "unknown column 'quota'"),
        ("period,region,amount,amount\n", "column 'amount' appears twice"),
        ("period,region,amount\n", "no target rows"),
        ("period,region,amount\n2026-Q1,APAC,1.005\n", "at most 2 decimals"),
        ("period,region,amount\n2026-Q1,APAC,$5\n", "not an amount"),
        ("period,region,amount\n2026-Q1,APAC,1e6\n", "not an amount"),
        ("period,region,owner_id,amount\n2026-Q1,APAC,99999999999999999999,5\n", "not a Zoho user id"),
        ("period,region,owner_email,amount\n2026-Q1,APAC,nobody@x.io,5\n", "no CRM user has the e-mail"),
        (f"period,region,owner_id,owner_email,amount\n2026-Q1,APAC,{BEN},ana@x.io,5\n", "name different users"),
    ],
)
def test_parse_problems(text: str, problem: str) -> None:
    with pytest.raises(TargetFileError, match="problem") as raised:
        parse_targets(text, LOOKUPS)
    assert any(problem in line for line in raised.value.problems), raised.value.problems
