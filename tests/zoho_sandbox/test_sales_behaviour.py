"""The sandbox behaves like a sales team's CRM: checked statistically over generated orgs through the real HTTP
API (Deals pages, Stage_History related lists, the truth stream for the stage picklist).

Bounds are wide enough for any seed (binomial spread of a few hundred closed deals) and tight enough that the
behaviour they describe must exist: stale closing dates are a minority near the configured share, won deals
are not dated in the future beyond it, Stage_History agrees with every deal's state.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from zoho_sandbox import SandboxConfig, SandboxServer

FIELDS = "Stage,Pipeline,Amount,Probability,Expected_Revenue,Closing_Date,Created_Time,Modified_Time"
STALE_SHARE = 0.15  # the default stale_close_share
REOPEN_SHARE = 0.04  # the default reopen_share


class Zoho:
    """Raw HTTP reads of one sandbox with a refreshed access token."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        token = self.session.post(
            server.accounts_url,
            data={
                "grant_type": "refresh_token",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "refresh_token": "sandbox-refresh-token",
            },
            timeout=10,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {token}"

    def deals(self, modified_since: datetime | None = None) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"fields": FIELDS, "per_page": 200}
        headers = {"If-Modified-Since": modified_since.isoformat()} if modified_since else {}
        while True:
            response = self.session.get(
                self.server.base_url + "/crm/v8/Deals", params=params, headers=headers, timeout=30
            )
            if response.status_code in (204, 304):
                return out
            body = response.json()
            out.update((record["id"], record) for record in body["data"])
            if not body["info"]["more_records"]:
                return out
            params = {"fields": FIELDS, "per_page": 200, "page_token": body["info"]["next_page_token"]}

    def stage_history(self, deal_id: str) -> list[dict[str, Any]]:
        """Oldest first (Zoho serves newest first)."""
        response = self.session.get(self.server.base_url + f"/crm/v8/Deals/{deal_id}/Stage_History", timeout=10)
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["data"]))

    def stages(self) -> dict[str, dict[str, Any]]:
        lines = self.session.get(self.server.base_url + "/__sandbox/truth", timeout=60).text.splitlines()
        items = (json.loads(line) for line in lines)
        return {item["name"]: item for item in items if item["kind"] == "stage"}

    def clock_day(self) -> str:
        return str(self.session.get(self.server.base_url + "/__sandbox/ready", timeout=10).json()["clock"])[:10]


@dataclass
class Org:
    deals: dict[str, dict[str, Any]]
    histories: dict[str, list[dict[str, Any]]]
    stages: dict[str, dict[str, Any]]
    today: str

    def kind(self, stage: str) -> str:
        return str(self.stages[stage]["forecast_type"])

    def closed(self, stage: str) -> bool:
        return self.kind(stage) != "Open"


def _read_org(zoho: Zoho, ids: list[str] | None = None) -> Org:
    deals = zoho.deals()
    wanted = ids if ids is not None else list(deals)
    return Org(deals, {i: zoho.stage_history(i) for i in wanted if i in deals}, zoho.stages(), zoho.clock_day())


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    server = SandboxServer(SandboxConfig(deals=1500, seed=5)).start()
    try:
        yield _read_org(Zoho(server))
    finally:
        server.stop()


def _day(instant: str) -> str:
    return instant[:10]


def _transitions(org: Org, history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["Stage"], b["Stage"]) for a, b in itertools.pairwise(history)]


def _reopened(org: Org, history: list[dict[str, Any]]) -> bool:
    return any(org.closed(a) and not org.closed(b) for a, b in _transitions(org, history))


