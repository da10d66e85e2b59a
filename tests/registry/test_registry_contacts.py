"""Personal contact details of a territory's governance (RGPD): names and roles are public,
e-mails go to authenticated callers only unless `REGISTRY_PUBLISH_CONTACTS` publishes them.
The stored-document fast path serves each audience its own bytes under its own ETag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from registry_testing import API, current_etag

from tdi_kit.app import ServiceApp
from tdi_kit.testing import bearer

LEAD = "claire.martin@agglo-montbeliard.fr"
REFERENT = "luc@bpifrance.fr"
GOVERNANCE = {
    "binome": {"elected_official": {"name": "Marie-Noëlle Biguinet", "role": "Présidente"}},
    "chef_de_projet": {"name": "Claire Martin", "email": LEAD, "employer": "PMA"},
    "referents": [{"organisation_code": "bpifrance", "name": "Luc Bernard", "email": REFERENT}],
}
AUTHENTICATED = {
    "token with scopes but no organisation": bearer("funding:write", sub="ops"),
    "an operator": bearer("contracts:write", org="bpifrance"),
    "admin": bearer("admin"),
}


async def _with_contacts(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json=GOVERNANCE,
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def published(registry_app: ServiceApp) -> Iterator[None]:
    settings = registry_app.state.settings
    settings.publish_contacts = True
    try:
        yield
    finally:
        settings.publish_contacts = False


def _governance(body: dict[str, Any]) -> dict[str, Any]:
    return body["governance"]


async def test_anonymous_callers_see_names_and_roles_but_no_contact(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    await _with_contacts(client, writer)
    r = await client.get(f"{API}/territories/ti-2708")
    assert r.status_code == 200 and "Authorization" in r.headers["vary"].split(", ")
    governance = _governance(r.json())
    assert governance["chef_de_projet"] == {
        "name": "Claire Martin",
        "email": None,
        "employer": "PMA",
    }
    assert governance["referents"][0]["name"] == "Luc Bernard"
    assert governance["referents"][0]["email"] is None
    assert governance["binome"]["elected_official"]["role"] == "Présidente"
    assert LEAD not in r.text and REFERENT not in r.text
    listed = await client.get(f"{API}/territories", params={"q": "Nord Franche-Comté"})
    assert "Authorization" in listed.headers["vary"].split(", ")
    assert listed.json()["items"] and LEAD not in listed.text and REFERENT not in listed.text


@pytest.mark.parametrize("who", list(AUTHENTICATED))
async def test_authenticated_callers_see_the_contacts_from_the_stored_document(
    client: httpx.AsyncClient, writer: dict[str, str], who: str
) -> None:
    await _with_contacts(client, writer)
    headers = AUTHENTICATED[who]
    r = await client.get(f"{API}/territories/ti-2708", headers=headers)
    governance = _governance(r.json())
    assert governance["chef_de_projet"]["email"] == LEAD
    assert governance["referents"][0]["email"] == REFERENT
    listed = await client.get(
        f"{API}/territories", params={"q": "Nord Franche-Comté"}, headers=headers
    )
    assert LEAD in listed.text


async def test_each_variant_has_its_own_etag(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    await _with_contacts(client, writer)
    url = f"{API}/territories/ti-2708"
    public = await client.get(url)
    full = await client.get(url, headers=writer)
    assert public.headers["etag"] != full.headers["etag"]
    # Each ETag revalidates its own variant only.
    r = await client.get(url, headers={"If-None-Match": public.headers["etag"]})
    assert r.status_code == 304 and "Authorization" in r.headers["vary"].split(", ")
    r = await client.get(url, headers={**writer, "If-None-Match": full.headers["etag"]})
    assert r.status_code == 304
    r = await client.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert r.status_code == 200 and LEAD not in r.text
    r = await client.get(url, headers={**writer, "If-None-Match": public.headers["etag"]})
    assert r.status_code == 200 and LEAD in r.text


async def test_a_territory_without_contacts_is_the_same_for_everyone(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    body = {**GOVERNANCE, "chef_de_projet": {"name": "Claire Martin"}, "referents": []}
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json=body,
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 200
    public = await client.get(f"{API}/territories/ti-2708")
    full = await client.get(f"{API}/territories/ti-2708", headers=writer)
    assert public.content == full.content and public.headers["etag"] == full.headers["etag"]


@pytest.mark.usefixtures("published")
async def test_a_setting_publishes_the_contacts_to_everyone(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    await _with_contacts(client, writer)
    r = await client.get(f"{API}/territories/ti-2708")
    assert _governance(r.json())["chef_de_projet"]["email"] == LEAD
    listed = await client.get(f"{API}/territories", params={"q": "Nord Franche-Comté"})
    assert REFERENT in listed.text
