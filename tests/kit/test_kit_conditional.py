"""ETags: `If-None-Match` answers 304, `If-Match` guards writes (428 missing, 412 stale)."""

from __future__ import annotations

import pytest

from tdi_kit.conditional import check_if_match, etag_for, none_match
from tdi_kit.errors import PreconditionFailed, PreconditionRequired

TAG = etag_for(b'{"code":"ti-2708"}')


def test_an_etag_is_a_quoted_digest_of_the_body() -> None:
    assert TAG.startswith('"') and TAG.endswith('"') and len(TAG) == 26
    assert etag_for(b'{"code":"ti-2708"}') == TAG
    assert etag_for(b'{"code":"ti-2707"}') != TAG


@pytest.mark.parametrize(
    "header",
    [TAG, f"W/{TAG}", f'"other", {TAG}', f'"other",{TAG} ', "*", f'W/"other", W/{TAG}'],
)
def test_if_none_match_naming_the_etag_matches(header: str) -> None:
    assert none_match(header, TAG)


@pytest.mark.parametrize("header", [None, "", '"other"', TAG.strip('"'), f'"x{TAG[1:]}'])
def test_if_none_match_naming_another_etag_does_not_match(header: str | None) -> None:
    assert not none_match(header, TAG)


def test_a_weak_etag_of_ours_matches_its_strong_twin() -> None:
    assert none_match(TAG, f"W/{TAG}")


def test_a_write_without_if_match_is_428() -> None:
    for header in (None, ""):
        with pytest.raises(PreconditionRequired) as raised:
            check_if_match(header, TAG, what="territory")
        assert raised.value.status == 428
        assert "If-Match" in str(raised.value.detail)


def test_a_write_with_a_stale_if_match_is_412_saying_the_current_etag() -> None:
    with pytest.raises(PreconditionFailed) as raised:
        check_if_match('"stale"', TAG, what="territory")
    assert raised.value.status == 412
    assert raised.value.extra == {"current_etag": TAG}
    # If-Match compares strongly: a weak tag does not license a write.
    with pytest.raises(PreconditionFailed):
        check_if_match(f"W/{TAG}", TAG, what="territory")


@pytest.mark.parametrize("header", [TAG, "*", f'"stale", {TAG}', f" {TAG} "])
def test_a_write_with_the_current_etag_or_a_star_passes(header: str) -> None:
    check_if_match(header, TAG, what="territory")