def _assert_consistent(org: Org, deal: dict[str, Any], history: list[dict[str, Any]]) -> None:
    """Stage_History agrees with the deal: ends at its stage, probability follows the stage everywhere,
    chronological, starts no earlier than the creation, never after the last modification; when the last
    stage move is the last modification its amount and closing date are the deal's."""
    deal_id = deal["id"]
    assert history, deal_id
    newest = history[-1]
    assert newest["Stage"] == deal["Stage"], deal_id
    assert deal["Probability"] == org.stages[deal["Stage"]]["probability"], deal_id
    for entry in history:
        assert entry["Probability"] == org.stages[entry["Stage"]]["probability"], (deal_id, entry)
        expected = None if entry["Amount"] is None else round(entry["Amount"] * entry["Probability"] / 100, 2)
        assert entry["Expected_Revenue"] == pytest.approx(expected), (deal_id, entry)
    assert len({e["id"] for e in history}) == len(history), deal_id
    times = [datetime.fromisoformat(e["Modified_Time"]) for e in history]
    assert times == sorted(times), deal_id
    assert times[0] >= datetime.fromisoformat(deal["Created_Time"]), deal_id
    modified = datetime.fromisoformat(deal["Modified_Time"])
    assert times[-1] <= modified, deal_id
    if times[-1] == modified:
        assert (newest["Amount"], newest["Closing_Date"]) == (deal["Amount"], deal["Closing_Date"]), deal_id


def test_generated_stage_history_matches_every_deal(org: Org) -> None:
    assert len(org.histories) == len(org.deals) == 1500
    for deal_id, history in org.histories.items():
        _assert_consistent(org, org.deals[deal_id], history)
    # A closed deal's close is its last modification (generated past): the close entry is the deal's state.
    for deal_id, deal in org.deals.items():
        if org.closed(deal["Stage"]):
            assert org.histories[deal_id][-1]["Modified_Time"] == deal["Modified_Time"], deal_id


def test_generated_closes_date_the_close_day_except_a_stale_share(org: Org) -> None:
    for kind in ("Closed Won", "Closed Lost"):
        closed = [d for d in org.deals.values() if org.kind(d["Stage"]) == kind]
        assert len(closed) > 250, kind
        on_close_day = sum(d["Closing_Date"] == _day(d["Modified_Time"]) for d in closed) / len(closed)
        assert 1 - STALE_SHARE - 0.07 <= on_close_day <= 1 - STALE_SHARE + 0.07, (kind, on_close_day)
    won = [d for d in org.deals.values() if org.kind(d["Stage"]) == "Closed Won"]
    future = [d for d in won if d["Closing_Date"] > org.today]
    assert len(future) / len(won) <= STALE_SHARE / 2, len(future)  # only stale dates, of deals closed lately
    latest = (date.fromisoformat(org.today) + timedelta(days=100)).isoformat()
    assert max(d["Closing_Date"] for d in won) <= latest  # a stale date is the plan, never years out


def test_generated_pasts_have_reopens_amount_changes_pushes_and_pull_ins(org: Org) -> None:
    histories = list(org.histories.values())
    reopened = sum(_reopened(org, h) for h in histories) / len(histories)
    assert REOPEN_SHARE / 3 <= reopened <= REOPEN_SHARE * 2, reopened
    amounts_changed = sum(len({e["Amount"] for e in h}) > 1 for h in histories) / len(histories)
    assert 0.15 <= amounts_changed <= 0.8, amounts_changed
    moves = [(a["Closing_Date"], b["Closing_Date"]) for h in histories for a, b in itertools.pairwise(h)]
    pushed = sum(b > a for a, b in moves) / len(moves)
    pulled = sum(b < a for a, b in moves) / len(moves)
    assert pushed > 0.1, pushed
    assert pulled > 0.1, pulled
    # Probability follows the stage through every move (checked per entry above); stages really move.
    assert sum(len(h) > 2 for h in histories) / len(histories) > 0.3


def test_without_stale_share_every_close_is_dated_its_close_day(sandbox_factory: Callable[..., SandboxServer]) -> None:
    zoho = Zoho(sandbox_factory(deals=600, seed=8, stale_close_share=0.0))
    deals = zoho.deals()
    stages = zoho.stages()
    closed = [d for d in deals.values() if stages[d["Stage"]]["forecast_type"] != "Open"]
    assert len(closed) > 150
    assert all(d["Closing_Date"] == _day(d["Modified_Time"]) for d in closed)
    assert all(d["Closing_Date"] <= zoho.clock_day() for d in closed)


