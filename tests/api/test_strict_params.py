"""Strict parameters: unknown names, repeated values, closed sets and malformed values are 422s that name the
parameter, the same for admins and regional tokens, and never reach the database."""

from __future__ import annotations

import pytest

from tests.fixtures.api import ApiClient

V1 = "/api/v1"
ADMIN = {"regions": [], "role": "admin"}
APAC = {"regions": ["APAC"]}
CALLERS = [ADMIN, APAC]
KNOWN_REGIONS = "APAC, Americas, EMEA, India, Unassigned"


def _error(response: object) -> str:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"]["code"] == "validation_error"
    return body["error"]["message"]


def test_unknown_and_repeated_parameters(reference_api: ApiClient) -> None:
    for caller in CALLERS:
        message = _error(reference_api.get(f"{V1}/metrics/summary", params={"closing_form": "2026-01-01"}, **caller))
        assert message.startswith("unknown query parameter 'closing_form'; did you mean 'closing_from'?"), message
        message = _error(reference_api.get(f"{V1}/deals", params={"sort_by": "id"}, **caller))
        assert "'sort_by'" in message
        assert "did you mean 'sort'" in message
        assert "page_size" in message
        message = _error(reference_api.get(f"{V1}/regions", params={"zzz": "1"}, **caller))
        assert message == "unknown query parameter 'zzz' (known: region)"
        twice = reference_api.get(f"{V1}/metrics/by-stage?region=APAC&region=EMEA", **caller)
        assert _error(twice) == "region: given 2 times; it takes one value"
    # Authentication first: without a token the answer is 401 whatever the parameters.
    assert reference_api.client.get(f"{V1}/metrics/summary", params={"closing_form": "x"}).status_code == 401
    assert reference_api.client.get("/health", params={"anything": "1"}).status_code == 200


def test_unknown_region_is_422_before_the_scope_check(reference_api: ApiClient) -> None:
    expected = f"region: unknown region 'Mars'; known: {KNOWN_REGIONS}"
    for caller in CALLERS:
        for path in ("/metrics/summary", "/deals", "/regions", "/metrics/by-region"):
            assert _error(reference_api.get(f"{V1}{path}", params={"region": "Mars"}, **caller)) == expected
    # A known region outside the token's scope is still a 403, an in-scope one narrows.
    outside = reference_api.get(f"{V1}/metrics/summary", params={"region": "EMEA"}, **APAC)
    assert outside.status_code == 403
    assert reference_api.get(f"{V1}/metrics/summary", params={"region": "EMEA"}, **ADMIN).status_code == 200


def test_unknown_pipeline_and_stage(reference_api: ApiClient) -> None:
    for caller in CALLERS:
        message = _error(reference_api.get(f"{V1}/metrics/by-stage", params={"pipeline": "Nope"}, **caller))
        assert message == "pipeline: unknown pipeline 'Nope'; known: Standard"
        message = _error(reference_api.get(f"{V1}/metrics/funnel", params={"pipeline": "Nope"}, **caller))
        assert message.startswith("pipeline: unknown pipeline 'Nope'")
        assert _error(reference_api.get(f"{V1}/stages", params={"pipeline": "Nope"}, **caller)).startswith("pipeline:")
        message = _error(reference_api.get(f"{V1}/deals", params={"stage": "Qualifcation"}, **caller))
        assert message == (
            "stage: unknown stage 'Qualifcation'; known: Closed Lost, Closed Won, Negotiation, Proposal, Qualification"
        )
        message = _error(
            reference_api.get(f"{V1}/metrics/summary", params={"pipeline": "Standard", "stage": "Won"}, **caller)
        )
        assert message.startswith("stage: unknown stage 'Won' in pipeline 'Standard'; known: Closed Lost")
    ok = reference_api.get(f"{V1}/deals", params={"pipeline": "Standard", "stage": "Proposal"}, **ADMIN)
    assert [item["id"] for item in ok.json()["items"]] == ["2"]
    assert _error(reference_api.get(f"{V1}/metrics/funnel", **ADMIN)).startswith("pipeline: Field required")


@pytest.mark.parametrize("name", ["stage", "pipeline", "region"])
@pytest.mark.parametrize("value", ["Qual\x00ification", "a\nb", "\x1b[31m", "x\x85", ""])
def test_control_characters_and_empty_text_are_422(reference_api: ApiClient, name: str, value: str) -> None:
    for caller in CALLERS:
        message = _error(reference_api.get(f"{V1}/metrics/by-stage", params={name: value}, **caller))
        assert message.startswith(f"{name}: "), message


