"""Zoho CRM v8 API endpoints: records, deleted, count, stage history, users, org, settings, bulk read."""

from __future__ import annotations

import json
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from . import metadata
from . import reference as ref
from .bulk import BulkError
from .clock import iso, parse_iso
from .errors import error_response, json_bytes
from .fields_sql import DEAL_FIELD_SQL, SORT_COLUMNS
from .state import SandboxState
from .store import PageQuery

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_IDS = 100  # GET /{module}?ids=...: Zoho reads at most 100 records by id per call
DISCRETE_LIMIT = 2000
KNOWN_EMPTY_MODULES = {"Accounts", "Contacts", "Campaigns", "Leads"}


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def json_response(request: Request, body: bytes, status: int = 200) -> Response:
    if request.scope.get("sandbox.fault") == "truncated_json":
        body = body[: max(1, len(body) // 2)]
    return Response(body, status_code=status, media_type="application/json")


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise _BadParamError(name) from exc


class _BadParamError(Exception):
    def __init__(self, param: str, message: str = "invalid data", code: str = "INVALID_DATA") -> None:
        super().__init__(param)
        self.param, self.message, self.code = param, message, code

    def response(self) -> Response:
        return error_response(400, self.code, self.message, {"param": self.param})


def _modified_since(request: Request) -> float | None:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise _BadParamError("If-Modified-Since", "invalid If-Modified-Since header") from exc


def _module_check(module: str) -> Response | None:
    if module == "Deals":
        return None
    if module in KNOWN_EMPTY_MODULES:
        return Response(status_code=204)
    return error_response(
        400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 0}
    )


async def get_records(request: Request) -> Response:
    module = request.path_params["module"]
    if (bad := _module_check(module)) is not None:
        return bad
    st = _state(request)
    try:
        raw_fields = request.query_params.get("fields")
        if not raw_fields:
            raise _BadParamError("fields", "One of the expected parameter is missing", "REQUIRED_PARAM_MISSING")
        fields = [f.strip() for f in raw_fields.split(",") if f.strip()]
        if len(fields) > MAX_FIELDS:
            raise _BadParamError("fields", f"maximum of {MAX_FIELDS} fields can be requested", "LIMIT_EXCEEDED")
        for name in fields:
            if name != "id" and name not in DEAL_FIELD_SQL:
                return error_response(400, "INVALID_DATA", "invalid field name", {"api_name": name})
        per_page = _int_param(request, "per_page", MAX_PER_PAGE)
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise _BadParamError("per_page", f"per_page must be between 1 and {MAX_PER_PAGE}")
        sort_by = request.query_params.get("sort_by", "id")
        sort_order = request.query_params.get("sort_order", "asc")
        if sort_by not in SORT_COLUMNS:
            raise _BadParamError("sort_by", "sort_by must be id, Created_Time or Modified_Time")
        if sort_order not in ("asc", "desc"):
            raise _BadParamError("sort_order")
        ids = _ids_param(request)
        since = _modified_since(request)
        page_token = request.query_params.get("page_token")
        if page_token and "page" in request.query_params:
            raise _BadParamError("page", "page and page_token cannot be used together")
        page = _int_param(request, "page", 1)
        if page < 1:
            raise _BadParamError("page")
    except _BadParamError as exc:
        return exc.response()
    if ids is not None:
        return await _records_by_ids(request, st, ids, tuple(fields))
    query = PageQuery(tuple(fields), sort_by, sort_order, since, 0, per_page, None)
    if page_token:
        tok = st.page_tokens.get(page_token)
        if tok is None:
            return error_response(400, "INVALID_DATA", "invalid page_token", {"param": "page_token"})
        if tok.expires_at <= st.clock.now():
            return error_response(400, "INVALID_DATA", "the page_token has expired", {"param": "page_token"})
        if tok.signature != query.signature():
            return error_response(
                400, "INVALID_DATA", "page_token does not belong to this query", {"param": "page_token"}
            )
        page = tok.page
        query = PageQuery(tuple(fields), sort_by, sort_order, since, 0, per_page, tok.cursor)
    else:
        if (page - 1) * per_page >= DISCRETE_LIMIT:
            return error_response(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "cannot fetch more than 2000 records with the page param. Kindly use page_token.",
                {"limit": DISCRETE_LIMIT},
            )
        query = PageQuery(tuple(fields), sort_by, sort_order, since, (page - 1) * per_page, per_page, None)

    def work() -> tuple[list[str], bool, tuple[int, int] | None, int | None]:
        records, more, cursor = st.store.page(query)
        total = st.store.count(since) if (since is not None and not records and not page_token) else None
        return records, more, cursor, total

    records, more, cursor, total_since = await to_thread.run_sync(work)
    if since is not None and total_since == 0:
        return Response(status_code=304)
    if not records:
        return Response(status_code=204)
    _apply_bad_record_fault(request, records)
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": len(records),
        "page": page,
        "sort_by": sort_by,
        "sort_order": sort_order,
        "more_records": more,
    }
    if more and cursor is not None:
        token, expires = st.page_tokens.issue(query, cursor, page + 1)
        info["next_page_token"] = token
        info["page_token_expiry"] = iso(expires)
    body = b'{"data":[' + ",".join(records).encode() + b'],"info":' + json_bytes(info) + b"}"
    return json_response(request, body)


