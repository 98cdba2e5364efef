"""Sales targets from a CSV file: validated as a whole, then loaded in one transaction (or not at all).

Columns (header row required, names case-insensitive, any order):
    period       YYYY-MM or YYYY-Qn (required)
    region       a region code, e.g. APAC (required)
    owner_id     Zoho user id of the owner (optional; blank = the region's own target)
    owner_email  the owner's e-mail in Zoho, instead of owner_id (optional)
    amount       target in home currency, a plain decimal with at most 2 decimals, >= 0 (required)

Every problem in the file is reported (line number and column) and nothing is loaded while any remains. A target
that already exists for the same (period, region, owner) is replaced; with `replace_periods` every existing
target of the file's periods is removed first, so the file becomes the whole truth for those periods.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, Connection, bindparam, delete, func, insert, select

from pipeline_pulse.insight.periods import Period
from pipeline_pulse.models import CrmUser, Region, SalesTarget, utcnow
from pipeline_pulse.warehouse.data_version import bump_data_version

REQUIRED_COLUMNS = ("period", "region", "amount")
OPTIONAL_COLUMNS = ("owner_id", "owner_email")
MAX_AMOUNT = Decimal("999999999999999999.99")  # Numeric(20, 2)
MAX_ERRORS_SHOWN = 50
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
_OWNER_ID = re.compile(r"[1-9]\d{0,18}")


class TargetFileError(ValueError):
    """The file cannot be loaded; `problems` lists every reason, each naming its line and column."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_ERRORS_SHOWN]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"{len(problems)} problem(s) in the targets file:\n" + "\n".join(shown) + more)


@dataclass(frozen=True, slots=True)
class TargetRow:
    line: int
    period: Period
    region: str
    owner_id: int | None
    amount_home: Decimal

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.period.label, self.region, self.owner_id)


