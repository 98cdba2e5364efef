"""UnifiedZohoCRMService against the sandbox over HTTP with the real SDK: reads equal the sandbox's truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from pipeline_pulse.services.zoho.crm_service import UnifiedZohoCRMService
from pipeline_pulse.services.zoho.records import DealPage, DealRecord
from tests.pipeline_pulse.services.conftest import make_service
from zoho_sandbox import SandboxServer

DEALS = 5_000


@pytest.fixture(scope="module")
def server(module_sandbox_factory: Any) -> SandboxServer:
    return module_sandbox_factory(deals=DEALS, seed=21)


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    server.control.reset()
    yield server
    server.control.clear_faults()


@pytest.fixture
def service(sandbox: SandboxServer, token_db: Engine, resource_dir: Path) -> UnifiedZohoCRMService:
    return make_service(sandbox, token_db, resource_dir)


def truth_deals(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in server.control.truth()["deals"]}


def read_all(pages: Iterator[DealPage]) -> tuple[dict[str, DealRecord], list[DealPage]]:
    """Latest version per id, asserting the within-call contract: keys only move forward."""
    latest: dict[str, DealRecord] = {}
    seen_pages = []
    last_cursor = None
    for page in pages:
        seen_pages.append(page)
        keys = [(r.modified_time, r.id) for r in page.records]
        assert keys == sorted(keys)
        for record in page.records:
            previous = latest.get(str(record.id))
            assert previous is None or previous.modified_time < record.modified_time  # never regresses
            latest[str(record.id)] = record
        if page.cursor is not None:
            assert last_cursor is None or page.cursor >= last_cursor
            last_cursor = page.cursor
    return latest, seen_pages


def test_full_read_equals_truth(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    truth = truth_deals(sandbox)
    latest, pages = read_all(service.iter_deals())
    assert len(truth) == DEALS
    assert set(latest) == set(truth)
    for deal_id, record in latest.items():
        assert record.raw == truth[deal_id]
    sample = latest[next(iter(truth))]
    expected = truth[str(sample.id)]
    assert sample.owner_id == int(expected["Owner"]["id"])
    assert sample.owner_email == expected["Owner"]["email"]
    assert sample.region == expected["Region"]
    assert sample.country == expected["Country"]
    assert sample.amount == (Decimal(str(expected["Amount"])) if expected["Amount"] is not None else None)
    assert sample.modified_time == datetime.fromisoformat(expected["Modified_Time"])
    assert sample.modified_time.tzinfo is UTC
    assert pages[-1].cursor == max((r.modified_time, r.id) for r in latest.values())
    assert service.counters.records == DEALS
    assert service.counters.pages == len(pages) == DEALS // 200
    assert service.counters.rejected == 0
    assert service.count_deals() == DEALS


def test_more_than_50_fields_are_fetched_in_batches_and_merged(
    sandbox: SandboxServer, token_db: Engine, resource_dir: Path
) -> None:
    # The sandbox has 37 Deals fields; a batch size of 15 exercises the same merge as 50-field batches.
    service = make_service(sandbox, token_db, resource_dir, service_kwargs={"field_batch_size": 15})
    latest, _ = read_all(service.iter_deals())
    truth = truth_deals(sandbox)
    assert {k: v.raw for k, v in latest.items()} == truth
    assert service.counters.calls >= 3 * (DEALS // 200)


def test_incremental_read_returns_the_changed_deals(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    latest, pages = read_all(service.iter_deals())
    cursor = pages[-1].cursor
    assert cursor is not None
    nothing, _ = read_all(service.iter_deals(cursor[0]))
    overlap_ids = {i for i, r in latest.items() if r.modified_time > cursor[0] - service.overlap}
    assert set(nothing) == overlap_ids  # only the overlap window repeats

    sandbox.control.advance_clock(3600)
    changed = sandbox.control.mutate(modify=7, create=4, same_second=True)  # several edits in one second
    changed_more = sandbox.control.mutate(modify=3)
    changed_ids = set(changed["modified"] + changed["created"] + changed_more["modified"])
    increment, _ = read_all(service.iter_deals(cursor[0]))
    assert set(increment) == changed_ids | overlap_ids
    truth = truth_deals(sandbox)
    for deal_id in changed_ids:
        assert increment[deal_id].raw == truth[deal_id]

    # The next run starts from this run's cursor: the same-second edits are all inside it, none is missed.
    new_cursor = max((r.modified_time, r.id) for r in increment.values())
    after, _ = read_all(service.iter_deals(new_cursor[0]))
    assert changed_ids <= set(after) | set(increment)
    assert all(r.modified_time > new_cursor[0] - service.overlap for r in after.values())


def test_records_edited_during_the_read_are_not_missed(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    latest: dict[str, DealRecord] = {}
    changed: set[str] = set()
    for index, page in enumerate(service.iter_deals()):
        for record in page.records:
            previous = latest.get(str(record.id))
            assert previous is None or previous.modified_time < record.modified_time
            latest[str(record.id)] = record
        if index in (2, 10):
            touched = sandbox.control.mutate(modify=25, create=5, same_second=True)
            changed |= set(touched["modified"] + touched["created"])
    truth = truth_deals(sandbox)
    assert set(latest) == set(truth)
    assert {i: latest[i].raw for i in changed} == {i: truth[i] for i in changed}


def test_not_modified_yields_no_pages(service: UnifiedZohoCRMService) -> None:
    assert list(service.iter_deals(datetime(2100, 1, 1, tzinfo=UTC))) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        list(service.iter_deals(datetime(2024, 1, 1)))


def test_deletions(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    before = datetime.fromisoformat(sandbox.control.ready()["clock"])
    deleted = set(sandbox.control.mutate(delete=6)["deleted"])
    found = {str(d.id): d for d in service.iter_deleted_deals(before - timedelta(seconds=1))}
    assert set(found) == deleted
    assert all(d.deletion_type == "recycle" and d.deleted_time.tzinfo is UTC for d in found.values())
    truth = {str(d["id"]): d for d in sandbox.control.truth()["deleted"]}
    assert set(truth) == deleted
    assert {i: found[i].display_name for i in deleted} == {i: truth[i]["display_name"] for i in deleted}


def test_users_stages_currencies_and_history(service: UnifiedZohoCRMService, sandbox: SandboxServer) -> None:
    truth = sandbox.control.truth()
    users = service.list_users()
    assert {(str(u.id), u.full_name, u.email) for u in users} == {
        (u["id"], u["name"], u["email"]) for u in truth["users"]
    }
    stages = service.get_stage_metadata()
    expected = {
        (pipeline, s["name"], s["probability"], s["forecast_type"], s["forecast_category"])
        for s in truth["stages"]
        if s["in_picklist"]
        for pipeline in s["pipelines"]
    }
    assert {(s.pipeline, s.stage, s.probability, s.forecast_type, s.forecast_category) for s in stages} == expected
    currencies = {c.iso_code: c for c in service.get_currencies()}
    assert set(currencies) == {c["iso_code"] for c in truth["currencies"]}
    for c in truth["currencies"]:
        assert currencies[c["iso_code"]].exchange_rate == Decimal(str(c["exchange_rate"]))
        assert currencies[c["iso_code"]].is_home is c["is_base"]
    deal_id = int(truth["deals"][0]["id"])
    history = list(service.get_stage_history([deal_id]))
    assert history
    assert all(h.deal_id == deal_id and h.entered_at.tzinfo is UTC for h in history)
    assert history[0].stage == truth["deals"][0]["Stage"]  # newest first, like Zoho


def test_bulk_read_backfill_equals_truth(module_sandbox_factory: Any, token_db: Engine, resource_dir: Path) -> None:
    server = module_sandbox_factory(deals=60_000, seed=5, bulk_delay_seconds=0.1, bulk_page_size=25_000)
    service = make_service(server, token_db, resource_dir)
    truth = truth_deals(server)
    raws: dict[str, dict[str, Any]] = {}
    pages = 0
    for page in service.bulk_read_deals():
        pages += 1
        assert page.rejected == []
        assert page.frame is not None  # decoded into Arrow columns
        assert not page.records
        for deal_id, raw_json in zip(page.frame["id"].to_pylist(), page.frame["raw"].to_pylist(), strict=True):
            raws[str(deal_id)] = json.loads(raw_json)
    assert pages == 7  # followed next_page_token across 3 result pages (25k, 25k, 10k), each in 10k-row chunks
    assert len(raws) == len(truth) == 60_000
    for deal_id, expected in truth.items():
        raw = raws[deal_id]
        for field in ("Deal_Name", "Stage", "Pipeline", "Amount", "Currency", "Region", "Country", "Modified_Time"):
            assert raw[field] == expected[field], (deal_id, field)
        assert raw["Owner"]["id"] == expected["Owner"]["id"]
        assert raw["Owner"]["name"] == expected["Owner"]["name"]


def test_get_deals_reads_by_id_in_batches_and_reports_undecodable_ones(
    service: UnifiedZohoCRMService, sandbox: SandboxServer
) -> None:
    truth = truth_deals(sandbox)
    wanted = sorted(truth)[:230]
    gone = max(int(deal_id) for deal_id in truth) + 1  # no such deal: simply absent
    sandbox.control.add_faults({"kind": "bad_record", "path": "/crm/v8/Deals", "count": 1})
    page = service.get_deals([*map(int, wanted), gone])
    assert page.cursor is None
    [bad] = page.rejected  # the fault spoils the first record of the first call
    assert bad.zoho_id == wanted[0]
    assert "Closing_Date" in bad.reason
    assert {str(r.id) for r in page.records} == set(wanted[1:])
    for record in page.records:
        assert record.raw == truth[str(record.id)]  # every field, the batches beyond 50 fields merged
    assert service.counters.pages == 3  # 100 + 100 + 31 ids


def test_the_service_is_a_zoho_port(service: UnifiedZohoCRMService) -> None:
    from pipeline_pulse.services.zoho.port import ZohoPort
    from tests.fakes.zoho import InMemoryZoho

    assert isinstance(service, ZohoPort)
    assert isinstance(InMemoryZoho(), ZohoPort)
    members = {name for name in dir(ZohoPort) if not name.startswith("_")} - {"counters"}
    assert members <= {name for name in dir(InMemoryZoho) if not name.startswith("_")}


def test_bulk_result_is_copied_to_disk_in_blocks_never_held_whole(
    module_sandbox_factory: Any, token_db: Engine, resource_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result zip's download stays on the wire until it is copied to the spool file block by block:
    requests is asked to stream it and never joins the body into one bytes object; other calls are untouched."""
    server = module_sandbox_factory(deals=3_000, seed=5, bulk_delay_seconds=0.1, bulk_page_size=1_000)
    service = make_service(server, token_db, resource_dir)
    seen: list[tuple[str, bool, requests.Response]] = []
    plain_get = requests.get

    def recording_get(*args: Any, **kwargs: Any) -> requests.Response:
        response = plain_get(*args, **kwargs)
        seen.append((str(kwargs.get("url", args[0] if args else "")), bool(kwargs.get("stream")), response))
        return response

    monkeypatch.setattr(requests, "get", recording_get)
    rows = sum(page.frame.num_rows for page in service.bulk_read_deals() if page.frame is not None)
    assert rows == 3_000
    downloads = [(stream, response) for url, stream, response in seen if url.endswith("/result")]
    assert len(downloads) == 3 + 3  # the lookup modules' results, then the 3 result pages of deals
    for stream, response in downloads:
        assert stream
        assert response._content is False  # requests never read the body whole (iter_content streamed it)
    assert not any(stream for url, stream, _ in seen if not url.endswith("/result"))
