"""The registry's tables. Official codes are the primary keys: INSEE, SIREN, territory codes."""

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
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tdi_kit.dataversions import data_versions_table
from tdi_kit.db import StoredDocument, Uuid, new_metadata
from tdi_kit.events import events_table
from tdi_kit.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


idempotency_keys = idempotency_table(Base.metadata)
# The outbox: each change's events, committed with it (tdi_kit.events).
outbox = events_table(Base.metadata)
# A value the database changes in every transaction that changes the register (triggers of
# migration 0006: territories, the programme's phases and milestones, the Régions' names): the
# answers kept under it (`tdi_kit.dataversions`) are current while it is the database's.
data_versions = data_versions_table(Base.metadata)
REGISTER = "register"


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)


class Groupement(Base):
    """An EPCI (CC, CA, CU, métropole), a Grand Paris EPT, or a commune standing alone."""

    __tablename__ = "groupements"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    nature: Mapped[str] = mapped_column(String(8))
    seat_department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    search_text: Mapped[str] = mapped_column(String(300))


class GroupementDepartment(Base):
    """The departments an EPCI's communes lie in (an EPCI may straddle two)."""

    __tablename__ = "groupement_departments"

    siren: Mapped[str] = mapped_column(ForeignKey("groupements.siren"), primary_key=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("departments.code"), primary_key=True, index=True
    )


class Commune(Base):
    __tablename__ = "communes"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("groupements.siren"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    search_text: Mapped[str] = mapped_column(String(200))


class Organisation(Base):
    """State services, Régions, operators and partners, under stable lowercase codes."""

    __tablename__ = "organisations"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    siren: Mapped[str | None] = mapped_column(String(9))
    website: Mapped[str | None] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(String(300))


class Territory(StoredDocument, Base):
    """A labelled territory of one programme phase.

    `document` is the territory as the API serves it (members, governance, regions, ...), kept
    up to date by every write: reads then cost one indexed row fetch and no assembly.
    """

    __tablename__ = "territories"
    # A phase's territories by name (`phase=2&sort=-name`): read in order, no sort of the
    # documents (SQLite's sorter copied every matching document).
    __table_args__ = (Index("ix_territories_phase_name_key", "phase", "name_key", "code"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[int] = mapped_column(Integer, index=True)
    # `ended` once its phase is over (see refresh); `archived` by an administrator.
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The official Région: ANCT's for phase 2; else the one holding most of its population.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    region_source: Mapped[str | None] = mapped_column(String(32))
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Sorting by name follows the folded name, so that "Évry" sorts among the E on both databases.
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    phase1_overlaps: Mapped[list[str]] = mapped_column(JSON, default=list)

    binome_elected_name: Mapped[str | None] = mapped_column(String(200))
    binome_elected_mandate: Mapped[str | None] = mapped_column(String(200))
    binome_industrialist_name: Mapped[str | None] = mapped_column(String(200))
    binome_industrialist_company: Mapped[str | None] = mapped_column(String(200))
    chef_de_projet_name: Mapped[str | None] = mapped_column(String(200))
    chef_de_projet_email: Mapped[str | None] = mapped_column(String(200))
    chef_de_projet_employer: Mapped[str | None] = mapped_column(String(200))

    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    members: Mapped[list[TerritoryMember]] = relationship(
        back_populates="territory", cascade="all, delete-orphan", order_by="TerritoryMember.siren"
    )
    referents: Mapped[list[TerritoryReferent]] = relationship(
        cascade="all, delete-orphan", order_by="TerritoryReferent.organisation_code"
    )


class TerritoryMember(Base):
    """A groupement's membership; `phase` is repeated so the database itself refuses a groupement
    in two territories of one phase."""

    __tablename__ = "territory_members"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    siren: Mapped[str] = mapped_column(ForeignKey("groupements.siren"), primary_key=True)
    phase: Mapped[int] = mapped_column(Integer)
    # Phase 1 was defined by commune: the share of the EPCI's communes the territory covered.
    coverage: Mapped[float | None] = mapped_column(Float)

    territory: Mapped[Territory] = relationship(back_populates="members")
    groupement: Mapped[Groupement] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("phase", "siren", name="uq_territory_members_phase_siren"),
        Index("ix_territory_members_siren", "siren"),
    )


class TerritoryCommune(Base):
    """Phase 1's official list by commune (COG 2020 codes, some since merged: no foreign key)."""

    __tablename__ = "territory_communes"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)


class TerritoryDepartment(Base):
    """Derived from the members and communes on every write; kept for filtering."""

    __tablename__ = "territory_departments"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("departments.code"), primary_key=True, index=True
    )


class TerritoryRegion(Base):
    __tablename__ = "territory_regions"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    region_code: Mapped[str] = mapped_column(
        ForeignKey("regions.code"), primary_key=True, index=True
    )


class TerritoryReferent(Base):
    """One referent per operator and territory, as the conventions de mobilisation require."""

    __tablename__ = "territory_referents"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    organisation_code: Mapped[str] = mapped_column(
        ForeignKey("organisations.code"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class TerritoryOutline(Base):
    """A phase-2 outline: a GeoJSON geometry (WGS 84), stored as text."""

    __tablename__ = "territory_outlines"

    territory_code: Mapped[str] = mapped_column(ForeignKey("territories.code"), primary_key=True)
    geometry: Mapped[str] = mapped_column(Text)


class ProgrammePhase(Base):
    """A phase of the programme with its dates, as the public record gives them."""

    __tablename__ = "programme_phases"

    phase: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    source_title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(300))
    caveat: Mapped[str | None] = mapped_column(Text)


class ProgrammeMilestone(Base):
    """A dated figure of the public record: what it measures, its value, who said it."""

    __tablename__ = "programme_milestones"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    # `day`, `month` or `year`: a month or a year is stored as its first day.
    date_precision: Mapped[str] = mapped_column(String(8))
    phase: Mapped[int] = mapped_column(ForeignKey("programme_phases.phase"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    measure: Mapped[str] = mapped_column(String(48), index=True)
    # A count (`value`) or money (`amount_cents`); null is "not in the record", never 0.
    value: Mapped[int | None] = mapped_column(BigInteger)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"))
    description: Mapped[str] = mapped_column(Text)
    source_title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(300))
    caveat: Mapped[str | None] = mapped_column(Text)


class WebhookSubscription(Base):
    """An organisation's webhook: where the events it may see, of the types it chose, are sent."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Exact types (`allocation.committed`) or a whole kind (`allocation.*`).
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept to sign with (HMAC needs the secret itself); served once, at creation or rotation.
    secret: Mapped[str] = mapped_column(String(100))
    # Deliveries given up in a row: past the setting, the subscription is disabled.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event for one subscription, with its attempts so far (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    # A replayed event (at least once) makes no second delivery.
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_log", "subscription_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(64))
    # The body sent, as signed: the event as served (`tdi_kit.events.schema.EventRead`).
    body: Mapped[str] = mapped_column(Text)
    # pending (an attempt is due at `next_attempt_at`), delivered, failed (given up).
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The attempts before the current round of retries (a manual redelivery starts a new one).
    round_start: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookFeedCursor(Base):
    """How far the dispatcher has read each service's events feed."""

    __tablename__ = "webhook_feed_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
