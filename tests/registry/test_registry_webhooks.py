"""Webhook subscriptions over the API: who manages which, the secret shown once, the types and
targets refused, the delivery log and redelivery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from webhooks_testing import (
    API,
    Receiver,
    Suite,
    admin_token,
    client,
    event,
    org_token,
    receiver,
    subscribe,
    suite,
    webhook_suite,
)

from registry.webhooks.dispatcher import Dispatcher
from tdi_kit.testing import asgi_client, bearer

__all__ = ["client", "receiver", "suite", "webhook_suite"]  # fixtures


async def test_an_organisation_creates_lists_changes_and_deletes_its_webhook(
    client: httpx.AsyncClient,
) -> None:
    created = await subscribe(client, "https://public.test/hooks", ["allocation.*"])
    assert created["organisation"] == "bpifrance"
    assert created["enabled"] is True and created["event_types"] == ["allocation.*"]
    path = f"{API}/webhooks/{created['id']}"

    listed = (await client.get(f"{API}/webhooks", headers=org_token())).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]] and listed["total"] == 1

    r = await client.patch(
        path,
        json={"event_types": ["territory.changed"], "enabled": False, "description": "ops"},
        headers=org_token(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["event_types"] == ["territory.changed"] and r.json()["enabled"] is False

    assert (await client.delete(path, headers=org_token())).status_code == 204
    assert (await client.get(path, headers=org_token())).status_code == 404


async def test_the_secret_is_shown_once_at_creation_and_once_at_rotation(
    client: httpx.AsyncClient,
) -> None:
    created = await subscribe(client, "https://public.test/hooks", ["allocation.committed"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    path = f"{API}/webhooks/{created['id']}"
    assert "secret" not in (await client.get(path, headers=org_token())).json()
    listed = (await client.get(f"{API}/webhooks", headers=org_token())).json()
    assert all("secret" not in w for w in listed["items"])

    rotated = await client.post(f"{path}/secret", headers=org_token())
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != secret


async def test_another_organisations_webhook_is_not_found(client: httpx.AsyncClient) -> None:
    theirs = await subscribe(
        client, "https://public.test/hooks", ["allocation.*"], org="banque-des-territoires"
    )
    path = f"{API}/webhooks/{theirs['id']}"
    for method, extra in (
        ("GET", {}),
        ("PATCH", {"json": {"enabled": False}}),
        ("DELETE", {}),
        ("POST", {}),
    ):
        target = f"{path}/secret" if method == "POST" else path
        r = await client.request(method, target, headers=org_token("bpifrance"), **extra)
        assert r.status_code == 404, (method, r.text)
    r = await client.get(f"{path}/deliveries", headers=org_token("bpifrance"))
    assert r.status_code == 404
    mine = (await client.get(f"{API}/webhooks", headers=org_token("bpifrance"))).json()
    assert mine["total"] == 0
    # Nor can an organisation create one for another.
    r = await client.post(
        f"{API}/webhooks",
        json={
            "url": "https://public.test/h",
            "event_types": ["allocation.*"],
            "organisation": "banque-des-territoires",
        },
        headers=org_token("bpifrance"),
    )
    assert r.status_code == 403


async def test_an_admin_sees_every_webhook_and_names_the_owner(client: httpx.AsyncClient) -> None:
    await subscribe(client, "https://public.test/a", ["allocation.*"], org="bpifrance")
    r = await client.post(
        f"{API}/webhooks",
        json={"url": "https://public.test/b", "event_types": ["territory.changed"]},
        headers=admin_token(),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "organisation"
    r = await client.post(
        f"{API}/webhooks",
        json={
            "url": "https://public.test/b",
            "event_types": ["territory.changed"],
            "organisation": "banque-des-territoires",
        },
        headers=admin_token(),
    )
    assert r.status_code == 201, r.text
    listed = (await client.get(f"{API}/webhooks", headers=admin_token())).json()
    assert {w["organisation"] for w in listed["items"]} == {"bpifrance", "banque-des-territoires"}


async def test_a_token_without_organisation_or_scope_manages_no_webhook(
    client: httpx.AsyncClient,
) -> None:
    no_org = bearer("webhooks:write", sub="someone")
    assert (await client.get(f"{API}/webhooks", headers=no_org)).status_code == 403
    r = await client.post(
        f"{API}/webhooks",
        json={"url": "https://public.test/h", "event_types": ["allocation.*"]},
        headers=no_org,
    )
    assert r.status_code == 403
    no_scope = bearer("registry:write", org="bpifrance")
    assert (await client.get(f"{API}/webhooks", headers=no_scope)).status_code == 403
    assert (await client.get(f"{API}/webhooks")).status_code == 401


@pytest.mark.parametrize("types", [["allocation.exploded"], ["nothing.*"], ["allocation"]])
async def test_unknown_event_types_are_refused_naming_the_field(
    client: httpx.AsyncClient, types: list[str]
) -> None:
    r = await client.post(
        f"{API}/webhooks",
        json={"url": "https://public.test/h", "event_types": types},
        headers=org_token(),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"].startswith("event_types")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://loopback.test/hooks",
        "http://nowhere.test/hooks",
        "ftp://public.test/hooks",
    ],
)
async def test_private_loopback_and_metadata_targets_are_refused(suite: Suite, url: str) -> None:
    async with asgi_client(suite.strict) as strict:
        r = await strict.post(
            f"{API}/webhooks",
            json={"url": url, "event_types": ["allocation.*"]},
            headers=org_token(),
        )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"


async def test_a_public_target_is_taken_when_private_ones_are_refused(suite: Suite) -> None:
    async with asgi_client(suite.strict) as strict:
        r = await strict.post(
            f"{API}/webhooks",
            json={"url": "http://public.test/hooks", "event_types": ["allocation.*"]},
            headers=org_token(),
        )
    assert r.status_code == 201, r.text


async def test_the_delivery_log_shows_attempts_and_a_delivery_is_sent_again_on_request(
    suite: Suite, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = await subscribe(client, receiver.url, ["allocation.committed"])
    receiver.plan = [500]
    dispatcher = Dispatcher(
        sessionmaker=suite.app.state.sessionmaker,
        settings=suite.app.state.settings,
        resolver=suite.names,
    )
    try:
        await dispatcher.take([event()])
        await dispatcher.attempt_due()
        path = f"{API}/webhooks/{created['id']}/deliveries"
        log = (await client.get(path, headers=org_token())).json()
        [delivery] = log["items"]
        assert delivery["status"] == "pending" and delivery["attempts"] == 1
        assert delivery["response_code"] == 500 and "receiver says no" in delivery["error"]
        assert delivery["latency_ms"] >= 0 and delivery["next_attempt_at"] is not None

        r = await client.post(f"{path}/{delivery['id']}/redeliver", headers=org_token())
        assert r.status_code == 202, r.text
        await dispatcher.attempt_due()  # due at once, not after the backoff's step
        [delivery] = (await client.get(path, headers=org_token())).json()["items"]
        assert delivery["status"] == "delivered" and delivery["attempts"] == 2
        assert delivery["response_code"] == 204 and delivery["error"] is None
        assert len(receiver.received) == 2
        r = await client.post(
            f"{path}/{delivery['id']}/redeliver", headers=org_token("banque-des-territoires")
        )
        assert r.status_code == 404
    finally:
        await dispatcher.aclose()


def test_production_without_a_secret_to_mint_the_feed_token_stops_naming_the_setting() -> None:
    from registry.settings import RegistrySettings
    from tdi_kit.settings import InsecureSettings

    production = {
        "environment": "production",
        "database_url": "postgresql://u:p@db:5432/registry",
        "jwks_url": "https://id.example/jwks",
    }
    with pytest.raises(InsecureSettings, match="REGISTRY_WEBHOOK_FEED_TOKEN"):
        RegistrySettings(**production)
    assert RegistrySettings(**production, webhook_feed_token="t").webhook_require_https
    assert RegistrySettings(**production, webhooks_dispatcher="external").jwt_secret is None
    # Reading the broker, the dispatcher needs no token for the feeds.
    assert RegistrySettings(**production, events_broker_url="nats://nats:4222").jwt_secret is None


def test_tdi_webhooks_runs_the_dispatcher_alone() -> None:
    from tdi_cli.main import parser
    from tdi_cli.webhooks import cmd_webhooks

    assert parser().parse_args(["webhooks"]).func is cmd_webhooks
    assert str(parser().parse_args(["webhooks", "--heartbeat", "/tmp/a"]).heartbeat) == "/tmp/a"


async def test_tdi_webhooks_touches_its_heartbeat_while_it_runs(tmp_path: Path) -> None:
    from tdi_cli import webhooks

    alive = tmp_path / "alive"
    task = asyncio.create_task(asyncio.sleep(5))
    beat = asyncio.create_task(webhooks._beat(alive, task))
    await asyncio.sleep(0.05)
    assert alive.exists()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.wait_for(beat, timeout=1)  # it stops with the dispatcher
