"""Ids a browser can hold (JSON strings, accepted as strings) and the OpenAPI contract that says so."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, insert

from api.main import API_PREFIX
from api.scalars import ID_PATTERN
from pipeline_pulse.models import CrmUser, Deal, DealStageHistory
from tests.fixtures.api import ApiClient, deal_row

V1 = API_PREFIX
ADMIN = {"regions": [], "role": "admin"}
BIG_DEAL = 4876876000100012985  # what a JS Number turns into 4876876000100013056
NEIGHBOUR = 4876876000100013056
BIG_OWNER = 4876876000000224001
BIG_HISTORY = 4876876000000999001
JS_SAFE = 2**53


def _seed_big_ids(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(CrmUser), [{"id": BIG_OWNER, "full_name": "Dana", "region": "APAC", "is_active": True}])
        conn.execute(
            insert(Deal),
            [
                deal_row(BIG_DEAL, owner_id=BIG_OWNER, amount_home="123.00", closing_date=date(2026, 3, 9)),
                deal_row(NEIGHBOUR, owner_id=BIG_OWNER, amount_home="7.00", closing_date=date(2026, 3, 9)),
            ],
        )
        conn.execute(
            insert(DealStageHistory),
            [
                {
                    "id": BIG_HISTORY,
                    "deal_id": BIG_DEAL,
                    "stage": "Qualification",
                    "entered_at": datetime(2026, 2, 1, tzinfo=UTC),
                }
            ],
        )
        from pipeline_pulse.warehouse.metrics_mart import refresh_pipeline_metrics

        refresh_pipeline_metrics(conn)


def _integers(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [number for item in value.values() for number in _integers(item)]
    if isinstance(value, list):
        return [number for item in value for number in _integers(item)]
    return []


def test_ids_are_strings_everywhere_and_round_trip(seeded_api: ApiClient, sync_engine: Engine) -> None:
    _seed_big_ids(sync_engine)
    page = seeded_api.get(f"{V1}/deals", params={"owner_id": str(BIG_OWNER), "sort": "-amount_home"}, **ADMIN)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [(item["id"], item["owner_id"]) for item in items] == [
        (str(BIG_DEAL), str(BIG_OWNER)),
        (str(NEIGHBOUR), str(BIG_OWNER)),
    ]
    # A browser keeps the string it was given; asking for it returns that deal, not its float neighbour.
    detail = seeded_api.get(f"{V1}/deals/{items[0]['id']}", **ADMIN).json()
    assert (detail["id"], detail["amount_home"]) == (str(BIG_DEAL), "123.00")
    assert [entry["id"] for entry in detail["stage_history"]] == [str(BIG_HISTORY)]
    assert float(BIG_DEAL) == float(NEIGHBOUR)  # why numbers were not enough
    owners = seeded_api.get(f"{V1}/metrics/by-owner", params={"owner_id": str(BIG_OWNER)}, **ADMIN).json()
    assert [(item["owner_id"], item["owner_name"]) for item in owners["items"]] == [(str(BIG_OWNER), "Dana")]

    # No answer of any endpoint holds an integer a browser cannot represent.
    answers = [
        seeded_api.get(f"{V1}{path}", params=params, **ADMIN)
        for path, params in [
            ("/deals", {"page_size": 200}),
            (f"/deals/{BIG_DEAL}", {}),
            ("/metrics/summary", {}),
            ("/metrics/by-stage", {"deal_status": "all"}),
            ("/metrics/by-region", {}),
            ("/metrics/by-owner", {"deal_status": "all"}),
            ("/metrics/trend", {"from": "2026-01-01", "to": "2026-03-31"}),
            ("/metrics/funnel", {"pipeline": "Standard"}),
            ("/metrics/movement", {"from": "2026-01-31", "to": "2026-02-28"}),
            ("/regions", {}),
            ("/stages", {}),
            ("/sync/status", {}),
        ]
    ]
    for answer in answers:
        assert answer.status_code == 200, (answer.url, answer.text)
        assert all(abs(number) <= JS_SAFE for number in _integers(answer.json())), answer.url


def test_ids_in_paths_and_filters_are_validated_strings(seeded_api: ApiClient) -> None:
    for bad in ("9223372036854775808", "0", "-1", "01", "1e3", "12a", " 1"):
        response = seeded_api.get(f"{V1}/deals/{bad}", **ADMIN)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["message"].startswith("deal_id: must be a Zoho id"), response.text
        owner = seeded_api.get(f"{V1}/metrics/summary", params={"owner_id": bad}, **ADMIN)
        assert owner.status_code == 422, (bad, owner.text)
        assert owner.json()["error"]["message"].startswith("owner_id: must be a Zoho id"), owner.text
    largest = seeded_api.get(f"{V1}/deals/9223372036854775807", **ADMIN)
    assert largest.status_code == 404


def test_openapi_ids_are_strings_and_every_v1_operation_uses_bearer(seeded_api: ApiClient) -> None:
    document = seeded_api.client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if path.startswith(V1)
    ]
    assert len(operations) >= 12
    for path, method, operation in operations:
        assert operation.get("security") == [{"bearerAuth": []}], (path, method)
    for path in ("/health", "/ready"):
        assert "security" not in document["paths"][path]["get"]

    schemas = document["components"]["schemas"]
    id_fields = [
        ("DealOut", "id"),
        ("DealOut", "owner_id"),
        ("DealDetail", "id"),
        ("OwnerGroup", "owner_id"),
        ("StageHistoryOut", "id"),
    ]
    for model, field in id_fields:
        schema = schemas[model]["properties"][field]
        variants = schema.get("anyOf", [schema])
        string = next(variant for variant in variants if variant.get("type") == "string")
        assert string["pattern"], (model, field)
        assert string["examples"], (model, field)
        assert not any(variant.get("type") == "integer" for variant in variants), (model, field)
    deal_id = document["paths"][f"{V1}/deals/{{deal_id}}"]["get"]["parameters"][0]
    assert (deal_id["name"], deal_id["schema"]["type"], deal_id["schema"]["pattern"]) == (
        "deal_id",
        "string",
        ID_PATTERN,
    )
    # Nothing in the document advertises a 64-bit integer anywhere.
    assert '"format": "int64"' not in json.dumps(document)
