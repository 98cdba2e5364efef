"""Deterministic deal generation: deal ``idx`` of seed ``seed`` is always the same row.

Each deal has its own RNG seeded from (seed, idx), so any single deal (and its initial stage history) can be
regenerated on demand without keeping per-deal Python objects around.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from . import reference as ref

# Column order of the ``deals`` table (see store.py); generator rows follow it exactly.
DEAL_COLUMNS: tuple[str, ...] = (
    "id",
    "deal_name",
    "owner_id",
    "account_id",
    "contact_id",
    "campaign_id",
    "amount",
    "currency",
    "exchange_rate",
    "closing_date",
    "stage",
    "pipeline",
    "probability",
    "expected_revenue",
    "type",
    "lead_source",
    "next_step",
    "description",
    "created_by",
    "modified_by",
    "created_time",
    "modified_time",
    "last_activity_time",
    "reason_for_loss",
    "sales_cycle_duration",
    "overall_sales_duration",
    "lead_conversion_time",
    "region",
    "country",
    "solution_type",
    "product_line",
    "deal_age_days",
    "contract_term_months",
    "renewal",
    "partner_name",
    "competitor",
    "locked",
)
AWKWARD_KINDS = ("null_amount", "unknown_region", "missing_country", "non_ascii", "removed_stage")
HISTORY_SPAN_DAYS = 3 * 365

_PIPELINE_NAMES = tuple(ref.PIPELINES)
_PIPELINE_WEIGHTS = tuple(weight for _, weight in ref.PIPELINES.values())
_USER_WEIGHTS = tuple(3 if user.region in ("APAC", "India") else 2 for user in ref.USERS)
_NON_ASCII_DEALS = ("Ñandú Expansion – Phase 2", "Ölüdeniz Resort Rollout", "Cửa hàng số 7 — POS", "Zürich Büro Ausbau")


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    stage: str
    probability: int
    amount: float | None
    expected_revenue: float | None
    closing_date: str
    modified_time: int
    modified_by: int


def deal_id(idx: int) -> int:
    return ref.DEAL_BASE + idx


def deal_index(deal_id_: int) -> int:
    return deal_id_ - ref.DEAL_BASE


def _rng(seed: int, idx: int) -> random.Random:
    return random.Random((seed << 40) ^ (idx * 2_654_435_761))


def _fmt_date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


def expected_revenue(amount: float | None, probability: int) -> float | None:
    return None if amount is None else round(amount * probability / 100.0, 2)


def account_name(seed: int, idx: int) -> str:
    rng = _rng(seed ^ 0xACC, idx)
    if rng.random() < 0.02:
        return ref.NON_ASCII_ACCOUNTS[idx % len(ref.NON_ASCII_ACCOUNTS)]
    return (
        f"{rng.choice(ref.ACCOUNT_PREFIXES)} {rng.choice(ref.ACCOUNT_NOUNS)} "
        f"{rng.choice(ref.ACCOUNT_SUFFIXES)} #{idx + 1}"
    )


def contact_name(seed: int, idx: int) -> tuple[str, str]:
    rng = _rng(seed ^ 0xC0, idx)
    return rng.choice(ref.CONTACT_FIRST), f"{rng.choice(ref.CONTACT_LAST)}-{idx + 1}"


def generate_deal(
    seed: int, idx: int, total: int, clock_start: int, awkward_share: float, with_history: bool = False
) -> tuple[tuple[object, ...], list[HistoryEntry]]:
    """Return (row in DEAL_COLUMNS order, initial stage history oldest first)."""
    r = _rng(seed, idx)
    rand = r.random
    day = 86_400
    span = HISTORY_SPAN_DAYS * day
    step = span / max(total, 1)
    # Ids grow with creation time, as Zoho's do.
    created = int(clock_start - span - day + idx * step + rand() * step)
    owner = r.choices(ref.USERS, _USER_WEIGHTS)[0]
    region: str | None = owner.region
    countries = ref.REGIONS[owner.region]
    country: str | None = owner.country if rand() < 0.6 else r.choice(countries)
    pipeline = r.choices(_PIPELINE_NAMES, _PIPELINE_WEIGHTS)[0]
    stages = ref.PIPELINES[pipeline][0]
    open_stages = [name for name in stages if not ref.STAGES_BY_NAME[name].closed]
    age_days = (clock_start - created) / day
    # Older deals are more likely closed; a realistic won / lost / open mix overall.
    closed_p = min(0.85, 0.1 + age_days / 1400)
    if rand() < closed_p:
        stage_name = (
            "Closed Won"
            if rand() < 0.45
            else r.choice([s for s in stages if s.startswith("Closed-") or s == "Closed Lost"])
        )
    else:
        stage_name = r.choice(open_stages)
    stage = ref.STAGES_BY_NAME[stage_name]
    awkward = r.choice(AWKWARD_KINDS) if rand() < awkward_share else None
    if awkward == "removed_stage":
        stage = ref.REMOVED_STAGE
        stage_name = stage.name
    sgd_amount = round(math.exp(r.gauss(10.6, 1.0)), 2)
    currency = ref.COUNTRY_CURRENCY.get(country or "", "USD")
    if country == "Singapore":
        currency = "SGD"
    rate = ref.CURRENCIES[currency][2]
    amount: float | None = round(sgd_amount * rate, 0 if currency in ("JPY", "INR") else 2)
    if awkward == "null_amount":
        amount = None
    if awkward == "unknown_region":
        region, country = None, r.choice(ref.UNMAPPED_COUNTRIES)
    elif awkward == "missing_country":
        country = None
    modified = created + int(rand() * max(1.0, clock_start - created - 60))
    if stage.closed:
        closing_epoch = modified - int(rand() * 3 * day)
        closing_epoch = max(closing_epoch, created)
    else:
        closing_epoch = clock_start + int((rand() * 330 - 60) * day)
    closing_date = _fmt_date(closing_epoch)
    account_idx = int(rand() * ref.account_count(total))
    account_id = ref.ACCOUNT_BASE + account_idx
    contact_id = ref.CONTACT_BASE + int(rand() * ref.contact_count(total)) if rand() < 0.8 else None
    campaign_id = ref.CAMPAIGN_BASE + int(rand() * len(ref.CAMPAIGNS)) if rand() < 0.2 else None
    solution = r.choice(ref.SOLUTION_TYPES)
    if awkward == "non_ascii":
        name = _NON_ASCII_DEALS[idx % len(_NON_ASCII_DEALS)]
    else:
        name = f"{solution} for {account_name(seed, account_idx).rsplit(' #', 1)[0]} #{idx + 1}"
    modifier = owner.id if rand() < 0.7 else r.choice(ref.USERS).id
    cycle = int((closing_epoch - created) / day) if stage.closed else None
    row = (
        deal_id(idx),
        name,
        owner.id,
        account_id,
        contact_id,
        campaign_id,
        amount,
        currency,
        rate,
        closing_date,
        stage_name,
        pipeline,
        stage.probability,
        expected_revenue(amount, stage.probability),
        r.choice(ref.DEAL_TYPES),
        r.choice(ref.LEAD_SOURCES),
        None if stage.closed else r.choice(("Send proposal", "Schedule demo", "Follow up call", None)),
        None if rand() < 0.7 else f"Opportunity for {solution.lower()} sourced via {pipeline}.",
        owner.id,
        modifier,
        created,
        modified,
        modified + int(rand() * (clock_start - modified)),
        r.choice(ref.LOSS_REASONS) if stage.forecast_type == "Closed Lost" else None,
        cycle,
        cycle + int(rand() * 30) if cycle is not None else None,
        int(rand() * 20) if rand() < 0.5 else None,
        region,
        country,
        solution,
        r.choice(ref.PRODUCT_LINES),
        int(age_days),
        r.choice((12, 24, 36)) if rand() < 0.6 else None,
        1 if rand() < 0.15 else 0,
        f"Partner {int(rand() * 40) + 1}" if pipeline == "Channel Partner" else None,
        r.choice(ref.COMPETITORS),
        0,
    )
    history: list[HistoryEntry] = []
    if with_history:
        history = _initial_history(r, stage_name, pipeline, amount, created, modified, closing_date, row[19])
    return row, history


def _initial_history(
    r: random.Random,
    stage_name: str,
    pipeline: str,
    amount: float | None,
    created: int,
    modified: int,
    closing_date: str,
    modifier: int,
) -> list[HistoryEntry]:
    """Stage path through the pipeline ending exactly at the deal's current stage."""
    stages = list(ref.PIPELINES[pipeline][0])
    open_path = [s for s in stages if not ref.STAGES_BY_NAME[s].closed]
    if stage_name in open_path:
        path = open_path[: open_path.index(stage_name) + 1]
    elif stage_name == ref.REMOVED_STAGE.name:
        path = [open_path[0], stage_name]
    else:  # closed: walk part of the open path, then close
        path = [*open_path[: max(1, int(r.random() * len(open_path)) + 1)], stage_name]
    n = len(path)
    times = [created, *sorted(created + int(r.random() * (modified - created)) for _ in range(n - 1))]
    if n > 1:
        times[-1] = modified  # the last stage move is the deal's last modification
    out = []
    for seq, (name, when) in enumerate(zip(path, times, strict=True)):
        stage = ref.STAGES_BY_NAME.get(name, ref.REMOVED_STAGE)
        out.append(
            HistoryEntry(
                seq=seq,
                stage=name,
                probability=stage.probability,
                amount=amount,
                expected_revenue=expected_revenue(amount, stage.probability),
                closing_date=closing_date,
                modified_time=when,
                modified_by=modifier,
            )
        )
    return out


def iter_deals(seed: int, total: int, clock_start: int, awkward_share: float) -> Iterator[tuple[object, ...]]:
    for idx in range(total):
        yield generate_deal(seed, idx, total, clock_start, awkward_share)[0]


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def add_days(day_iso: str, days: int) -> str:
    return (date.fromisoformat(day_iso) + timedelta(days=days)).isoformat()
