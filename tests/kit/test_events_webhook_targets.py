"""Which targets a webhook may reach, and when it is tried again."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tdi_kit.events.webhooks.backoff import SCHEDULE_SECONDS, next_delay
from tdi_kit.events.webhooks.signing import new_secret
from tdi_kit.events.webhooks.targets import UnsafeTarget, resolve


def resolving_to(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolver(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ],
)
async def test_names_resolving_to_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeTarget, match="resolves to"):
        await resolve(
            "https://hooks.example/x",
            require_https=True,
            allow_private=False,
            resolver=resolving_to(address),
        )


async def test_one_internal_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(UnsafeTarget):
        await resolve(
            "https://hooks.example/x",
            require_https=True,
            allow_private=False,
            resolver=resolving_to("93.184.215.14", "127.0.0.1"),
        )


async def test_a_public_target_resolves_to_the_address_the_attempt_connects_to() -> None:
    target = await resolve(
        "https://hooks.example:8443/x",
        require_https=True,
        allow_private=False,
        resolver=resolving_to("93.184.215.14"),
    )
    assert (target.host, target.port, target.address) == ("hooks.example", 8443, "93.184.215.14")


@pytest.mark.parametrize(
    "url", ["http://hooks.example/x", "https://user:pw@hooks.example/x", "file:///etc/passwd"]
)
async def test_plain_http_credentials_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await resolve(
            url, require_https=True, allow_private=False, resolver=resolving_to("93.184.215.14")
        )


def test_retries_follow_the_schedule_with_full_jitter_then_give_up() -> None:
    assert [next_delay(n, draw=lambda: 1.0) for n in range(1, 8)] == list(SCHEDULE_SECONDS)
    assert next_delay(1, draw=lambda: 0.5) == 2.5
    assert next_delay(len(SCHEDULE_SECONDS) + 1) is None
    assert 20 * 3600 < sum(SCHEDULE_SECONDS) < 48 * 3600


def test_secrets_are_standard_webhooks_secrets() -> None:
    import base64

    secret = new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert new_secret() != secret
