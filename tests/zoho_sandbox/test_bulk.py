"""Bulk Read: result zips are built in the background when a job is created, COMPLETED only once built."""

from __future__ import annotations

import csv
import io
import os
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import requests

from tests.zoho_sandbox.oas import validate_any
from zoho_sandbox import SandboxServer


def _headers(server: SandboxServer) -> dict[str, str]:
    token = requests.post(
        server.accounts_url,
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
            "refresh_token": "sandbox-refresh-token",
        },
        timeout=10,
    ).json()["access_token"]
    return {"Authorization": f"Zoho-oauthtoken {token}"}


def _create(server: SandboxServer, headers: dict[str, str], **query: Any) -> str:
    response = requests.post(
        server.base_url + "/crm/bulk/v8/read",
        json={"query": {"module": {"api_name": "Deals"}, **query}, "file_type": "csv"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"][0]["details"]["id"])


def _detail(server: SandboxServer, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    response = requests.get(f"{server.base_url}/crm/bulk/v8/read/{job_id}", headers=headers, timeout=10)
    validate_any("GET", f"/crm/bulk/v8/read/{job_id}", response.status_code, response.json())
    return dict(response.json()["data"][0])


def _wait(server: SandboxServer, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        detail = _detail(server, headers, job_id)
        if detail["state"] == "COMPLETED":
            return detail
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never completed")


def _rows(server: SandboxServer, headers: dict[str, str], job_id: str) -> list[list[str]]:
    response = requests.get(f"{server.base_url}/crm/bulk/v8/read/{job_id}/result", headers=headers, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-length"] == str(len(response.content))
    assert f'filename="{job_id}.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == [f"{job_id}.csv"]
        text = archive.read(f"{job_id}.csv").decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_bulk_pages_follow_next_page_token_and_match_truth(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=1_250, seed=11, bulk_delay_seconds=0, bulk_page_size=500, awkward_share=0.2)
    headers = _headers(server)
    truth = {d["id"]: d for d in server.control.truth()["deals"]}
    fields = ["Deal_Name", "Amount", "Owner", "Modified_Time", "Region", "Renewal", "Description"]
    seen: list[str] = []
    pages, token = 0, None
    while True:
        job_id = _create(server, headers, fields=fields, **({"page_token": token} if token else {}))
        result = _wait(server, headers, job_id)["result"]
        rows = _rows(server, headers, job_id)
        assert rows[0] == ["id", *fields]
        assert result["count"] == len(rows) - 1
        pages += 1
        for row in rows[1:]:
            record = dict(zip(rows[0], row, strict=True))
            expected = truth[record["id"]]
            assert record["Deal_Name"] == expected["Deal_Name"]
            assert record["Owner"] == expected["Owner"]["id"]  # lookups export as ids
            assert record["Modified_Time"] == expected["Modified_Time"]
            assert record["Region"] == (expected["Region"] or "")
            assert record["Renewal"] == ("true" if expected["Renewal"] else "false")
            assert record["Amount"] == ("" if expected["Amount"] is None else repr(expected["Amount"]))
            seen.append(record["id"])
        if not result["more_records"]:
            assert result["next_page_token"] is None
            break
        token = result["next_page_token"]
    assert pages == 3
    assert seen == sorted(truth, key=int)  # id order, every live deal once


def test_bulk_csv_quotes_awkward_text_and_applies_criteria(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=300, seed=5, bulk_delay_seconds=0)
    awkward = 'Line one, "quoted"\nline two\r\nend'
    store = server.state.store
    with store._lock:  # a value no generated deal has: commas, quotes, CR/LF
        store.db.execute("UPDATE deals SET description = ?, stage = 'Qualification' WHERE id % 3 = 0", (awkward,))
    headers = _headers(server)
    criteria = {"field": {"api_name": "Stage"}, "comparator": "equal", "value": "Qualification"}
    job_id = _create(server, headers, fields=["Description", "Stage"], criteria=criteria)
    _wait(server, headers, job_id)
    rows = _rows(server, headers, job_id)[1:]
    expected = store.db.execute("SELECT count(*) FROM deals WHERE stage = 'Qualification'").fetchone()[0]
    assert len(rows) == expected
    assert all(stage == "Qualification" for _, _, stage in rows)
    assert sum(1 for _, description, _ in rows if description == awkward) == 100


def test_bulk_job_completes_only_once_its_file_exists(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=50, bulk_delay_seconds=0)
    bulk = server.state.bulk
    gate = threading.Event()
    original = bulk._write_zip

    def slow_write(job: Any, path: str) -> tuple[int, bool]:
        gate.wait(10)
        return original(job, path)

    bulk._write_zip = slow_write  # type: ignore[method-assign]
    headers = _headers(server)
    job_id = _create(server, headers)
    assert _detail(server, headers, job_id)["state"] == "IN PROGRESS"
    early = requests.get(f"{server.base_url}/crm/bulk/v8/read/{job_id}/result", headers=headers, timeout=10)
    assert early.status_code == 400
    gate.set()
    detail = _wait(server, headers, job_id)
    assert detail["result"]["count"] == 50
    job = bulk.get(int(job_id))
    assert job is not None
    assert job.path is not None
    assert os.path.exists(job.path)
    assert len(_rows(server, headers, job_id)) == 51

    server.control.reset()  # results go with the jobs
    assert not os.path.exists(job.path)
    assert bulk.get(int(job_id)) is None


def test_bulk_results_are_bounded_and_removed_on_stop(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(deals=20, bulk_delay_seconds=0)
    bulk = server.state.bulk
    bulk.MAX_RESULT_FILES = 2
    jobs = [bulk.create({"query": {"module": {"api_name": "Deals"}}}) for _ in range(3)]
    for job in jobs:
        assert bulk.wait(job, 10)
    assert bulk.result_path(jobs[0]) is None  # the oldest result was dropped
    paths = [bulk.result_path(job) for job in jobs[1:]]
    assert all(p is not None and os.path.exists(p) for p in paths)
    assert zipfile.ZipFile(io.BytesIO(bulk.result_zip(jobs[2]))).namelist() == [f"{jobs[2].id}.csv"]
    server.stop()
    assert not any(os.path.exists(p) for p in paths if p)
