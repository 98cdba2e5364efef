"""The unmodified official SDK (zohocrmsdk8-0) against the sandbox over real HTTP on 127.0.0.1.

One SDK initialisation per module (Initializer is process-wide). Every HTTP exchange is recorded; the last
tests validate every JSON response against Zoho's OAS files and check that no socket left 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.bulk_read import ActionWrapper as BulkActionWrapper
from zohocrmsdk.src.com.zoho.crm.api.bulk_read import BodyWrapper, BulkReadOperations, Criteria, FileBodyWrapper, Query
from zohocrmsdk.src.com.zoho.crm.api.bulk_read import ResponseWrapper as BulkResponseWrapper
from zohocrmsdk.src.com.zoho.crm.api.currencies import CurrenciesOperations
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam, MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.pipeline import PipelineOperations
from zohocrmsdk.src.com.zoho.crm.api.record import (
    APIException,
    DeletedRecordsWrapper,
    GetDeletedRecordsParam,
    GetRecordsHeader,
    GetRecordsParam,
    RecordOperations,
    ResponseWrapper,
)
from zohocrmsdk.src.com.zoho.crm.api.related_records import RelatedRecordsOperations
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from tests.fixtures.sandbox import init_sdk
from tests.zoho_sandbox.oas import validate_any
from tests.zoho_sandbox.recorder import Recorder
from zoho_sandbox import SandboxConfig, SandboxServer
from zoho_sandbox.reference import LAYOUT_ID

DEALS = 5200
FIELDS = "Deal_Name,Stage,Amount,Currency,Owner,Modified_Time,Region"


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    rec = Recorder().install()
    yield rec
    rec.uninstall()


@pytest.fixture(scope="module")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sdk")


@pytest.fixture(scope="module")
def server(recorder: Recorder) -> Iterator[SandboxServer]:
    srv = SandboxServer(SandboxConfig(deals=DEALS, seed=7, bulk_delay_seconds=0.3))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _sdk_on_this_server(server: SandboxServer, sdk_dir: Path) -> None:
    # The SDK's Initializer is process-global: a test of another module that ran on this worker in between
    # may have pointed it at its own sandbox, so every test here points it back (tokens persist in sdk_dir).
    init_sdk(server, sdk_dir)


def _params(**kwargs: Any) -> ParameterMap:
    pm = ParameterMap()
    for key, value in kwargs.items():
        pm.add(getattr(GetRecordsParam, key), value)
    return pm


def _get(params: ParameterMap, headers: HeaderMap | None = None) -> Any:
    return RecordOperations("Deals").get_records(params, headers or HeaderMap())


def _read_all(server: SandboxServer | None = None, expire_before: frozenset[int] = frozenset()) -> list[Any]:
    """Page 1..10 with `page`, then `page_token`, as a client must beyond 2,000 records. Before each request
    whose number is in `expire_before` the access token expires on both sides (the sandbox's and the SDK's
    stored expiry), so the SDK must refresh there: a refresh at a chosen point, not at wall-clock luck."""
    records: list[Any] = []
    page, token = 1, None
    request = 0
    while True:
        request += 1
        if request in expire_before:
            assert server is not None
            _expire_token_everywhere(server)
        if token is None:
            response = _get(_params(fields=FIELDS, per_page=200, page=page))
        else:
            response = _get(_params(fields=FIELDS, per_page=200, page_token=token))
        assert response.get_status_code() == 200
        wrapper = response.get_object()
        assert isinstance(wrapper, ResponseWrapper), wrapper
        records.extend(wrapper.get_data())
        info = wrapper.get_info()
        if not info.get_more_records():
            return records
        if page < 10 and token is None:
            page += 1
        else:
            token = info.get_next_page_token()


def test_reads_all_deals_with_page_then_page_token_across_token_refreshes(server: SandboxServer) -> None:
    issued_before = server.control.stats(with_log=False)["tokens_issued"]
    records = _read_all(server, expire_before=frozenset({4, 12, 20}))  # a page, the seam, a page_token read
    truth_ids = {int(d["id"]) for d in server.control.truth()["deals"]}
    assert len(records) == DEALS
    assert {r.get_id() for r in records} == truth_ids
    first = records[0]
    assert isinstance(first.get_key_value("Stage"), Choice)
    assert isinstance(first.get_key_value("Modified_Time"), datetime)
    paths = [e["query"] for e in server.control.stats()["requests"] if e["path"] == "/crm/v8/Deals"]
    assert any("page_token=" in q for q in paths)
    assert any("page=10" in q for q in paths)
    # Each expiry was followed by exactly one refresh, and the read went on where it was.
    assert server.control.stats(with_log=False)["tokens_issued"] == issued_before + 3


def test_token_expiry_during_a_run_is_refreshed(server: SandboxServer) -> None:
    issued = server.control.stats(with_log=False)["tokens_issued"]
    _expire_token_everywhere(server)
    response = _get(_params(fields=FIELDS, per_page=5))
    assert response.get_status_code() == 200
    assert server.control.stats(with_log=False)["tokens_issued"] == issued + 1


def test_if_modified_since_returns_exactly_the_changed_deals_and_304_when_none(server: SandboxServer) -> None:
    since = datetime.fromisoformat(server.control.ready()["clock"])
    time.sleep(0.01)
    server.control.advance_clock(2)
    touched = server.control.mutate(modify=7, create=3, same_second=True)
    headers = HeaderMap()
    headers.add(GetRecordsHeader.if_modified_since, since)
    response = _get(_params(fields=FIELDS, per_page=200, sort_by="Modified_Time"), headers)
    assert response.get_status_code() == 200
    got = {r.get_id() for r in response.get_object().get_data()}
    assert got == {int(i) for i in touched["modified"] + touched["created"]}

    server.control.advance_clock(5)
    later = datetime.fromisoformat(server.control.ready()["clock"])
    drift = server.control.mutate(formula_drift=4)  # formula change: Modified_Time untouched
    assert len(drift["formula_drift"]) == 4
    headers = HeaderMap()
    headers.add(GetRecordsHeader.if_modified_since, later)
    response = _get(_params(fields=FIELDS, per_page=200), headers)
    assert response.get_status_code() == 304
    assert response.get_object() is None


def test_deletions_show_up_in_deleted_and_vanish_from_lists(server: SandboxServer) -> None:
    gone = {int(i) for i in server.control.mutate(delete=4)["deleted"]}
    pm = ParameterMap()
    pm.add(GetDeletedRecordsParam.type, "all")
    response = RecordOperations("Deals").get_deleted_records(pm, HeaderMap())
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, DeletedRecordsWrapper)
    listed = {d.get_id(): d for d in wrapper.get_data()}
    assert gone <= set(listed)
    assert all(listed[i].get_type() == "recycle" for i in gone)
    remaining = {r.get_id() for r in _read_all()}
    assert not gone & remaining


def test_users_current_and_all(server: SandboxServer) -> None:
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "AllUsers")
    response = UsersOperations().get_users(pm, HeaderMap())
    users = response.get_object().get_users()
    assert len(users) == 20
    assert {u.get_email() for u in users} >= {"amelia.tan@example.com", "priya.sharma@example.com"}
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "CurrentUser")
    current = UsersOperations().get_users(pm, HeaderMap()).get_object().get_users()
    assert [u.get_email() for u in current] == ["amelia.tan@example.com"]


def test_currencies_have_sgd_home_and_rates(server: SandboxServer) -> None:
    currencies = CurrenciesOperations().get_currencies().get_object().get_currencies()
    by_iso = {c.get_iso_code(): c for c in currencies}
    assert by_iso["SGD"].get_is_base() is True
    assert {"USD", "EUR", "INR", "MYR", "AUD"} <= set(by_iso)
    assert float(by_iso["USD"].get_exchange_rate()) == pytest.approx(0.74)


def test_stage_metadata_and_pipelines(server: SandboxServer) -> None:
    pm = ParameterMap()
    pm.add(GetFieldsParam.module, "Deals")
    fields = {f.get_api_name(): f for f in FieldsOperations().get_fields(pm).get_object().get_fields()}
    assert {"Region", "Country", "Solution_Type", "Stage", "Pipeline"} <= set(fields)
    stages = {v.get_display_value(): v for v in fields["Stage"].get_pick_list_values()}
    assert stages["Closed Won"].get_probability() == 100
    assert stages["Closed Won"].get_forecast_type() == "Closed Won"
    assert stages["Closed Lost"].get_forecast_type() == "Closed Lost"
    assert stages["Negotiation/Review"].get_forecast_category().get_name() == "Committed"
    assert "Legacy Evaluation" not in stages  # removed from the picklist, still on some deals
    pipelines = PipelineOperations(LAYOUT_ID).get_pipelines().get_object().get_pipeline()
    names = {p.get_display_value(): p for p in pipelines}
    assert {"Standard (Standard)", "Enterprise", "Channel Partner", "Renewals"} == set(names)
    assert [m.get_display_value() for m in names["Renewals"].get_maps()][-1] == "Closed Lost"


def test_stage_history_ends_at_the_current_stage(server: SandboxServer) -> None:
    moved = server.control.mutate(modify=12)["modified"]
    truth = {d["id"]: d for d in server.control.truth()["deals"]}
    for deal_id in [*moved[:4], next(iter(truth))]:
        response = RelatedRecordsOperations("Stage_History", "Deals").get_related_records(
            int(deal_id), ParameterMap(), HeaderMap()
        )
        assert response.get_status_code() == 200, deal_id
        entries = response.get_object().get_data()
        newest = entries[0]
        stage = newest.get_key_value("Stage")
        stage_name = stage.get_value() if isinstance(stage, Choice) else stage
        assert stage_name == truth[deal_id]["Stage"]
        times = [e.get_key_value("Modified_Time") for e in entries]
        assert times == sorted(times, reverse=True)


def test_bulk_read_job_downloaded_and_parsed(server: SandboxServer) -> None:
    since = "2024-01-01T00:00:00+00:00"
    criteria = Criteria()
    field = MinifiedField()
    field.set_api_name("Modified_Time")
    criteria.set_field(field)
    criteria.set_comparator(Choice("greater_than"))
    criteria.set_value(since)
    query = Query()
    module = MinifiedModule()
    module.set_api_name("Deals")
    query.set_module(module)
    query.set_fields(["Deal_Name", "Stage", "Amount", "Modified_Time", "Owner"])
    query.set_criteria(criteria)
    body = BodyWrapper()
    body.set_query(query)
    body.set_file_type("csv")
    ops = BulkReadOperations()
    created = ops.create_bulk_read_job(body)
    assert created.get_status_code() == 201
    action = created.get_object()
    assert isinstance(action, BulkActionWrapper)
    job_id = action.get_data()[0].get_details()["id"]
    state = None
    for _ in range(50):
        detail = ops.get_bulk_read_job_details(int(job_id)).get_object()
        assert isinstance(detail, BulkResponseWrapper)
        job = detail.get_data()[0]
        state = job.get_state().get_value()
        if state == "COMPLETED":
            break
        time.sleep(0.1)
    assert state == "COMPLETED"
    result = ops.download_result(int(job_id)).get_object()
    assert isinstance(result, FileBodyWrapper)
    raw = result.get_file().get_stream()
    data = raw if isinstance(raw, bytes) else b"".join(raw)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (name,) = zf.namelist()
        rows = list(csv.DictReader(io.StringIO(zf.read(name).decode())))
    truth = [d for d in server.control.truth()["deals"] if d["Modified_Time"] > since]
    assert name == f"{job_id}.csv"
    assert len(rows) == len(truth) == job.get_result().get_count()
    assert {r["id"] for r in rows} == {d["id"] for d in truth}


def test_revoked_token_gives_401_invalid_token(server: SandboxServer) -> None:
    server.control.add_faults({"kind": "revoke_token", "path": "/crm/v8/Deals", "count": 1})
    try:
        response = _get(_params(fields=FIELDS, per_page=3))
    finally:
        server.control.clear_faults()
        # The SDK keeps the dead token until its stored expiry passes: whichever test of this module runs next
        # on this worker (xdist decides) must find a token the SDK refreshes, not a 401.
        _expire_stored_token(server)
    assert response.get_status_code() == 401
    error = response.get_object()
    assert isinstance(error, APIException)
    assert error.get_code().get_value() == "INVALID_TOKEN"


def test_bad_record_loses_the_whole_page_in_the_sdk(server: SandboxServer) -> None:
    server.control.add_faults({"kind": "bad_record", "path": "/crm/v8/Deals", "count": 1})
    _expire_stored_token(server)
    response = _get(_params(fields=FIELDS + ",Closing_Date", per_page=10))
    assert response.get_status_code() == 200
    assert response.get_object() is None  # the SDK cannot parse "Closing_Date": "" and drops the page


def _expire_stored_token(server: SandboxServer) -> None:
    """After revoke_token the SDK keeps its dead token; expiring the stored row makes it refresh."""
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

    init = Initializer.get_initializer()
    token = init.token
    token.set_expires_in(str(int(time.time() * 1000) - 1))
    init.store.save_token(token)


def _expire_token_everywhere(server: SandboxServer) -> None:
    """The access token is dead in the sandbox and its stored expiry has passed, as after an hour's run."""
    server.control.expire_tokens()
    _expire_stored_token(server)


