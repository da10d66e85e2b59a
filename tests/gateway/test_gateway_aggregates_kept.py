"""What the aggregates keep between requests (`gateway.kept`): each part asked again with the
ETag of its last answer, an unchanged document sent again as it was built, and nothing kept
reaching another caller or outliving a change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_testing import API, running_gateway

from gateway.clients import ServiceClient
from gateway.kept import Kept
from tdi_kit.testing import bearer

NFC = "ti-2708"
DOSSIER = f"{API}/territories/{NFC}/dossier"
M = 100_000_000  # one million euros, in cents
ADMIN = bearer("admin", sub="kept-tests")
OPERATOR = bearer("funding:write", org="bpifrance", sub="kept-operator")
ANOTHER_OPERATOR = bearer("funding:write", org="ademe", sub="kept-other")
NO_ORG = bearer("funding:write", sub="kept-no-org")


def allocation(reference: str, **fields: Any) -> dict[str, Any]:
    return {
        "envelope_code": "kept-envelope",
        "year": 2024,
        "territory_code": NFC,
        "title": "Ligne de production",
        "beneficiary_name": "Entreprise test",
        "amount_cents": 1 * M,
        "status": "committed",
        "reference": reference,
        **fields,
    }


@pytest.fixture(scope="module")
async def envelope(own_suite: dict[str, str]) -> AsyncIterator[str]:
    async with running_gateway(**own_suite) as (_, gw):
        r = await gw.post(
            f"{API}/envelopes",
            json={
                "code": "kept-envelope",
                "operator_code": "bpifrance",
                "name": "Enveloppe des réponses gardées",
                "kind": "grant",
                "themes": ["innovation"],
                "start_year": 2024,
                "end_year": 2024,
                "tranches": [{"year": 2024, "amount_cents": 100 * M}],
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = await gw.post(f"{API}/allocations", json=allocation("K-0"), headers=ADMIN)
        assert r.status_code == 201, r.text
    yield "kept-envelope"


def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each part's service, and whether its answer was the one kept (a 304)."""
    answers: list[tuple[str, bool]] = []
    get_json = ServiceClient.get_json

    async def spy(self: ServiceClient, path: str, **kwargs: Any) -> Any:
        answer = await get_json(self, path, **kwargs)
        answers.append((self.name, answer.revalidated))
        return answer

    monkeypatch.setattr(ServiceClient, "get_json", spy)
    return answers


@pytest.mark.parametrize("path", [DOSSIER, f"{API}/dashboard?region=27"])
async def test_an_unchanged_aggregate_is_revalidated_and_sent_as_it_was(
    own_suite: dict[str, str], envelope: str, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    answers = spied(monkeypatch)
    async with running_gateway(**own_suite) as (app, client):
        first = await client.get(path)
        assert first.status_code == 200, first.text
        assert sorted(answers) == [("contracts", False), ("funding", False), ("registry", False)]
        answers.clear()
        again = await client.get(path)
        # Every service asked again, each answering 304 to the ETag it gave: the same bytes.
        assert sorted(answers) == [("contracts", True), ("funding", True), ("registry", True)]
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert "Authorization" in again.headers["vary"]
        assert len(app.services.documents) == 1
        cached = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
        # Another spelling of the same parameters is the same document.
        spelt = await client.get(path + ("&" if "?" in path else "?") + "include_demo=0")
        assert spelt.content == first.content and len(app.services.documents) == 1


async def test_a_change_reaches_the_next_dossier_and_dashboard(
    own_suite: dict[str, str], envelope: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_gateway(**own_suite) as (_, client):
        before = await client.get(DOSSIER)
        board = await client.get(f"{API}/dashboard")
        r = await client.post(f"{API}/allocations", json=allocation("K-1"), headers=ADMIN)
        assert r.status_code == 201, r.text
        added = r.json()["id"]
        answers = spied(monkeypatch)
        after = await client.get(DOSSIER)
        # Funding's part changed and was sent again; the others' were kept.
        assert sorted(answers) == [("contracts", True), ("funding", False), ("registry", True)]
        assert after.headers["etag"] != before.headers["etag"]
        listed = after.json()["allocations_without_action"]
        assert added in {a["id"] for a in listed}
        totals = (before.json()["balances"]["totals"], after.json()["balances"]["totals"])
        assert totals[1]["committed_cents"] == totals[0]["committed_cents"] + 1 * M
        board_after = await client.get(f"{API}/dashboard")
        assert board_after.headers["etag"] != board.headers["etag"]
        money = (board.json()["money"]["totals"], board_after.json()["money"]["totals"])
        assert money[1]["committed_cents"] == money[0]["committed_cents"] + 1 * M


async def test_what_one_caller_was_sent_never_reaches_another(
    own_suite: dict[str, str], envelope: str
) -> None:
    """An operator's proposal is in its own dossier only, however the requests interleave
    (another operator, a token with no organisation, no token): a part is kept for the
    Authorization it was asked with, and a document for its parts."""
    async with running_gateway(**own_suite) as (_, client):
        r = await client.post(
            f"{API}/allocations",
            json=allocation("K-P", status="proposed"),
            headers=OPERATOR,
        )
        assert r.status_code == 201, r.text
        proposal = r.json()["id"]
        seen = {}
        callers = {
            "operator": OPERATOR,
            "anyone": {},
            "another operator": ANOTHER_OPERATOR,
            "no organisation": NO_ORG,
        }
        for who in ["operator", "anyone", "operator", "another operator", "no organisation"] * 2:
            r = await client.get(DOSSIER, headers=callers[who])
            assert r.status_code == 200, r.text
            ids = {a["id"] for a in r.json()["allocations_without_action"]}
            assert (proposal in ids) is (who == "operator"), who
            seen.setdefault(who, set()).add(r.headers["etag"])
        assert all(len(etags) == 1 for etags in seen.values()), seen
        # The others are sent what anyone is: the public record.
        assert seen["operator"] != seen["anyone"]
        assert seen["another operator"] == seen["no organisation"] == seen["anyone"]


def test_what_is_kept_is_bounded_the_least_recently_used_first_out() -> None:
    kept: Kept[str, int] = Kept(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "b" is now the least recently used
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c"), len(kept)) == (1, None, 3, 2)
