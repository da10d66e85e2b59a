"""The funding service's events: one per change of a convention, an envelope, a tranche, an
allocation or a disbursement, written in the transaction of the change (`tdi_kit.events`).

Money moves are named after what happened (`allocation.committed`, `tranche.adjusted`...). An
allocation never committed is private, and so are its events: only its operator, its
envelope's examiner and admins see them, as they see the record (`funding.access`); once
committed, its events are public (the earlier ones stay private).

The payload's `record` holds the record's stored fields as its API serves them (the names the
reads show beside codes are left out: they are the registry's, copied at read time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from funding import rules
from funding.models import Allocation, Convention, Disbursement, Envelope
from tdi_kit.events import Event, emit

EVENT_TYPES: Mapping[str, str] = {
    "convention.created": "A convention de mobilisation was recorded.",
    "convention.changed": "A convention's fields changed.",
    "envelope.created": "An envelope was created with its tranches (endowments in the ledger).",
    "envelope.changed": "An envelope's fields, themes or award rules changed.",
    "tranche.opened": "A tranche (a year's money) was opened in an envelope.",
    "tranche.adjusted": "A tranche's amount was topped up or cut (an adjustment in the ledger).",
    "allocation.proposed": "An allocation was proposed (private: its operator and examiner).",
    "allocation.changed": "A proposed allocation changed (private to its operator and examiner).",
    "allocation.committed": "An allocation was committed: its money is reserved in its tranche.",
    "allocation.cancelled": "An allocation was cancelled; what was not disbursed went back.",
    "disbursement.recorded": "A disbursement was paid on an allocation (entered in the ledger).",
}

_ALLOCATION_FIELDS = [
    "id",
    "envelope_code",
    "year",
    "operator_code",
    "territory_code",
    "action_id",
    "title",
    "beneficiary_name",
    "beneficiary_siren",
    "reference",
    "amount_cents",
    "eligible_spending_cents",
    "cap_waiver",
    "decision_date",
    "status",
    "disbursed_cents",
    "released_cents",
    "cancel_reason",
    "is_demo",
    "version",
    "created_at",
    "updated_at",
    "committed_at",
    "cancelled_at",
]


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def allocation_audience(
    *, committed_at: dt.datetime | None, operator_code: str, examined_by: str | None
) -> tuple[str, ...] | None:
    """Who sees an allocation's events: everyone once committed; before, as the record."""
    if committed_at is not None:
        return None
    return (operator_code,) if examined_by is None else (operator_code, examined_by)


def allocation_record(values: Mapping[str, Any], region_codes: list[str]) -> dict[str, Any]:
    record = {name: _plain(values.get(name)) for name in _ALLOCATION_FIELDS}
    record["region_codes"] = sorted(region_codes)
    committed = 0 if values["status"] == "proposed" else values["amount_cents"]
    record["undisbursed_cents"] = committed - values["disbursed_cents"] - values["released_cents"]
    return record


def allocation_event(
    kind: str,
    allocation: Allocation | Mapping[str, Any],
    *,
    examined_by: str | None,
    actor_org: str | None,
    region_codes: list[str] | None = None,
    changed: list[str] | None = None,
) -> Event:
    """`allocation.<kind>`, from the record (a bulk push passes the values it inserted)."""
    values: Mapping[str, Any]
    if isinstance(allocation, Allocation):
        values = {name: getattr(allocation, name) for name in _ALLOCATION_FIELDS}
        regions = [r.region_code for r in allocation.regions]
        record = allocation_record(values, regions)
        record["undisbursed_cents"] = rules.undisbursed_cents(allocation)
    else:
        values = allocation
        record = allocation_record(values, region_codes or [])
    payload: dict[str, Any] = {"record": record}
    if changed is not None:
        payload["changed"] = changed
    return Event(
        type=f"allocation.{kind}",
        subject_kind="allocation",
        subject_id=str(values["id"]),
        version=values["version"],
        actor_org=actor_org,
        audience=allocation_audience(
            committed_at=values["committed_at"],
            operator_code=values["operator_code"],
            examined_by=examined_by,
        ),
        payload=payload,
    )


def disbursement_event(
    values: Mapping[str, Any] | Disbursement,
    allocation: Allocation,
    *,
    examined_by: str | None,
    actor_org: str | None,
) -> Event:
    if isinstance(values, Disbursement):
        values = {c: getattr(values, c) for c in ("id", "allocation_id", "amount_cents")} | {
            "paid_on": values.paid_on,
            "reference": values.reference,
            "is_demo": values.is_demo,
            "created_at": values.created_at,
        }
    record = {
        name: _plain(values[name])
        for name in (
            ["id", "allocation_id", "amount_cents", "paid_on", "reference", "is_demo", "created_at"]
        )
    }
    return Event(
        type="disbursement.recorded",
        subject_kind="disbursement",
        subject_id=str(values["id"]),
        actor_org=actor_org,
        audience=allocation_audience(
            committed_at=allocation.committed_at,
            operator_code=allocation.operator_code,
            examined_by=examined_by,
        ),
        payload={
            "record": record,
            "allocation": {
                "id": str(allocation.id),
                "version": allocation.version,
                "status": allocation.status,
                "disbursed_cents": allocation.disbursed_cents,
            },
        },
    )


def read_event(
    type_: str,
    kind: str,
    subject_id: str,
    record: BaseModel,
    *,
    version: int | None,
    actor_org: str | None,
    changed: list[str] | None = None,
) -> Event:
    """A public record's event, with the record as its read serves it."""
    payload: dict[str, Any] = {"record": record.model_dump(mode="json")}
    if changed is not None:
        payload["changed"] = changed
    return Event(
        type=type_,
        subject_kind=kind,
        subject_id=subject_id,
        version=version,
        actor_org=actor_org,
        payload=payload,
    )


async def emit_read(
    session: AsyncSession,
    type_: str,
    subject_id: str,
    record: BaseModel,
    *,
    actor_org: str | None,
    version: int | None = None,
    changed: list[str] | None = None,
) -> None:
    """Emit a public record's event (`read_event`) in the write's transaction; its subject's
    kind is the type's first word (`tranche.opened`: a tranche's)."""
    kind = type_.partition(".")[0]
    event = read_event(
        type_, kind, subject_id, record, version=version, actor_org=actor_org, changed=changed
    )
    await emit(session, event)


async def emit_versioned(
    session: AsyncSession,
    type_: str,
    row: Convention | Envelope,
    record: BaseModel,
    *,
    actor_org: str | None,
    changed: list[str] | None = None,
) -> None:
    """`emit_read` of a record named by its code, at the version the write left it."""
    await emit_read(
        session, type_, row.code, record, actor_org=actor_org, version=row.version, changed=changed
    )


def tranche_id(envelope: Envelope | str, year: int) -> str:
    """A tranche as its API names it: `/envelopes/{code}/tranches/{year}`."""
    code = envelope if isinstance(envelope, str) else envelope.code
    return f"{code}/{year}"