def test_every_json_response_matches_zoho_oas(server: SandboxServer, recorder: Recorder) -> None:
    # Under pytest-xdist this module's tests may be spread over workers, each with its own recorder: make sure
    # this worker's recorder has seen every endpoint the checks below require.
    _read_all()
    test_users_current_and_all(server)
    test_currencies_have_sgd_home_and_rates(server)
    test_stage_metadata_and_pipelines(server)
    test_stage_history_ends_at_the_current_stage(server)
    test_bulk_read_job_downloaded_and_parsed(server)
    checked: dict[str, int] = {}
    for exchange, body in recorder.json_exchanges():
        label = validate_any(exchange.method, exchange.path, exchange.status, body)
        checked[label] = checked.get(label, 0) + 1
    assert checked.get("record.json /crm/v8/{module_api_name}", 0) > 25
    for must in ("users.json", "org.json", "fields.json", "currencies.json", "pipeline.json", "bulk_read.json"):
        assert any(label.startswith(must) for label in checked), (must, checked)
    assert any(label.startswith("related_records.json") for label in checked)


def test_no_request_left_localhost(server: SandboxServer, recorder: Recorder) -> None:
    test_users_current_and_all(server)  # this test may be the only one of the module on its xdist worker
    hosts = {addr[0] if isinstance(addr, tuple) else addr for addr in recorder.addresses}
    assert hosts, "the recorder saw no connections"
    assert hosts == {"127.0.0.1"}, hosts
    assert recorder.exchanges
