"""The funding service's tables.

Money is integer euro cents. The ledger (`ledger_entries`) is the record: append-only (the
migration adds triggers that refuse UPDATE and DELETE on it), and every balance the API serves is
its sums. The running totals on `tranches` and `allocations` exist for one reason: they are the
rows that concurrent writers lock and check, so a tranche is never over-committed and an
allocation never over-disbursed. They move in the same transaction as the ledger, and the tests
check after every step that they agree.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
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
from tdi_kit.db import Uuid, new_metadata
from tdi_kit.events import events_table
from tdi_kit.idempotency import idempotency_table

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
LedgerId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # The ledger is the record of every movement of money: its triggers refuse any change, and
    # the service's own role may only read it and add to it (tdi_kit.migrations.grant_app_role).
    metadata = new_metadata(append_only=("ledger_entries",))


idempotency_keys = idempotency_table(Base.metadata)
# The outbox: each change's events, committed with it (tdi_kit.events).
outbox = events_table(Base.metadata)
# Our copy of the registry's organisation names, shown beside codes (tdi_kit.copies).
organisations = organisations_table(Base.metadata)
# A value the database changes in the transaction of every change to the money's record
# (triggers of migration 0010): the lists' pages kept under it (`tdi_kit.dataversions`) are
# current while it is the database's.
data_versions = data_versions_table(Base.metadata)
MONEY = "funding"


class PublicRecord:
    """The last columns of a record the API publishes whole and changes under `If-Match`: its
    sources, whether it is invented for demonstrations, its version and its times (a mixin's
    columns follow the table's own, as they always have in these tables)."""

    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Convention(PublicRecord, Base):
    """A convention de mobilisation: what an operator committed to the programme."""

    __tablename__ = "conventions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_code: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    commitments: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)


class Envelope(PublicRecord, Base):
    """Money an operator sets aside for the programme, in annual tranches, with award rules."""

    __tablename__ = "envelopes"
    __table_args__ = (CheckConstraint("start_year <= end_year", name="period"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_code: Mapped[str] = mapped_column(String(64), index=True)
    convention_code: Mapped[str | None] = mapped_column(ForeignKey("conventions.code"), index=True)
    # The envelope whose money this one is part of (Rebond industriel within phase 2): its amount
    # is carved out of the parent's, never added to it.
    part_of: Mapped[str | None] = mapped_column(ForeignKey("envelopes.code"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    # The sorted themes joined by commas, so that a multi-theme envelope groups once under its
    # theme set (one GROUP BY on both databases) rather than once per theme.
    theme_set: Mapped[str] = mapped_column(String(800), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    start_year: Mapped[int] = mapped_column(Integer)
    end_year: Mapped[int] = mapped_column(Integer)
    # Award rules; None where the envelope has none (or none is public).
    max_rate_percent: Mapped[int | None] = mapped_column(Integer)
    cap_per_project_cents: Mapped[int | None] = mapped_column(BigInteger)
    cap_waivable: Mapped[bool] = mapped_column(Boolean, default=False)
    min_eligible_spending_cents: Mapped[int | None] = mapped_column(BigInteger)
    examined_by: Mapped[str | None] = mapped_column(String(64))
    rules_text: Mapped[str] = mapped_column(Text, default="")

    themes: Mapped[list[EnvelopeTheme]] = relationship(
        cascade="all, delete-orphan", order_by="EnvelopeTheme.theme", lazy="selectin"
    )
    tranches: Mapped[list[Tranche]] = relationship(
        back_populates="envelope", order_by="Tranche.year", lazy="selectin"
    )


class EnvelopeTheme(Base):
    """A row per theme, so that balances group by theme with a plain join on both databases."""

    __tablename__ = "envelope_themes"

    envelope_code: Mapped[str] = mapped_column(ForeignKey("envelopes.code"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(48), primary_key=True, index=True)


class Tranche(Base):
    """One year of an envelope. The totals are the lock-and-check rows, mirrored by the ledger."""

    __tablename__ = "tranches"
    __table_args__ = (
        UniqueConstraint("envelope_code", "year"),
        CheckConstraint("committed_cents <= amount_cents", name="not_over_committed"),
        CheckConstraint("disbursed_cents <= committed_cents", name="not_over_disbursed"),
        CheckConstraint("disbursed_cents >= 0", name="disbursed_not_negative"),
        CheckConstraint("last_year IS NULL OR last_year > year", name="period"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    envelope_code: Mapped[str] = mapped_column(ForeignKey("envelopes.code"))
    year: Mapped[int] = mapped_column(Integer)
    # The last year the tranche's money covers when no annual split is published (Rebond
    # industriel: 2023-2026); None for one year. Its money belongs to the period, not to `year`.
    last_year: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    committed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    envelope: Mapped[Envelope] = relationship(back_populates="tranches", lazy="raise")


class Allocation(Base):
    """Money of one tranche for a territory and, optionally, one fiche-action of its contract.

    proposed → committed → partly_disbursed → fully_disbursed; proposed, committed or partly
    disbursed → cancelled (what was committed and not disbursed goes back to the tranche).
    """

    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("operator_code", "reference"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("disbursed_cents + released_cents <= amount_cents", name="not_over_spent"),
        Index("ix_allocations_created_at_id", "created_at", "id"),
        # What an anonymous caller sees is what was ever committed: a page's total counts it
        # from this index instead of the table.
        Index("ix_allocations_committed_at", "committed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tranche_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tranches.id"), index=True)
    # Copied from the tranche so that filters and operator scoping need no join.
    envelope_code: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    operator_code: Mapped[str] = mapped_column(String(64), index=True)
    territory_code: Mapped[str] = mapped_column(String(16), index=True)
    action_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    title: Mapped[str] = mapped_column(String(300))
    beneficiary_name: Mapped[str] = mapped_column(String(200))
    beneficiary_siren: Mapped[str | None] = mapped_column(String(9), index=True)
    reference: Mapped[str | None] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    eligible_spending_cents: Mapped[int | None] = mapped_column(BigInteger)
    cap_waiver: Mapped[str | None] = mapped_column(String(200))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    disbursed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    released_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    regions: Mapped[list[AllocationRegion]] = relationship(
        cascade="all, delete-orphan", order_by="AllocationRegion.region_code", lazy="selectin"
    )


class AllocationRegion(Base):
    """The territory's regions, as the registry gave them when the allocation was written."""

    __tablename__ = "allocation_regions"

    allocation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocations.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)


class Disbursement(Base):
    __tablename__ = "disbursements"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_disbursements_allocation_id_created_at", "allocation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    allocation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocations.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(255))


class LedgerEntry(Base):
    """One movement of money, never changed or removed.

    Each entry moves up to three figures of one tranche: its amount (an endowment or a top-up),
    what is committed (a commitment, or a release when an allocation is cancelled) and what is
    disbursed. The dimensions are copied onto the entry so that every balance is one GROUP BY.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    effective_on: Mapped[dt.date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(255))
    actor_org: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    tranche_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tranches.id"), index=True)
    envelope_code: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    operator_code: Mapped[str] = mapped_column(String(64), index=True)
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("allocations.id"), index=True
    )
    disbursement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("disbursements.id"))
    territory_code: Mapped[str | None] = mapped_column(String(16), index=True)
    # Who put the money of an endowment in (etat, regions, banque-des-territoires...); None on
    # other movements, and on an endowment whose funder the public record does not name.
    funder_code: Mapped[str | None] = mapped_column(String(64), index=True)
    amount_delta_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    committed_delta_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_delta_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class BalanceSum(Base):
    """The ledger's sums, kept by the database as each entry is appended (balances.sums).

    One row per tranche, funder and demo flag, for every movement (`region_code` '') and again
    for the movements of the allocations of each Région (`region_code` '84'...): the dashboard's
    breakdowns read these few rows, however long the ledger grows. Keys are never null (a
    primary key cannot be): '' stands for no funder. Operator, theme set, year and nesting are
    read from the envelope and the tranche, as the GROUP BY over the ledger reads them.
    """

    __tablename__ = "balance_sums"

    region_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    tranche_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tranches.id"), primary_key=True)
    funder_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    envelope_code: Mapped[str] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    committed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # How many entries moved the amount: a nested envelope's line is carved out of its whole's
    # wherever one did, even when they sum to nothing (as the GROUP BY over the ledger does).
    amount_moves: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportedFigure(Base):
    """A figure of the public record (engaged, committed, disbursed, announced, projects): what a
    source said, as of a date. Never summed with the ledger, which holds what is recorded here."""

    __tablename__ = "reported_figures"
    __table_args__ = (
        CheckConstraint("(value_cents IS NULL) <> (count IS NULL)", name="one_value"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    measure: Mapped[str] = mapped_column(String(16), index=True)
    value_cents: Mapped[int | None] = mapped_column(BigInteger)
    count: Mapped[int | None] = mapped_column(Integer)
    # ISO 8601 at the precision the source gives: `2019-09-24`, `2025-01`, `2024`.
    as_of: Mapped[str | None] = mapped_column(String(10))
    # What the figure is about: an envelope, a convention (all its envelopes), an operator, or
    # (all None) the whole programme.
    envelope_code: Mapped[str | None] = mapped_column(ForeignKey("envelopes.code"), index=True)
    convention_code: Mapped[str | None] = mapped_column(ForeignKey("conventions.code"), index=True)
    operator_code: Mapped[str | None] = mapped_column(String(64), index=True)
    source_title: Mapped[str] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(String(500))
    caveat: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
