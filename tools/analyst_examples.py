"""Example analyst queries in their PostgreSQL and SQLite forms, rendered into docs/data-dictionary.md.

`tests/analyst/test_examples.py` runs both forms of every example on a seeded warehouse of each backend and
requires the same answer, so the documented SQL cannot rot. SQLite differs where it matters: NUMERIC is stored
as a binary float (sums need `ROUND(..., 2)`), there is no `interval` / `now()` / `date_trunc` / `to_char` /
`AT TIME ZONE` (use `datetime()`, `date()` and `strftime()` with modifiers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    question: str
    postgres: str
    sqlite: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "Open pipeline by region, in home currency",
        "SELECT region, COUNT(*) AS deals, SUM(amount_home) AS amount_home\n"
        "FROM v_open_pipeline GROUP BY region ORDER BY region",
        "SELECT region, COUNT(*) AS deals, ROUND(SUM(amount_home), 2) AS amount_home\n"
        "FROM v_open_pipeline GROUP BY region ORDER BY region",
    ),
    Example(
        "Won amount by closing month",
        "SELECT to_char(closing_date, 'YYYY-MM') AS month, SUM(amount_home) AS won_home\n"
        "FROM deals WHERE deleted_at IS NULL AND deal_status = 'won'\n"
        "GROUP BY 1 ORDER BY 1",
        "SELECT strftime('%Y-%m', closing_date) AS month, ROUND(SUM(amount_home), 2) AS won_home\n"
        "FROM deals WHERE deleted_at IS NULL AND deal_status = 'won'\n"
        "GROUP BY 1 ORDER BY 1",
    ),
    Example(
        "Live deals modified in the last 30 days",
        "SELECT COUNT(*) AS deals FROM deals\nWHERE deleted_at IS NULL AND modified_time >= now() - interval '30 days'",
        "SELECT COUNT(*) AS deals FROM deals\nWHERE deleted_at IS NULL AND modified_time >= datetime('now', '-30 days')",
    ),
    Example(
        "Open deals closing in the next 90 days",
        "SELECT COUNT(*) AS deals FROM v_open_pipeline\nWHERE closing_date BETWEEN current_date AND current_date + 90",
        "SELECT COUNT(*) AS deals FROM v_open_pipeline\n"
        "WHERE closing_date BETWEEN date('now') AND date('now', '+90 days')",
    ),
    Example(
        "Last modification of each deal in Singapore time (UTC+8, no daylight saving)",
        "SELECT id, to_char(modified_time AT TIME ZONE 'Asia/Singapore', 'YYYY-MM-DD HH24:MI:SS') AS modified_sgt\n"
        "FROM deals WHERE deleted_at IS NULL ORDER BY id",
        "SELECT id, datetime(modified_time, '+8 hours') AS modified_sgt\nFROM deals WHERE deleted_at IS NULL ORDER BY id",
    ),
    Example(
        "Average won deal per region, rounded to cents",
        "SELECT region, ROUND(AVG(amount_home), 2) AS avg_won_home\n"
        "FROM deals WHERE deleted_at IS NULL AND deal_status = 'won' GROUP BY region ORDER BY region",
        "SELECT region, ROUND(AVG(amount_home), 2) AS avg_won_home\n"
        "FROM deals WHERE deleted_at IS NULL AND deal_status = 'won' GROUP BY region ORDER BY region",
    ),
    Example(
        "Open pipeline by region as it was at the end of 2026-02-15 (UTC), from the deal versions (docs/metrics.md 3)",
        "SELECT region, COUNT(*) AS deals, SUM(amount_home) AS amount_home FROM deal_versions\n"
        "WHERE valid_from < TIMESTAMPTZ '2026-02-16 00:00:00+00'\n"
        "  AND (valid_to IS NULL OR valid_to >= TIMESTAMPTZ '2026-02-16 00:00:00+00')\n"
        "  AND NOT deleted AND deal_status = 'open'\n"
        "GROUP BY region ORDER BY region",
        "SELECT region, COUNT(*) AS deals, ROUND(SUM(amount_home), 2) AS amount_home FROM deal_versions\n"
        "WHERE valid_from < '2026-02-16 00:00:00'\n"
        "  AND (valid_to IS NULL OR valid_to >= '2026-02-16 00:00:00')\n"
        "  AND deleted = 0 AND deal_status = 'open'\n"
        "GROUP BY region ORDER BY region",
    ),
    Example(
        "Deals that entered each stage in January 2026 (UTC), from the stage timeline (docs/metrics.md 8)",
        "SELECT stage, COUNT(DISTINCT deal_id) AS deals FROM deal_stage_history\n"
        "WHERE entered_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00' AND entered_at < TIMESTAMPTZ '2026-02-01 00:00:00+00'\n"
        "GROUP BY stage ORDER BY stage",
        "SELECT stage, COUNT(DISTINCT deal_id) AS deals FROM deal_stage_history\n"
        "WHERE entered_at >= '2026-01-01 00:00:00' AND entered_at < '2026-02-01 00:00:00'\n"
        "GROUP BY stage ORDER BY stage",
    ),
)


def render() -> list[str]:
    """Markdown lines of the examples section."""
    lines = [
        "## Example queries (PostgreSQL and SQLite)",
        "",
        "Production runs on PostgreSQL; `make run` and local development use SQLite, which differs where it",
        "matters: SQLite stores `NUMERIC` money as a binary float, so a sum can read `13126987.979999991` —",
        "wrap money aggregates in `ROUND(..., 2)` there (PostgreSQL's `NUMERIC` is exact) — and it has no",
        "`interval`, `now()`, `date_trunc`, `to_char` or `AT TIME ZONE`: use `datetime()`, `date()` and",
        "`strftime()` with modifiers. Timestamps are UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`) on SQLite, so",
        "they compare correctly with `datetime('now', ...)`. Both forms below are run by a test on both",
        "backends and must give the same answer.",
        "",
    ]
    for example in EXAMPLES:
        lines += [
            f"**{example.question}**",
            "",
            "```sql",
            "-- PostgreSQL",
            *example.postgres.splitlines(),
            "-- SQLite",
            *example.sqlite.splitlines(),
            "```",
            "",
        ]
    return lines