@dataclass(frozen=True, slots=True)
class TargetLoad:
    rows: int
    replaced: int  # existing targets removed (same key, or every target of the periods with replace_periods)
    periods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the rows are checked against: region codes, and CRM users by id and by e-mail (casefolded)."""

    regions: Mapping[str, str]  # casefolded code -> code
    user_ids: frozenset[int]
    users_by_email: Mapping[str, int]

    @classmethod
    def read(cls, connection: Connection) -> Lookups:
        regions = {code.casefold(): code for code in connection.scalars(select(Region.code))}
        users = connection.execute(select(CrmUser.id, CrmUser.email)).all()
        return cls(
            regions=regions,
            user_ids=frozenset(user_id for user_id, _ in users),
            users_by_email={email.casefold(): user_id for user_id, email in users if email},
        )


def parse_targets(text: str, lookups: Lookups) -> list[TargetRow]:
    """Every row of the CSV `text`, validated; TargetFileError listing all problems otherwise."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        raise TargetFileError(["line 1: the file is empty; expected a header row: period,region,amount[,owner_id]"])
    columns = [name.strip().casefold() for name in header]
    problems = _header_problems(columns)
    if problems:
        raise TargetFileError(problems)
    rows: list[TargetRow] = []
    first_line: dict[tuple[str, str, int | None], int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(f"line {line}: {len(row)} cells, the header has {len(columns)}")
            continue
        parsed = _parse_row(line, dict(zip(columns, (cell.strip() for cell in row), strict=True)), lookups, problems)
        if parsed is None:
            continue
        if parsed.key in first_line:
            problems.append(
                f"line {line}: duplicate target for period {parsed.key[0]}, region {parsed.region}, owner "
                f"{parsed.owner_id if parsed.owner_id is not None else '(region)'} (first on line {first_line[parsed.key]})"
            )
            continue
        first_line[parsed.key] = line
        rows.append(parsed)
    if not rows and not problems:
        problems.append("the file has a header but no target rows")
    if problems:
        raise TargetFileError(problems)
    return rows


def _header_problems(columns: list[str]) -> list[str]:
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    problems = [f"line 1: unknown column {name!r} (known: {', '.join(known)})" for name in columns if name not in known]
    problems += [f"line 1: missing column {name!r}" for name in REQUIRED_COLUMNS if name not in columns]
    problems += [f"line 1: column {name!r} appears twice" for name in sorted(set(columns)) if columns.count(name) > 1]
    return problems


def _parse_row(line: int, cells: dict[str, str], lookups: Lookups, problems: list[str]) -> TargetRow | None:
    before = len(problems)
    period: Period | None = None
    try:
        period = Period.parse(cells["period"])
    except ValueError as exc:
        problems.append(f"line {line}, period: {exc}")
    region = lookups.regions.get(cells["region"].casefold())
    if region is None:
        problems.append(
            f"line {line}, region: unknown region {cells['region']!r} (known: {', '.join(sorted(lookups.regions.values(), key=str.casefold))})"
        )
    owner_id = _owner(line, cells.get("owner_id", ""), cells.get("owner_email", ""), lookups, problems)
    amount = _amount(line, cells["amount"], problems)
    if len(problems) > before or period is None or region is None or amount is None:
        return None
    return TargetRow(line=line, period=period, region=region, owner_id=owner_id, amount_home=amount)


def _owner(line: int, owner_id: str, email: str, lookups: Lookups, problems: list[str]) -> int | None:
    by_email = lookups.users_by_email.get(email.casefold()) if email else None
    if email and by_email is None:
        problems.append(f"line {line}, owner_email: no CRM user has the e-mail {email!r} (run a sync first?)")
    if not owner_id:
        return by_email
    if not _OWNER_ID.fullmatch(owner_id) or int(owner_id) >= 2**63:
        problems.append(f"line {line}, owner_id: {owner_id!r} is not a Zoho user id (digits, 64-bit)")
        return None
    user = int(owner_id)
    if user not in lookups.user_ids:
        problems.append(f"line {line}, owner_id: no CRM user has the id {owner_id} (run a sync first?)")
    elif by_email is not None and by_email != user:
        problems.append(f"line {line}: owner_id {owner_id} and owner_email {email!r} name different users")
    return user


def _amount(line: int, text: str, problems: list[str]) -> Decimal | None:
    if not _AMOUNT.fullmatch(text):
        problems.append(
            f"line {line}, amount: {text!r} is not an amount (digits with at most 2 decimals, '.' as the "
            "decimal point, no thousands separators or currency signs, not negative)"
        )
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        problems.append(f"line {line}, amount: {text!r} is not a number")
        return None
    if amount > MAX_AMOUNT:
        problems.append(f"line {line}, amount: {text} is too large")
        return None
    return amount


def load_targets(
    connection: Connection, rows: Iterable[TargetRow], source: str, *, replace_periods: bool = False
) -> TargetLoad:
    """Write `rows` in the caller's transaction (no commit here) and bump the data version."""
    batch = list(rows)
    periods = tuple(sorted({row.period.label for row in batch}))
    table = SalesTarget.__table__
    before = count_targets(connection)
    if replace_periods:
        connection.execute(delete(table).where(table.c.period.in_(periods)))
    elif batch:
        same_key = delete(table).where(
            table.c.period == bindparam("k_period"),
            table.c.region == bindparam("k_region"),
            table.c.owner_id.is_not_distinct_from(bindparam("k_owner", type_=BigInteger)),
        )
        connection.execute(
            same_key, [{"k_period": r.period.label, "k_region": r.region, "k_owner": r.owner_id} for r in batch]
        )
    now = utcnow()
    if batch:
        connection.execute(
            insert(table),
            [
                {
                    "period": row.period.label,
                    "period_start": row.period.start,
                    "period_end": row.period.end,
                    "region": row.region,
                    "owner_id": row.owner_id,
                    "amount_home": row.amount_home,
                    "source": source[:255],
                    "loaded_at": now,
                }
                for row in batch
            ],
        )
    bump_data_version(connection)
    replaced = before + len(batch) - count_targets(connection)
    return TargetLoad(rows=len(batch), replaced=replaced, periods=periods)


def count_targets(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(SalesTarget.__table__)).scalar_one())