def test_mutations_close_reopen_push_and_keep_stage_history(sandbox_factory: Callable[..., SandboxServer]) -> None:
    """Thirty simulated days of rep activity (as the demo drives it): closes dated the close day bar a stale
    share, no won deal dated in the future beyond that share, reopens, pushes and pull-ins, amount changes,
    Modified_Time on every change and Stage_History consistent with every touched deal."""
    server = sandbox_factory(deals=1500, seed=9)
    zoho = Zoho(server)
    before = zoho.deals()
    started = datetime.fromisoformat(server.control.ready()["clock"])
    touched: dict[str, str] = {}  # deal id -> the sandbox day of its (last) edit
    for _ in range(30):
        server.control.advance_clock(86_400)
        day = zoho.clock_day()
        for deal_id in server.control.mutate(modify=60)["modified"]:
            touched[deal_id] = day
    org = _read_org(zoho, list(touched))
    assert len(org.histories) == len(touched) > 500  # reps work their open deals, several edits each
    closes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    reopens = pushed = pulled = amounts = 0
    for deal_id, history in org.histories.items():
        deal, old = org.deals[deal_id], before[deal_id]
        _assert_consistent(org, deal, history)
        assert _day(deal["Modified_Time"]) == touched[deal_id]  # Modified_Time moved with the change
        assert datetime.fromisoformat(deal["Modified_Time"]) > started
        recent = [e for e in history if datetime.fromisoformat(e["Modified_Time"]) > started]
        if deal["Stage"] != old["Stage"]:  # every stage change left its entry, at the time of the change
            assert recent, deal_id
            assert recent[-1]["Stage"] == deal["Stage"], deal_id
            assert _day(recent[-1]["Modified_Time"]) <= touched[deal_id], deal_id
        if recent and org.closed(recent[-1]["Stage"]) and not org.closed(old["Stage"]):
            closes.append((deal, recent[-1]))
        reopens += org.closed(old["Stage"]) and not org.closed(deal["Stage"])
        if not org.closed(old["Stage"]) and not org.closed(deal["Stage"]):
            pushed += deal["Closing_Date"] > old["Closing_Date"]
            pulled += deal["Closing_Date"] < old["Closing_Date"]
        amounts += deal["Amount"] != old["Amount"]
    assert len(closes) > 150
    on_close_day = sum(deal["Closing_Date"] == _day(entry["Modified_Time"]) for deal, entry in closes) / len(closes)
    assert 1 - STALE_SHARE - 0.08 <= on_close_day <= 1 - STALE_SHARE + 0.08, on_close_day
    won = [deal for deal, _ in closes if org.kind(deal["Stage"]) == "Closed Won"]
    future = sum(deal["Closing_Date"] > org.today for deal in won)
    assert len(won) > 60
    assert future / len(won) <= STALE_SHARE + 0.08, (future, len(won))
    assert reopens >= 10
    assert pushed > 50, pushed
    assert pulled > 10, pulled
    assert amounts > 100
    # A reopened deal's closing date moved out again, past the day it was reopened.
    for deal_id in touched:
        deal, old = org.deals[deal_id], before[deal_id]
        if org.closed(old["Stage"]) and not org.closed(deal["Stage"]):
            assert deal["Closing_Date"] > _day(deal["Modified_Time"]), deal_id


def test_mutations_are_deterministic_for_a_seed(sandbox_factory: Callable[..., SandboxServer]) -> None:
    def run() -> dict[str, Any]:
        server = sandbox_factory(deals=400, seed=4)
        touched = server.control.mutate(modify=80, create=5, delete=3)
        deals = {d["id"]: d for d in server.control.truth()["deals"]}
        stages = {i: [e["Stage"] for e in server.state.store.stage_history(int(i)) or []] for i in touched["modified"]}
        drop = ("Modified_Time", "Created_Time", "Last_Activity_Time")  # the clock also runs in real time
        return {
            "touched": touched,
            "deals": {i: {k: v for k, v in d.items() if k not in drop} for i, d in deals.items()},
            "stages": stages,
        }

    assert run() == run()


def test_shares_are_range_checked() -> None:
    for name in ("stale_close_share", "reopen_share", "awkward_share"):
        with pytest.raises(ValueError, match=name):
            SandboxConfig(**{name: 1.5})
