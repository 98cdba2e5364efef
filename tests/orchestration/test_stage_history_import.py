"""Stage history without a Zoho call per deal, end to end: real SDK over HTTP against the sandbox, real
warehouse on both backends, the jobs in-process. The sandbox's request log counts the Stage_History calls.

- zoho_sync (first backfill and incremental) makes no Stage_History call at all;
- stage_history_import_job reads only deals older than the history start, open ones first, within its credit
  budget, and resumes; it never reads a deal the pipeline saw from its creation;
- the timeline it leaves equals Zoho's own Stage_History of each deal (stage and time of every change)."""

from __future__ import annotations

import math
import re
from itertools import pairwise
from typing import Any

import dagster as dg
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.main import create_app
from orchestration.definitions import build_definitions
from orchestration.resources import WarehouseResource
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.settings import get_settings
from pipeline_pulse.models import Deal, DealStageHistory, SyncState
from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from tests.fixtures.api import ApiClient, api_settings

STAGE_HISTORY_PATH = re.compile(r"/crm/v8/Deals/(\d+)/Stage_History")


def _run(db_url: str, job: str, run_config: dict[str, Any] | None = None) -> dg.ExecuteInProcessResult:
    defs = build_definitions(warehouse=WarehouseResource(database_url=db_url))
    result = defs.resolve_job_def(job).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=run_config or {}, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _import(db_url: str, budget: int) -> dict[str, Any]:
    result = _run(
        db_url, "stage_history_import_job", {"ops": {"stage_history_import": {"config": {"budget_credits": budget}}}}
    )
    [materialization] = result.asset_materializations_for_node("stage_history_import")
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


class StageHistoryCalls:
    """Deal ids of the Stage_History requests the sandbox served since the last `take()`."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.seen = len(server.control.stats()["requests"])

    def take(self) -> list[int]:
        requests = self.server.control.stats()["requests"]
        new, self.seen = requests[self.seen :], len(requests)
        return [int(m.group(1)) for r in new if (m := STAGE_HISTORY_PATH.fullmatch(r["path"]))]


def _timelines(engine: Engine) -> dict[int, list[tuple[str, Any]]]:
    h = DealStageHistory
    with engine.connect() as connection:
        rows = connection.execute(select(h.deal_id, h.stage, h.entered_at).order_by(h.deal_id, h.entered_at)).all()
    out: dict[int, list[tuple[str, Any]]] = {}
    for deal_id, stage, entered_at in rows:
        out.setdefault(deal_id, []).append((stage, entered_at))
    return out


def test_stage_history_comes_from_versions_and_a_budgeted_import(db_url: str, sandbox_factory, pipeline_env) -> None:  # type: ignore[no-untyped-def]
    server = sandbox_factory(deals=120, seed=11, awkward_share=0.0)
    pipeline_env(server, db_url)
    engine = create_sync_engine(db_url)
    calls = StageHistoryCalls(server)

    _run(db_url, "zoho_sync")  # the first backfill
    assert calls.take() == []
    with engine.connect() as connection:
        live = dict(connection.execute(select(Deal.id, Deal.deal_status).where(Deal.deleted_at.is_(None))).all())
        start = connection.execute(select(SyncState.cursor_modified_time).where(SyncState.stream == "deal_history"))
        assert start.scalar() is not None
    assert _timelines(engine) == {}  # when older deals entered their stage is unknown: nothing invented

    # A budget of 30 credits: 30 deals, open ones first; the next run the same day reads nothing.
    first = _import(db_url, budget=30)
    read = calls.take()
    assert len(read) == len(set(read)) == 30
    open_deals = {deal_id for deal_id, status in live.items() if status == "open"}
    assert set(read) <= open_deals
    assert (first["backlog_before"], first["deals"], first["backlog_after"]) == (len(live), 30, len(live) - 30)
    assert (first["stopped"], first["spent_today_credits"], first["budget_credits"]) == ("budget", 30, 30)
    again = _import(db_url, budget=30)
    assert calls.take() == []
    assert (again["deals"], again["stopped"]) == (0, "budget")

    # Changes in Zoho: the incremental sync reads them with no Stage_History call.
    touched = server.control.mutate(modify=25, create=6, delete=3)
    before = server.control.stats(with_log=False)["calls"]
    _run(db_url, "zoho_sync")
    assert calls.take() == []
    # Every Zoho call of the run (dimensions are fresh: refreshed by the first sync less than an hour ago).
    used = server.control.stats(with_log=False)["calls"] - before
    assert used <= math.ceil(34 / 200) + 4, used
    created = {int(i) for i in touched["created"]}
    timelines = _timelines(engine)
    assert created <= set(timelines)  # observed from their creation: their first stage is known

    # The rest of the backlog, resumed; deals the pipeline saw from their creation are never read.
    rest = _import(db_url, budget=10_000)
    read_later = calls.take()
    assert not created & set(read_later)
    unread = set(live) - set(read) - {int(i) for i in touched["deleted"]}  # a deleted deal is not read
    assert set(read_later) == unread
    assert (rest["deals"], rest["backlog_after"], rest["stopped"]) == (len(unread), 0, "backlog_empty")
    with engine.connect() as connection:
        status = connection.execute(
            select(SyncState.last_status, SyncState.api_calls).where(SyncState.stream == "stage_history_import")
        ).one()
    assert tuple(status) == ("success", len(unread))

    # One timeline per deal equal to Zoho's own (collapsed to stage changes), no duplicate at the seam.
    timelines = _timelines(engine)
    service = UnifiedZohoCRMService.from_settings(get_settings(), engine=engine)
    for deal_id in sorted({int(i) for i in touched["modified"]} | set(list(created)[:3])):
        zoho = sorted(service.get_stage_history([deal_id]), key=lambda r: (r.entered_at, r.id))
        expected = [(r.stage, r.entered_at) for i, r in enumerate(zoho) if i == 0 or zoho[i - 1].stage != r.stage]
        assert timelines.get(deal_id, []) == expected, deal_id
    for timeline in timelines.values():
        assert all(a[0] != b[0] and a[1] < b[1] for a, b in pairwise(timeline))
    engine.dispose()

    # GET /sync/status: every stream's last run with its status and counts, bookkeeping rows left out.
    with TestClient(create_app(api_settings(db_url)), raise_server_exceptions=False) as client:
        status = ApiClient(client, api_settings(db_url)).get("/api/v1/sync/status", regions="*").json()
    streams = {row["stream"]: row for row in status["streams"]}
    assert not {"deal_history", "deals_bulk_progress", "deal_stage_history"} & set(streams)
    runs = [streams[name] for name in ("deals", "deals_deleted", "stage_history_import")]
    assert [(row["last_status"], bool(row["last_run_finished_at"])) for row in runs] == [("success", True)] * 3
    assert streams["deals_deleted"]["records_deleted"] == 3
    assert streams["stage_history_import"]["records_inserted"] > 0
