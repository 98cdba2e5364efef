"""Control operations (/__sandbox/...): the same object serves HTTP and in-process callers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import metadata
from . import reference as ref
from .clock import iso
from .state import SandboxState

TRUTH_FORMAT = "zoho-sandbox-truth/1"


class SandboxControl:
    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def ready(self) -> dict[str, Any]:
        st = self._state
        return {"ready": True, "deals": st.store.deal_count(), "clock": st.clock.isoformat(), "base_url": st.base_url}

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        now = self._state.clock.advance(float(seconds))
        return {"clock": iso(now), "epoch": now}

    def mutate(
        self, modify: int = 0, create: int = 0, delete: int = 0, same_second: bool = False, formula_drift: int = 0
    ) -> dict[str, list[str]]:
        return self._state.store.mutate(
            modify=int(modify),
            create=int(create),
            delete=int(delete),
            same_second=bool(same_second),
            formula_drift=int(formula_drift),
        )

    def add_faults(self, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        return self._state.faults.add(list(rules))

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self._state.faults.list()

    def stats(self, with_log: bool = True) -> dict[str, Any]:
        out = self._state.credits.snapshot(with_log)
        out["tokens_issued"] = self._state.tokens.issued
        out["generation_seconds"] = round(self._state.store.generation_seconds, 3)
        return out

    def reset(self) -> dict[str, Any]:
        self._state.reset()
        return self.ready()

    def expire_tokens(self) -> int:
        return self._state.tokens.revoke_all_access()

    def truth_lines(self) -> Iterator[bytes]:
        """NDJSON: a header line, then one line per user, stage, currency, deal and deleted deal."""
        st = self._state
        header = {
            "kind": "meta",
            "format": TRUTH_FORMAT,
            "seed": st.config.seed,
            "clock": st.clock.isoformat(),
            "home_currency": ref.HOME_CURRENCY,
            "deals": st.store.deal_count(),
            "deleted": st.store.deleted_count(),
        }
        yield _line(header)
        for user in ref.USERS:
            yield _line(
                {
                    "kind": "user",
                    "id": str(user.id),
                    "name": user.full_name,
                    "email": user.email,
                    "region": user.region,
                    "country": user.country,
                }
            )
        for stage in (*ref.STAGES, ref.REMOVED_STAGE):
            yield _line(
                {
                    "kind": "stage",
                    "name": stage.name,
                    "probability": stage.probability,
                    "forecast_type": stage.forecast_type,
                    "forecast_category": stage.forecast_category,
                    "in_picklist": stage is not ref.REMOVED_STAGE,
                    "pipelines": [p for p, (stages, _) in ref.PIPELINES.items() if stage.name in stages],
                }
            )
        for iso_code, (name, symbol, rate) in ref.CURRENCIES.items():
            yield _line(
                {
                    "kind": "currency",
                    "iso_code": iso_code,
                    "name": name,
                    "symbol": symbol,
                    "exchange_rate": rate,
                    "is_base": iso_code == ref.HOME_CURRENCY,
                }
            )
        for record in st.store.iter_truth_deals():
            yield b'{"kind":"deal","record":' + record.encode() + b"}\n"
        for deleted in st.store.iter_truth_deleted():
            yield _line({"kind": "deleted", **deleted})

    def truth(self) -> dict[str, Any]:
        """The whole truth as one dict (convenient for small sandboxes)."""
        out: dict[str, Any] = {"meta": {}, "users": [], "stages": [], "currencies": [], "deals": [], "deleted": []}
        plural = {"user": "users", "stage": "stages", "currency": "currencies", "deleted": "deleted"}
        for line in self.truth_lines():
            item = json.loads(line)
            kind = item.pop("kind")
            if kind == "meta":
                out["meta"] = item
            elif kind == "deal":
                out["deals"].append(item["record"])
            else:
                out[plural[kind]].append(item)
        return out


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def _control(request: Request) -> SandboxControl:
    return request.app.state.control  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


async def ready(request: Request) -> Response:
    return JSONResponse(_control(request).ready())


async def clock_advance(request: Request) -> Response:
    body = await _body(request)
    return JSONResponse(_control(request).advance_clock(float(body.get("seconds", 0))))


async def mutate(request: Request) -> Response:
    from anyio import to_thread

    body = await _body(request)
    allowed = {"modify", "create", "delete", "same_second", "formula_drift"}
    kwargs = {k: v for k, v in body.items() if k in allowed}
    return JSONResponse(await to_thread.run_sync(lambda: _control(request).mutate(**kwargs)))


async def faults_post(request: Request) -> Response:
    body = await _body(request)
    rules = body.get("faults", [body] if "kind" in body else [])
    try:
        return JSONResponse({"faults": _control(request).add_faults(*rules)})
    except (TypeError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


async def faults_get(request: Request) -> Response:
    return JSONResponse({"faults": _control(request).faults()})


async def faults_delete(request: Request) -> Response:
    _control(request).clear_faults()
    return JSONResponse({"faults": []})


async def stats(request: Request) -> Response:
    return JSONResponse(_control(request).stats(request.query_params.get("log", "1") != "0"))


async def reset(request: Request) -> Response:
    from anyio import to_thread

    return JSONResponse(await to_thread.run_sync(_control(request).reset))


async def truth(request: Request) -> Response:
    lines = _control(request).truth_lines()
    if request.query_params.get("gzip") == "1":
        compressor_lines = _gzip_stream(lines)
        return StreamingResponse(
            compressor_lines, media_type="application/x-ndjson", headers={"Content-Encoding": "gzip"}
        )
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _gzip_stream(lines: Iterator[bytes]) -> Iterator[bytes]:
    import zlib

    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for line in lines:
        chunk = comp.compress(line)
        if chunk:
            yield chunk
    yield comp.flush()


async def metadata_sizes(request: Request) -> Response:
    sizes = {m: len(metadata.fields_body(m) or b"") for m in metadata.MODULE_SPECS}
    return JSONResponse({"fields_bytes": sizes})


ROUTES = [
    Route("/__sandbox/ready", ready, methods=["GET"]),
    Route("/__sandbox/clock/advance", clock_advance, methods=["POST"]),
    Route("/__sandbox/mutate", mutate, methods=["POST"]),
    Route("/__sandbox/faults", faults_post, methods=["POST"]),
    Route("/__sandbox/faults", faults_get, methods=["GET"]),
    Route("/__sandbox/faults", faults_delete, methods=["DELETE"]),
    Route("/__sandbox/stats", stats, methods=["GET"]),
    Route("/__sandbox/reset", reset, methods=["POST"]),
    Route("/__sandbox/truth", truth, methods=["GET"]),
    Route("/__sandbox/metadata", metadata_sizes, methods=["GET"]),
]

__all__ = ["ROUTES", "SandboxControl"]
