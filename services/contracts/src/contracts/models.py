"""The contracts service's tables.

Contracts and fiches-actions keep, next to their columns, the JSON `document` the API serves and
its `etag`, rewritten by every change (see `contracts.documents`): a list page is then one
indexed statement whatever its size, and a past version is the document as it was.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tdi_kit import clock
from tdi_kit.copies import organisations_table
from tdi_kit.dataversions import data_versions_table
from tdi_kit.db import StoredDocument, Uuid, new_metadata
from tdi_kit.events import events_table
from tdi_kit.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


idempotency_keys = idempotency_table(Base.metadata)
# The outbox: each change's events, committed with it (tdi_kit.events).
outbox = events_table(Base.metadata)
# Our copy of the registry's organisation names, shown beside codes (tdi_kit.copies).
organisations = organisations_table(Base.metadata)
# A value the database changes in the transaction of every change to the contracts' record
# (triggers of migration 0007): the lists' pages kept under it (`tdi_kit.dataversions`) are
# current while it is the database's.
data_versions = data_versions_table(Base.metadata)
CONTRACTS = "contracts"


class Listed(StoredDocument):
    """What contracts and actions keep alike to be listed, searched and served: the folded
    title sorted on, the words searched, the version and times, the stored document."""

    title_key: Mapped[str] = mapped_column(String(300), default="", index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now_to_second
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now_to_second, index=True
    )


class Territory(Base):
    """What the registry said of a territory when a contract or action last named it.

    The registry owns territories; this copy, refreshed at each write, lets lists filter by
    region and phase without calling it on every read.
    """

    __tablename__ = "territories"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now_to_second
    )

    regions: Mapped[list[TerritoryRegion]] = relationship(
        cascade="all, delete-orphan", order_by="TerritoryRegion.region_code", lazy="selectin"
    )


class TerritoryRegion(Base):
    __tablename__ = "territory_regions"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)
    region_name: Mapped[str] = mapped_column(String(100))


class Contract(Listed, Base):
    """A protocole d'accord or a contrat de territoire d'industrie."""

    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), index=True)
    phase: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    enjeux: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signature_place: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # `territory:phase` while the act is live (draft, signed, in progress), else null, whatever
    # its kind: the unique constraint makes "one live act per territory and phase" hold even for
    # two writers racing (NULLs never collide). Set through `contracts.contracts.lifecycle`.
    live_slot: Mapped[str | None] = mapped_column(String(40), unique=True)

    territory: Mapped[Territory] = relationship(lazy="joined", innerjoin=True)
    signatories: Mapped[list[Signatory]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="Signatory.position",
        lazy="selectin",
    )
    actions: Mapped[list[Action]] = relationship(back_populates="contract", order_by="Action.code")

    __table_args__ = (Index("ix_contracts_territory_code_kind_id", "territory_code", "kind", "id"),)


class ContractChild:
    """What a contract's signatories and amendments keep alike: their own id and the contract
    they belong to, first in each table as they were declared before (`sort_order`)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4, sort_order=-1)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id"), index=True, sort_order=-1
    )


class Signatory(ContractChild, Base):
    """A party to a contract: an organisation of the registry, an EPCI by SIREN, or a name."""

    __tablename__ = "signatories"

    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    organisation_code: Mapped[str | None] = mapped_column(String(64))
    siren: Mapped[str | None] = mapped_column(String(9))
    name: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)

    contract: Mapped[Contract] = relationship(back_populates="signatories")


class Action(Listed, Base):
    """A fiche-action: one project of a contract's action plan.

    `contract_id` is null for a project on record whose act is not known (the public source
    names the project and its territory only).
    """

    __tablename__ = "actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), index=True)
    phase: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    axis: Mapped[str | None] = mapped_column(String(16), index=True)
    priority: Mapped[str | None] = mapped_column(String(32), index=True)
    owner_organisation_code: Mapped[str | None] = mapped_column(String(64))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    owner_siren: Mapped[str | None] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(16), index=True)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)

    contract: Mapped[Contract | None] = relationship(back_populates="actions")
    themes: Mapped[list[ActionTheme]] = relationship(
        cascade="all, delete-orphan", order_by="ActionTheme.theme", lazy="selectin"
    )
    plan_lines: Mapped[list[PlanLine]] = relationship(
        cascade="all, delete-orphan", order_by="PlanLine.position", lazy="selectin"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        cascade="all, delete-orphan", order_by="Indicator.position", lazy="selectin"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        cascade="all, delete-orphan", order_by="Milestone.position", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("contract_id", "code"),
        # The default order of the list (territory, code): a page is one index range scan.
        Index("ix_actions_territory_code_code_id", "territory_code", "code", "id"),
    )


class ActionTheme(Base):
    __tablename__ = "action_themes"

    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(48), primary_key=True, index=True)


class ActionChild:
    """What an action's plan lines, indicators and milestones keep alike: their own id, the
    action they belong to, and their place in its list (the order the API serves them in).
    First in each table, as they were declared before this class held them (`sort_order`)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4, sort_order=-1)
    action_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("actions.id"), index=True, sort_order=-1
    )
    position: Mapped[int] = mapped_column(Integer, sort_order=-1)


class PlanLine(ActionChild, Base):
    """One financer's share of an action's budget (its co-financing plan)."""

    __tablename__ = "plan_lines"

    financer_code: Mapped[str | None] = mapped_column(String(64), index=True)
    financer_name: Mapped[str | None] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # A funding-service allocation: the funding service checks this link from its side.
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Indicator(ActionChild, Base):
    __tablename__ = "indicators"

    label: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    # Measurements (jobs, tonnes of CO2, m²), not money: floats are right here.
    target: Mapped[float | None] = mapped_column(Float)
    actual: Mapped[float | None] = mapped_column(Float)
    as_of: Mapped[dt.date | None] = mapped_column(Date)


class Milestone(ActionChild, Base):
    __tablename__ = "milestones"

    label: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)


class Amendment(ContractChild, Base):
    """An avenant: numbered per contract, with the changes it made."""

    __tablename__ = "amendments"

    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    changes: Mapped[list[dict]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now_to_second
    )

    __table_args__ = (UniqueConstraint("contract_id", "number"),)


class ContractEvent(Base):
    """One entry of a contract's history: who changed what, and the contract as it then was."""

    __tablename__ = "contract_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(300))
    amendment_number: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[list[dict]] = mapped_column(JSON, default=list)
    by_sub: Mapped[str] = mapped_column(String(255))
    by_org: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now_to_second)
    snapshot: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("contract_id", "version"),)