def _ids_param(request: Request) -> list[int] | None:
    text = request.query_params.get("ids")
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and len(part) <= 19 for part in parts):
        raise _BadParamError("ids", "ids must be a comma-separated list of record ids")
    if len(parts) > MAX_IDS:
        raise _BadParamError("ids", f"maximum of {MAX_IDS} ids can be requested", "LIMIT_EXCEEDED")
    return [int(part) for part in parts]


def _apply_bad_record_fault(request: Request, records: list[str]) -> None:
    if request.scope.get("sandbox.fault") == "bad_record" and records:
        first = json.loads(records[0])
        first["Closing_Date"] = ""  # a value the SDK cannot parse: the whole page turns into object=None
        records[0] = json.dumps(first, ensure_ascii=False)


async def _records_by_ids(request: Request, st: SandboxState, ids: list[int], fields: tuple[str, ...]) -> Response:
    records = await to_thread.run_sync(st.store.records_by_ids, ids, fields)
    if not records:
        return Response(status_code=204)
    _apply_bad_record_fault(request, records)
    info = {"per_page": len(ids), "count": len(records), "page": 1, "more_records": False}
    body = b'{"data":[' + ",".join(records).encode() + b'],"info":' + json_bytes(info) + b"}"
    return json_response(request, body)


def _deal_id(request: Request) -> int | None:
    try:
        return int(request.path_params["record_id"])
    except ValueError:
        return None


async def get_record(request: Request) -> Response:
    module = request.path_params["module"]
    if (bad := _module_check(module)) is not None:
        return bad
    deal_id = _deal_id(request)
    if deal_id is None:
        return error_response(400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 1})
    record = await to_thread.run_sync(_state(request).store.record, deal_id)
    if record is None:
        return Response(status_code=204)
    return json_response(request, b'{"data":[' + record.encode() + b"]}")


async def count_records(request: Request) -> Response:
    module = request.path_params["module"]
    if module != "Deals":
        if module in KNOWN_EMPTY_MODULES:
            return json_response(request, b'{"count":0}')
        return error_response(
            400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 0}
        )
    count = await to_thread.run_sync(_state(request).store.count)
    return json_response(request, json_bytes({"count": count}))


async def deleted_records(request: Request) -> Response:
    module = request.path_params["module"]
    if (bad := _module_check(module)) is not None:
        return bad
    st = _state(request)
    try:
        kind = request.query_params.get("type", "all")
        if kind not in ("all", "recycle", "permanent"):
            raise _BadParamError("type")
        page = _int_param(request, "page", 1)
        per_page = _int_param(request, "per_page", MAX_PER_PAGE)
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            raise _BadParamError("per_page")
        since = _modified_since(request)
    except _BadParamError as exc:
        return exc.response()
    rows, more = await to_thread.run_sync(st.store.deleted_page, kind, since, (page - 1) * per_page, per_page)
    if not rows:
        return Response(status_code=304 if since is not None else 204)
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
    return json_response(request, json_bytes({"data": rows, "info": info}))


async def related_records(request: Request) -> Response:
    module = request.path_params["module"]
    if (bad := _module_check(module)) is not None:
        return bad
    related = request.path_params["related"]
    if related != "Stage_History":
        return error_response(
            400, "INVALID_DATA", "the related list given seems to be invalid", {"resource_path_index": 2}
        )
    deal_id = _deal_id(request)
    if deal_id is None:
        return error_response(400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 1})
    history = await to_thread.run_sync(_state(request).store.stage_history, deal_id)
    if not history:
        return Response(status_code=204)
    page = max(1, int(request.query_params.get("page", 1)))
    per_page = min(MAX_PER_PAGE, max(1, int(request.query_params.get("per_page", MAX_PER_PAGE))))
    chunk = history[(page - 1) * per_page : page * per_page]
    if not chunk:
        return Response(status_code=204)
    info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": len(history) > page * per_page}
    return json_response(request, json_bytes({"data": chunk, "info": info}))


async def users(request: Request) -> Response:
    kind = request.query_params.get("type", "AllUsers")
    if kind not in ("AllUsers", "ActiveUsers", "CurrentUser", "AdminUsers", "ActiveConfirmedUsers"):
        return error_response(400, "INVALID_DATA", "invalid type", {"param": "type"})
    page = max(1, int(request.query_params.get("page", 1)))
    per_page = min(200, max(1, int(request.query_params.get("per_page", 200))))
    if kind == "AdminUsers":
        kind = "CurrentUser"
    rows, more = metadata.users_page(kind, page, per_page)
    if not rows:
        return Response(status_code=204)
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
    return json_response(request, json_bytes({"users": rows, "info": info}))


