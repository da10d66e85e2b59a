"""Every service app runs the events relay in its lifespan (`EVENTS_RELAY=embedded`, the
default), woken by the commits that emit events; `off` runs none (issue 14)."""

from __future__ import annotations

import pytest
from outbox_testing import eventually
from pydantic import ValidationError
from sqlalchemy import select

from registry.main import MIGRATIONS, create_app
from registry.models import outbox
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.testing import asgi_client, bearer, test_database


async def test_the_relay_runs_in_the_lifespan_and_a_commit_wakes_it() -> None:
    async with test_database("events_app") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        # A minute between rounds: only the commit's wake can sequence the event this soon.
        settings = RegistrySettings(
            database_url=url,
            environment="test",
            log_json=False,
            events_relay_interval_seconds=60,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            relay = app.state.relay
            assert relay is not None and relay.publisher is None  # no broker configured
            await eventually(lambda: relay.rounds == 1, within=3)  # now waiting a minute
            async with asgi_client(app) as client:
                r = await client.post(
                    "/api/v1/territories",
                    json={"code": "ti-9901", "name": "Val de Saône", "phase": 2},
                    headers=bearer("registry:write", org="anct"),
                )
            assert r.status_code == 201, r.text

            async def sequenced() -> bool:
                async with app.state.engine.connect() as connection:
                    position = await connection.scalar(select(outbox.c.position))
                return position is not None

            await eventually(sequenced, within=3)
        assert relay._task is None  # stopped with the app


async def test_events_relay_off_runs_none() -> None:
    async with test_database("events_app_off") as url:
        app = create_app(
            RegistrySettings(
                database_url=url, environment="test", log_json=False, events_relay="off"
            )
        )
        async with app.router.lifespan_context(app):
            assert app.state.relay is None
        await app.state.engine.dispose()


def test_a_broker_url_of_another_kind_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="nats://"):
        RegistrySettings(environment="test", events_broker_url="kafka://127.0.0.1:9092")
    assert RegistrySettings(environment="test", events_broker_url="").events_broker_url is None