DATE_CASES = [
    ("closing_to", "0", "must be a date written YYYY-MM-DD"),
    ("closing_from", "2026-1-5", "must be a date written YYYY-MM-DD"),
    ("closing_from", "20260105", "must be a date written YYYY-MM-DD"),
    ("closing_from", "2026-01-05T00:00:00", "must be a date written YYYY-MM-DD"),
    ("closing_from", "１２３４-01-01", "must be a date written YYYY-MM-DD"),
    ("closing_to", "2026-02-30", "is not a calendar date (YYYY-MM-DD)"),
    ("closing_to", "9999-12-31", "must be between 1900-01-01 and 2999-12-31"),
    ("as_of", "0001-01-01", "must be between 1900-01-01 and 2999-12-31"),
]


@pytest.mark.parametrize(("name", "value", "reason"), DATE_CASES)
def test_dates_are_yyyy_mm_dd_within_bounds(reference_api: ApiClient, name: str, value: str, reason: str) -> None:
    assert _error(reference_api.get(f"{V1}/metrics/summary", params={name: value}, **ADMIN)) == f"{name}: {reason}"


def test_date_edges_on_every_dated_endpoint(reference_api: ApiClient) -> None:
    cases = [
        ("/metrics/trend", {"from": "9999-12-31", "to": "9999-12-31"}, "from: must be between"),
        ("/metrics/funnel", {"pipeline": "Standard", "to": "9999-12-31"}, "to: must be between"),
        ("/metrics/movement", {"from": "2026-01-31", "to": "0"}, "to: must be a date"),
    ]
    for path, params, start in cases:
        assert _error(reference_api.get(f"{V1}{path}", params=params, **ADMIN)).startswith(start)
    # An inverted range is a 400 naming both ends, on every endpoint that takes one.
    inverted = [
        ("/metrics/trend", {"from": "2026-03-01", "to": "2026-02-01"}, "from must not be after to"),
        ("/metrics/movement", {"from": "2026-03-01", "to": "2026-02-01"}, "from must not be after to"),
        (
            "/metrics/funnel",
            {"pipeline": "Standard", "from": "2026-03-01", "to": "2026-02-01"},
            "from must not be after to",
        ),
        (
            "/deals",
            {"closing_from": "2026-03-01", "closing_to": "2026-02-01"},
            "closing_from must not be after closing_to",
        ),
    ]
    for path, params, message in inverted:
        response = reference_api.get(f"{V1}{path}", params=params, **ADMIN)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == {"code": "bad_request", "message": message}
    # Bad values and an inverted range together: the bad value is reported (422).
    both = reference_api.get(
        f"{V1}/deals", params={"closing_from": "2026-03-01", "closing_to": "2026-02-01", "sort": "x"}, **ADMIN
    )
    assert both.status_code == 422
    edge = reference_api.get(f"{V1}/metrics/summary", params={"as_of": "1900-01-01", "stale_after_days": 3650}, **ADMIN)
    assert edge.status_code == 200
    last = reference_api.get(f"{V1}/metrics/trend", params={"from": "2999-12-01", "to": "2999-12-31"}, **ADMIN)
    assert last.status_code == 200


def test_integers_and_literals_are_checked(reference_api: ApiClient) -> None:
    assert _error(reference_api.get(f"{V1}/deals", params={"page_size": "500"}, **ADMIN)).startswith("page_size:")
    assert _error(reference_api.get(f"{V1}/deals", params={"sort": "deal_name"}, **ADMIN)).startswith("sort:")
    assert _error(reference_api.get(f"{V1}/metrics/by-region", params={"deal_status": "x"}, **ADMIN)).startswith(
        "deal_status:"
    )
    huge = reference_api.get(f"{V1}/metrics/summary", params={"stale_after_days": "9" * 40}, **ADMIN)
    assert _error(huge).startswith("stale_after_days:")


@pytest.mark.parametrize("value", [" 1", "1 ", "+1", "1_0", "1.0", "1e1", "0x10", "", "\u0661"])
@pytest.mark.parametrize(
    ("path", "name", "others"),
    [
        ("/deals", "page_size", {}),
        ("/deals/attention", "page_size", {}),
        ("/metrics/summary", "stale_after_days", {}),
        ("/metrics/movement/deals", "page_size", {"from": "2026-03-01", "to": "2026-03-31", "component": "start"}),
    ],
)
def test_integers_are_decimal_digits_only(
    reference_api: ApiClient, path: str, name: str, others: dict[str, str], value: str
) -> None:
    # pydantic's lax int takes all of these; a query integer is digits only, for every int parameter.
    message = _error(reference_api.get(f"{V1}{path}", params={**others, name: value}, **ADMIN))
    assert message.startswith(f"{name}: "), message
    assert reference_api.get(f"{V1}{path}", params={**others, name: "10"}, **ADMIN).status_code == 200
