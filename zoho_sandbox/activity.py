"""What a sales rep does to a deal in one edit (the behaviour behind ``/__sandbox/mutate``).

Pure decisions on a deal's current state; the store applies them (and appends the Stage_History entry when
the stage moved). Every edit is something reps really do: move a deal along (or back), close it (setting the
closing date to the close day, unless careless), push or pull in the closing date, change the amount, correct
a closed deal's amount, or reopen a closed deal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import generator as gen
from . import reference as ref

_DAY = 86_400


@dataclass(frozen=True)
class DealState:
    """The columns an edit depends on."""

    stage: str
    pipeline: str
    amount: float | None
    currency: str
    closing_date: str
    probability: int
    created_time: int


@dataclass(frozen=True)
class Edit:
    """Column -> new value (names of the ``deals`` table), and whether the stage moved (a Stage_History row)."""

    changes: dict[str, object]
    stage_moved: bool


def is_closed(stage: str) -> bool:
    known = ref.STAGES_BY_NAME.get(stage)
    return known is not None and known.closed


def edit_open(rng: random.Random, deal: DealState, now: int, stale_close_share: float) -> Edit:
    """An edit of an open deal: a stage move (40%), an amount change (25%) or a closing-date change (35%)."""
    draw = rng.random()
    if draw < 0.40:
        return _move(rng, deal, now, stale_close_share)
    if draw < 0.65:
        return _finish(deal, {"amount": _changed_amount(rng, deal, 0.75, 1.3)}, False)
    return _finish(deal, {"closing_date": _moved_closing(rng, deal.closing_date, now)}, False)


def edit_closed(rng: random.Random, deal: DealState) -> Edit:
    """A correction on a closed deal: its amount (the signed contract differs a little from the quote)."""
    return _finish(deal, {"amount": _changed_amount(rng, deal, 0.9, 1.1)}, False)


def reopen(rng: random.Random, deal: DealState, now: int, back_to: str) -> Edit:
    """Reopen a closed deal into ``back_to`` (the open stage it closed from); the closing date moves out."""
    stage = ref.STAGES_BY_NAME[back_to]
    changes: dict[str, object] = {
        **_stage_columns(stage),
        "closing_date": gen.day_iso(now // _DAY + rng.randint(30, 120)),
        "next_step": "Follow up call",
        "reason_for_loss": None,
        "sales_cycle_duration": None,
        "overall_sales_duration": None,
    }
    return _finish(deal, changes, True)


def reopen_stage(pipeline: str, history_stages: list[str]) -> str:
    """The open stage a closed deal is reopened into: the last open stage of its history, else the pipeline's
    last open stage."""
    open_path = [s for s in ref.PIPELINES[pipeline][0] if not ref.STAGES_BY_NAME[s].closed]
    for name in reversed(history_stages):
        if name in open_path:
            return name
    return open_path[-1]


def _move(rng: random.Random, deal: DealState, now: int, stale_close_share: float) -> Edit:
    open_path = [s for s in ref.PIPELINES[deal.pipeline][0] if not ref.STAGES_BY_NAME[s].closed]
    pos = open_path.index(deal.stage) if deal.stage in open_path else -1
    draw = rng.random()
    if pos > 0 and draw < 0.1:  # the buyer went quiet: back one stage
        return _open_move(rng, deal, now, open_path[pos - 1])
    if pos + 1 < len(open_path) and draw < 0.7:
        return _open_move(rng, deal, now, open_path[pos + 1])
    return _close(rng, deal, now, stale_close_share)


def _open_move(rng: random.Random, deal: DealState, now: int, stage_name: str) -> Edit:
    changes: dict[str, object] = {**_stage_columns(ref.STAGES_BY_NAME[stage_name])}
    if gen.day_number(deal.closing_date) < now // _DAY and rng.random() < 0.5:  # overdue: re-plan on the move
        changes["closing_date"] = gen.day_iso(now // _DAY + rng.randint(14, 90))
    return _finish(deal, changes, True)


def _close(rng: random.Random, deal: DealState, now: int, stale_close_share: float) -> Edit:
    if rng.random() < 0.45:
        stage = ref.STAGES_BY_NAME["Closed Won"]
    else:
        lost = [s for s in ref.PIPELINES[deal.pipeline][0] if ref.STAGES_BY_NAME[s].forecast_type == "Closed Lost"]
        stage = ref.STAGES_BY_NAME[lost[int(rng.random() * len(lost))]]
    stale = rng.random() < stale_close_share
    closing = deal.closing_date if stale else gen.day_iso(now // _DAY)
    cycle = max(0, (gen.day_number(closing) * _DAY - deal.created_time) // _DAY)
    changes: dict[str, object] = {
        **_stage_columns(stage),
        "closing_date": closing,
        "next_step": None,
        "reason_for_loss": ref.LOSS_REASONS[int(rng.random() * len(ref.LOSS_REASONS))]
        if stage.forecast_type == "Closed Lost"
        else None,
        "sales_cycle_duration": cycle,
        "overall_sales_duration": cycle,
    }
    if stage.forecast_type == "Closed Won" and deal.amount is not None and rng.random() < 0.25:
        changes["amount"] = _changed_amount(rng, deal, 0.85, 1.05)  # the final price differs from the quote
    return _finish(deal, changes, True)


def _stage_columns(stage: ref.Stage) -> dict[str, object]:
    # Probability follows the stage; Zoho resets the forecast category to the new stage's on a stage change.
    return {"stage": stage.name, "probability": stage.probability, "forecast_category": stage.forecast_category}


def _changed_amount(rng: random.Random, deal: DealState, low: float, high: float) -> float:
    base = deal.amount if deal.amount is not None else 10_000.0
    return gen.round_amount(base * rng.uniform(low, high), deal.currency)


def _moved_closing(rng: random.Random, closing_date: str, now: int) -> str:
    """Pushed out (70%, and always when overdue, from today) or pulled in (never before today)."""
    today, current = now // _DAY, gen.day_number(closing_date)
    if current < today:
        return gen.day_iso(today + rng.randint(7, 60))
    if rng.random() < 0.7 or current - 7 < today:
        return gen.day_iso(current + rng.randint(7, 60))
    return gen.day_iso(max(today, current - rng.randint(7, 30)))


def _finish(deal: DealState, changes: dict[str, object], stage_moved: bool) -> Edit:
    amount = changes.get("amount", deal.amount)
    probability = changes.get("probability", deal.probability)
    changes["expected_revenue"] = gen.expected_revenue(amount, probability)  # type: ignore[arg-type]
    return Edit(changes, stage_moved)
