"""The real app plus one route that fails unexpectedly, to see how a 500 is answered and logged."""

from __future__ import annotations

from api.main import create_app

FORGED_LINE = "2026-01-01 00:00:00,000 INFO api.access [forged] 127.0.0.1 GET /admin 200 1.0ms"

app = create_app()


@app.get("/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError(f"unexpected failure quoting input\n{FORGED_LINE}")
