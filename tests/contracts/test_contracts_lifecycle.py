"""The contract lifecycle as pure functions (`contracts.contracts.lifecycle`): the live slot, the
moves, who must sign. The API tests check the same rules end to end; these pin the module that
every path (endpoints, amendments, seeds) now asks."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.contracts import lifecycle
from contracts.models import Signatory
from tdi_kit.errors import Conflict, Unprocessable

DAY = dt.date(2024, 3, 19)


def _signatory(role: str, signed_on: dt.date | None) -> Signatory:
    return Signatory(role=role, signed_on=signed_on)


@pytest.mark.parametrize("status", ["draft", "signed", "in_progress"])
def test_a_live_act_holds_its_territorys_slot_for_the_phase_whatever_its_kind(status: str) -> None:
    # The slot names the territory and the phase only: a protocole and a contract share it.
    assert lifecycle.slot_for("ti-0001", 2, status) == "ti-0001:2"


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_an_ended_act_frees_the_slot(status: str) -> None:
    assert lifecycle.slot_for("ti-0001", 2, status) is None


def test_moves_start_only_where_the_lifecycle_allows() -> None:
    assert lifecycle.move_target("signed", "start") == "in_progress"
    assert lifecycle.move_target("draft", "cancel") == "cancelled"
    with pytest.raises(Conflict) as raised:
        lifecycle.move_target("draft", "close")
    assert "it can from in_progress or signed" in raised.value.detail


def test_a_draft_is_signed_on_the_last_required_signature() -> None:
    later = DAY + dt.timedelta(days=3)
    signatories = [
        _signatory("prefet", DAY),
        _signatory("president_region", later),
        _signatory("president_epci", DAY),
        _signatory("operator", None),  # co-signs; not required
    ]
    assert lifecycle.signed_on("draft", signatories) == later
    assert lifecycle.signed_on("signed", signatories) is None


@pytest.mark.parametrize(
    "signatories",
    [
        [("prefet", DAY)],  # no Région
        [("president_region", DAY), ("president_epci", DAY)],  # no State
        [("prefet", DAY), ("president_region", DAY), ("president_epci", None)],  # an EPCI waits
    ],
)
def test_a_draft_waits_for_every_required_party(signatories: list[tuple[str, dt.date]]) -> None:
    assert lifecycle.signed_on("draft", [_signatory(r, d) for r, d in signatories]) is None


def test_a_signature_is_not_dated_in_the_future() -> None:
    lifecycle.check_signature_day(DAY + dt.timedelta(days=1), DAY)  # a day of grace
    with pytest.raises(Unprocessable):
        lifecycle.check_signature_day(DAY + dt.timedelta(days=2), DAY)
