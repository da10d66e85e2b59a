"""The locks on Idempotency-Keys: held for the life of a request, by one holder at a time."""

from __future__ import annotations

import pytest

from tdi_kit import testing
from tdi_kit.auth import Caller
from tdi_kit.db import create_engine
from tdi_kit.idempotency import principal_of
from tdi_kit.keylocks import key_locks, lock_id


def _caller(**fields: object) -> Caller:
    values: dict = {"sub": "alice", "org": "bpifrance", "scopes": frozenset(), "iss": None}
    values.update(fields)
    return Caller(**values)


def test_the_principal_is_the_whole_identity_and_not_the_scopes() -> None:
    base = principal_of(_caller())
    assert principal_of(_caller(scopes=frozenset({"admin"}))) == base
    for other in (
        _caller(org="banque-des-territoires"),
        _caller(org=None),
        _caller(sub="bob"),
        _caller(iss="https://idp.example"),
    ):
        assert principal_of(other) != base
    # No ambiguity between fields: ("a@b", None) is not ("a", "b").
    assert principal_of(_caller(sub="alice|bpifrance", org=None)) != base
    assert lock_id(base, "k") != lock_id(principal_of(_caller(sub="bob")), "k")
    assert -(2**63) <= lock_id(base, "k") < 2**63


async def test_a_key_has_one_holder_at_a_time_and_is_free_when_it_ends() -> None:
    async with testing.test_database("idem_locks") as url:
        engine = create_engine(url)
        # Two apps of one process on the same database (a live server beside a test client).
        first, second = key_locks(engine, pool_size=2), key_locks(engine, pool_size=2)
        try:
            async with first.hold(42) as held:
                assert held
                for locks in (first, second):
                    async with locks.hold(42) as again:
                        assert not again
                    async with locks.hold(43) as other:
                        assert other
            async with second.hold(42) as held:
                assert held
            with pytest.raises(RuntimeError):
                async with first.hold(42) as held:
                    assert held
                    raise RuntimeError("the request failed")
            async with second.hold(42) as held:
                assert held
        finally:
            await first.aclose()
            await second.aclose()
            await engine.dispose()
