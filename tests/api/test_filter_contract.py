"""One filter model, one compiler, one cache-key derivation: structural guarantees, checked without a server."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql
from starlette.requests import Request

from api import params as endpoint_params
from api.filters import DealFilters, QueryParams
from api.queries.conditions import DEALS, MART, SNAPSHOTS, where
from api.response_cache import response_key
from api.scope import RegionScope

# Two different valid values per parameter name (the first is a valid base for required fields).
SAMPLES: dict[str, tuple[Any, Any]] = {
    "owner_id": ("100", "200"),
    "pipeline": ("Standard", "Enterprise"),
    "stage": ("Proposal", "Negotiation"),
    "closing_from": ("2026-01-01", "2026-01-02"),
    "closing_to": ("2026-12-31", "2026-12-30"),
    "from": ("2026-01-01", "2026-01-02"),
    "to": ("2026-02-01", "2026-02-02"),
    "as_of": ("2026-03-01", "2026-03-02"),
    "stale_after_days": (30, 31),
    "deal_status": ("open", "won"),
    "interval": ("month", "day"),
    "sort": ("id", "-id"),
    "page_size": (10, 20),
    "cursor": (None, "WyJpZCIsMCxudWxsLCI1Il0"),  # after id 5, sort=id
    "format": (None, "json"),
    "period": ("2026-Q1", "2026-02"),
    "group_by": ("none", "region"),
    "component": ("won", "lost"),
    "health": ("any", "red"),
    "rule": ("no_activity", "stage_sla"),
}
# Where a model's parameter takes other values than SAMPLES'.
MODEL_SAMPLES: dict[str, dict[str, tuple[Any, Any]]] = {
    "AttentionParams": {
        "sort": ("-amount_at_risk", "amount_at_risk"),
        "cursor": (None, "WyItYW1vdW50X2F0X3Jpc2siLDAsIjUuMDAiLCI1Il0"),
    },  # after 5.00, id 5
}


def _models() -> list[type[QueryParams]]:
    found = [DealFilters]
    for value in vars(endpoint_params).values():
        if isinstance(value, type) and issubclass(value, QueryParams) and not value.__name__.startswith("_"):
            found.append(value)
    return found


def _request(path: str = "/api/v1/anything") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""})


@pytest.mark.parametrize("model", _models(), ids=lambda model: model.__name__)
def test_every_parameter_is_part_of_the_cache_key(model: type[QueryParams]) -> None:
    aliases = {field.alias or name: name for name, field in model.model_fields.items()}
    samples = {**SAMPLES, **MODEL_SAMPLES.get(model.__name__, {})}
    assert set(aliases) <= set(samples), f"add sample values for {set(aliases) - set(samples)}"
    base = {alias: samples[alias][0] for alias in aliases}
    scope = RegionScope(frozenset({"APAC"}))
    reference = response_key(_request(), scope, model.model_validate(base))
    for alias in aliases:
        changed = model.model_validate({**base, alias: samples[alias][1]})
        assert response_key(_request(), scope, changed) != reference, alias
    assert response_key(_request(), RegionScope(None), model.model_validate(base)) != reference
    assert response_key(_request("/api/v1/other"), scope, model.model_validate(base)) != reference
    assert response_key(_request(), scope, model.model_validate(base)) == reference


def _sql(clause: Any) -> str:
    return str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def test_one_compiler_renders_every_table_alike() -> None:
    filters = DealFilters.model_validate(
        {"owner_id": "7", "pipeline": "Standard", "stage": "Proposal", "closing_from": "2026-01-01"}
    )
    scope = RegionScope(frozenset({"EMEA", "APAC"}))
    deals = _sql(where(DEALS, scope, filters, "open"))
    snapshots = _sql(where(SNAPSHOTS, scope, filters, "open"))
    assert deals == (
        "deals.deleted_at IS NULL AND deals.region IN ('APAC', 'EMEA') AND deals.closing_date >= '2026-01-01' "
        "AND deals.owner_id = 7 AND deals.pipeline = 'Standard' AND deals.stage = 'Proposal' "
        "AND deals.deal_status = 'open'"
    )
    assert snapshots == deals.replace("deals.deleted_at IS NULL AND ", "").replace("deals.", "deal_snapshots.")
    mart = _sql(where(MART, RegionScope(None), filters.model_copy(update={"closing_from": date(2026, 2, 1)})))
    assert "pipeline_metrics.closing_month >= '2026-02-01'" in mart
    assert "region" not in mart  # all regions: no region condition at all
    with pytest.raises(ValueError, match="partial-month"):
        where(MART, scope, filters.model_copy(update={"closing_from": date(2026, 2, 2)}))
    assert _sql(where(DEALS, scope, DealFilters(), "all")) == (
        "deals.deleted_at IS NULL AND deals.region IN ('APAC', 'EMEA')"
    )


def test_every_deal_endpoint_takes_the_same_filters(reference_api: Any) -> None:
    document = reference_api.client.get("/openapi.json").json()
    filters = {"region", *(field.alias or name for name, field in DealFilters.model_fields.items())}
    paths = [
        "/metrics/summary",
        "/metrics/by-stage",
        "/metrics/by-region",
        "/metrics/by-owner",
        "/metrics/trend",
        "/metrics/movement",
        "/deals",
    ]
    for path in paths:
        names = {p["name"] for p in document["paths"][f"/api/v1{path}"]["get"]["parameters"]}
        assert filters <= names, (path, filters - names)
