"""Every status the live API gives for an operation is in that operation's OpenAPI: probed for each operation
the server lists (so endpoints added later are covered) with the answers every authenticated endpoint can
give — 401 without a token, 422 for an unknown parameter, 304 for a matching ETag."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.api import api_settings, make_token
from tests.reliability.live import LiveApi


def _probe_path(path: str) -> str:
    return path.replace("{deal_id}", "1")


def test_every_answer_is_documented(live_sqlite: LiveApi, fresh_sqlite_url: str) -> None:
    token = make_token(api_settings(fresh_sqlite_url), regions=[], role="admin")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_sqlite.base_url, timeout=30) as client:
        spec: dict[str, Any] = client.get("/openapi.json").json()
        operations = [(path, ops["get"]) for path, ops in spec["paths"].items() if path.startswith("/api/v1/")]
        assert len(operations) >= 10
        etagged = 0
        for path, operation in operations:
            documented = set(operation["responses"])
            url = _probe_path(path)
            answers = {
                client.get(url).status_code,
                client.get(url, headers=auth, params={"no_such_parameter": "1"}).status_code,
            }
            plain = client.get(url, headers=auth)
            answers.add(plain.status_code)
            if "etag" in plain.headers:
                etagged += 1
                answers.add(client.get(url, headers={**auth, "If-None-Match": plain.headers["etag"]}).status_code)
            assert {str(status) for status in answers} <= documented, (path, answers, documented)
        assert etagged >= 4  # metrics answered 200 with an ETag (those needing no parameter), so 304 was probed