async def user(request: Request) -> Response:
    try:
        found = ref.USERS_BY_ID.get(int(request.path_params["user_id"]))
    except ValueError:
        found = None
    if found is None:
        return Response(status_code=204)
    info = {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    return json_response(request, json_bytes({"users": [metadata.user_record(found)], "info": info}))


async def org(request: Request) -> Response:
    return json_response(request, metadata.org_body(_state(request).base_url))


async def currencies(request: Request) -> Response:
    return json_response(request, metadata.currencies_body())


async def fields(request: Request) -> Response:
    module = request.query_params.get("module")
    if not module:
        return error_response(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "module"}
        )
    body = metadata.fields_body(module)
    if body is None:
        return error_response(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
    return json_response(request, body)


async def modules(request: Request) -> Response:
    return json_response(request, metadata.modules_body())


async def layouts(request: Request) -> Response:
    body = metadata.layouts_body(request.query_params.get("module", ""))
    if body is None:
        return error_response(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
    return json_response(request, body)


async def pipeline(request: Request) -> Response:
    layout_id = request.query_params.get("layout_id")
    if not layout_id:
        return error_response(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "layout_id"}
        )
    if layout_id != str(ref.LAYOUT_ID):
        return error_response(400, "INVALID_DATA", "invalid layout_id", {"param": "layout_id"})
    return json_response(request, metadata.pipeline_body())


async def related_lists(request: Request) -> Response:
    if request.query_params.get("module") != "Deals":
        return Response(status_code=204)
    return json_response(request, metadata.related_lists_body())


async def bulk_create(request: Request) -> Response:
    st = _state(request)
    try:
        body = await request.json()
        job = st.bulk.create(body)
    except BulkError as exc:
        return error_response(400, exc.code, exc.message, exc.details)
    except (ValueError, TypeError):
        return error_response(400, "INVALID_DATA", "invalid request body", {})
    details = {
        "id": str(job.id),
        "operation": "read",
        "state": "ADDED",
        "created_by": {"name": ref.ADMIN_USER.full_name, "id": str(ref.ADMIN_USER.id)},
        "created_time": iso(job.created_at),
    }
    payload = {
        "data": [
            {"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.", "details": details}
        ],
        "info": {},
    }
    return json_response(request, json_bytes(payload), status=201)


def _job(request: Request) -> Any:
    try:
        return _state(request).bulk.get(int(request.path_params["job_id"]))
    except ValueError:
        return None


async def bulk_status(request: Request) -> Response:
    job = _job(request)
    if job is None:
        return error_response(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {})
    detail = _state(request).bulk.detail(job)
    return json_response(request, json_bytes({"data": [detail]}))


async def bulk_result(request: Request) -> Response:
    st = _state(request)
    job = _job(request)
    if job is None:
        return error_response(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {})
    if st.bulk.state(job) != "COMPLETED":
        return error_response(400, "INVALID_REQUEST", "the job is not completed yet", {"id": str(job.id)})
    path = st.bulk.result_path(job)
    if path is None:
        return error_response(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {})
    # Built when the job completed: a plain file response (read in 1 MiB chunks off the event loop).
    return _ZipFileResponse(path, media_type="application/zip", filename=f"{job.id}.zip")


class _ZipFileResponse(FileResponse):
    chunk_size = 1 << 20


ROUTES = [
    Route("/crm/v8/users", users, methods=["GET"]),
    Route("/crm/v8/users/{user_id}", user, methods=["GET"]),
    Route("/crm/v8/org", org, methods=["GET"]),
    Route("/crm/v8/org/currencies", currencies, methods=["GET"]),
    Route("/crm/v8/settings/fields", fields, methods=["GET"]),
    Route("/crm/v8/settings/modules", modules, methods=["GET"]),
    Route("/crm/v8/settings/layouts", layouts, methods=["GET"]),
    Route("/crm/v8/settings/pipeline", pipeline, methods=["GET"]),
    Route("/crm/v8/settings/related_lists", related_lists, methods=["GET"]),
    Route("/crm/bulk/v8/read", bulk_create, methods=["POST"]),
    Route("/crm/bulk/v8/read/{job_id}", bulk_status, methods=["GET"]),
    Route("/crm/bulk/v8/read/{job_id}/result", bulk_result, methods=["GET"]),
    Route("/crm/v8/{module}/deleted", deleted_records, methods=["GET"]),
    Route("/crm/v8/{module}/actions/count", count_records, methods=["GET"]),
    Route("/crm/v8/{module}", get_records, methods=["GET"]),
    Route("/crm/v8/{module}/{record_id}", get_record, methods=["GET"]),
    Route("/crm/v8/{module}/{record_id}/{related}", related_records, methods=["GET"]),
]
