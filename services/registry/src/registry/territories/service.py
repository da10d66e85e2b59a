"""The programme's rules for territories: membership, governance, and the served document."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry import events
from registry.models import (
    REGISTER,
    Commune,
    Groupement,
    Organisation,
    Territory,
    TerritoryCommune,
    TerritoryMember,
    TerritoryOutline,
    TerritoryReferent,
)
from registry.programme.service import current_phase
from registry.schemas import (
    CommuneRead,
    CoveringTerritory,
    GovernanceWrite,
    MemberWrite,
    TerritoryCreate,
    TerritoryUpdate,
)
from registry.territories import contacts, queries
from registry.territories.documents import refresh
from tdi_kit.conditional import check_if_match, etag_for
from tdi_kit.dataversions import Kept
from tdi_kit.errors import Conflict, NotFound, Unprocessable, or_not_found
from tdi_kit.events import emit
from tdi_kit.pagination import ListParams, RowsPage, Sort, parse_sort, read_page
from tdi_kit.pagination import page_json as tdi_page_json
from tdi_kit.rowlists import RowList
from tdi_kit.rowreader import RowReader


def sort_for(params: ListParams) -> Sort:
    return parse_sort(
        params.sort, allowed=queries.SORTABLE, default="code", unique=("code", Territory.code)
    )


async def get_document(rows: RowReader, *, code: str) -> tuple[str, str]:
    """The served JSON and its ETag: one indexed row, no assembly (see `refresh`)."""
    found = or_not_found(await rows.one(queries.DOCUMENT_BY_CODE, code=code), "territory", code)
    return found[0], found[1]


async def list_documents(
    rows: RowReader, *, params: ListParams, filters: dict[str, Any]
) -> RowsPage:
    """A page of stored documents (one column) and the total, read as a territory by code is."""
    stmt = queries.filtered(select(Territory.document), **await _resolved(rows, filters))
    return await read_page(rows, stmt, sort=sort_for(params), params=params)


async def page_json(
    rows: RowReader, *, params: ListParams, filters: dict[str, Any], full: bool
) -> tuple[bytes, str, str | None]:
    """A JSON page of stored documents as a caller sees them (`full`: with the contacts), its
    ETag and the next page's cursor: kept under the register's data version, so that the
    dashboard's every territory (one page of 1,000, 300 KB) costs one indexed row, not its
    assembly and its hash, until a territory changes."""
    filters = await _resolved(rows, filters)

    async def render() -> tuple[bytes, str, str | None]:
        page = await list_documents(rows, params=params, filters=filters)
        documents = contacts.documents_for_caller([row[0] for row in page.rows], full=full)
        body = tdi_page_json(documents, page.next_cursor, page.total).encode()
        return body, etag_for(body), page.next_cursor

    if filters.get("commune") is not None:
        # The commune filter reads communes, which the register's data version does not
        # follow (the seed alone writes them). Every other filter reads the territories and
        # the tables their writes rewrite with them.
        return await render()
    return await PAGES.get(rows, (params, full, *sorted(filters.items())), render)


PAGES: Kept[tuple[bytes, str, str | None]] = Kept(REGISTER, size=16)


async def _resolved(rows: RowReader, filters: dict[str, Any]) -> dict[str, Any]:
    if filters.get("phase") is None:
        return filters
    return {**filters, "phase": await _phase_number(rows, filters["phase"])}


async def _phase_number(rows: RowReader, phase: str) -> int:
    if phase != "current":
        return int(phase)
    # Between two phases no phase is under way: nothing matches, rather than a guess.
    return await current_phase(rows) or 0


async def create(
    session: AsyncSession, *, payload: TerritoryCreate, actor_org: str | None = None
) -> Territory:
    if (payload.phase == 2) != payload.code.startswith("ti-"):
        raise Unprocessable.field(
            "body", "code", "phase-2 codes start with `ti-` (ti-2708); phase-1 codes do not (2708)"
        )
    if await session.get(Territory, payload.code) is not None:
        raise Conflict(f"Territory {payload.code} already exists.", territory_code=payload.code)
    territory = Territory(
        code=payload.code,
        name=payload.name,
        phase=payload.phase,
        status="active",
        search_text="",
        phase1_overlaps=[],
        version=0,
        members=[],
        referents=[],
    )
    session.add(territory)
    for i, siren in enumerate(payload.members):
        if siren not in {m.siren for m in territory.members}:
            await _add_member(
                session, territory, siren=siren, coverage=None, field=("body", f"members.{i}")
            )
    await refresh(session, territory)
    await emit(session, events.territory_created(territory, actor_org=actor_org))
    return territory


async def update(
    session: AsyncSession,
    *,
    code: str,
    payload: TerritoryUpdate,
    if_match: str | None,
    actor_org: str | None = None,
) -> Territory:
    # An archived territory is read-only: the one change it takes is being restored.
    restoring = payload.status == "active"
    territory = await _for_write(session, code, if_match, allow_archived=restoring)
    before = events.record(territory)
    if payload.name is not None:
        territory.name = payload.name
    if payload.status is not None:
        territory.status = payload.status
    await refresh(session, territory)
    await emit(session, events.territory_changed(territory, before=before, actor_org=actor_org))
    return territory


async def archive(
    session: AsyncSession, *, code: str, if_match: str | None, actor_org: str | None = None
) -> Territory:
    return await update(
        session,
        code=code,
        payload=TerritoryUpdate(status="archived"),
        if_match=if_match,
        actor_org=actor_org,
    )


async def put_member(
    session: AsyncSession,
    *,
    code: str,
    siren: str,
    payload: MemberWrite,
    if_match: str | None,
    actor_org: str | None = None,
) -> Territory:
    territory = await _for_write(session, code, if_match)
    before = events.record(territory)
    existing = next((m for m in territory.members if m.siren == siren), None)
    if existing is not None:
        existing.coverage = payload.coverage
    else:
        await _add_member(
            session, territory, siren=siren, coverage=payload.coverage, field=("path", "siren")
        )
    await refresh(session, territory)
    what = "added" if existing is None else "changed"
    await emit(
        session,
        events.member_event(what, territory, siren=siren, before=before, actor_org=actor_org),
    )
    return territory


async def remove_member(
    session: AsyncSession,
    *,
    code: str,
    siren: str,
    if_match: str | None,
    actor_org: str | None = None,
) -> Territory:
    territory = await _for_write(session, code, if_match)
    before = events.record(territory)
    member = next((m for m in territory.members if m.siren == siren), None)
    if member is None:
        raise NotFound("member", f"{siren} in territory {code}")
    territory.members.remove(member)
    await session.flush()
    await refresh(session, territory)
    await emit(
        session,
        events.member_event("removed", territory, siren=siren, before=before, actor_org=actor_org),
    )
    return territory


async def set_governance(
    session: AsyncSession,
    *,
    code: str,
    payload: GovernanceWrite,
    if_match: str | None,
    actor_org: str | None = None,
) -> Territory:
    territory = await _for_write(session, code, if_match)
    before = events.record(territory)
    codes = [r.organisation_code for r in payload.referents]
    if len(set(codes)) != len(codes):
        raise Unprocessable.field("body", "referents", "one referent per organisation")
    known = set(
        await session.scalars(select(Organisation.code).where(Organisation.code.in_(codes)))
    )
    for i, referent in enumerate(payload.referents):
        if referent.organisation_code not in known:
            raise Unprocessable.field(
                "body",
                f"referents.{i}.organisation_code",
                f"no organisation with code {referent.organisation_code}",
            )
    binome = payload.binome
    territory.binome_elected_name = (
        binome.elected_official.name if binome.elected_official else None
    )
    territory.binome_elected_mandate = (
        binome.elected_official.role if binome.elected_official else None
    )
    territory.binome_industrialist_name = (
        binome.industrialist.name if binome.industrialist else None
    )
    territory.binome_industrialist_company = (
        binome.industrialist.role if binome.industrialist else None
    )
    lead = payload.chef_de_projet
    territory.chef_de_projet_name = lead.name if lead else None
    territory.chef_de_projet_email = str(lead.email) if lead and lead.email else None
    territory.chef_de_projet_employer = lead.employer if lead else None
    territory.referents.clear()
    await session.flush()
    for referent in payload.referents:
        territory.referents.append(
            TerritoryReferent(
                organisation_code=referent.organisation_code,
                name=referent.name,
                email=str(referent.email) if referent.email else None,
                organisation=await session.get(Organisation, referent.organisation_code),
            )
        )
    await refresh(session, territory)
    await emit(session, events.governance_changed(territory, before=before, actor_org=actor_org))
    return territory


async def covering_commune(session: AsyncSession, *, insee: str) -> list[CoveringTerritory]:
    commune = await session.get(Commune, insee)
    listed = await session.scalar(
        select(TerritoryCommune.insee).where(TerritoryCommune.insee == insee).limit(1)
    )
    if commune is None and listed is None:
        raise NotFound("commune", insee)
    stmt = (
        select(Territory)
        .where(queries.covering_commune(insee))
        .order_by(Territory.phase, Territory.code)
    )
    sirens = {commune.epci_siren, commune.siren} if commune else set()
    found = []
    for territory in await session.scalars(stmt.options(selectinload(Territory.members))):
        via = next((m.siren for m in territory.members if m.siren in sirens), None)
        found.append(_covering(territory, via))
    return found


async def covering_groupement(session: AsyncSession, *, siren: str) -> list[CoveringTerritory]:
    if await session.get(Groupement, siren) is None:
        raise NotFound("groupement", siren)
    stmt = (
        select(Territory)
        .join(TerritoryMember, TerritoryMember.territory_code == Territory.code)
        .where(TerritoryMember.siren == siren)
        .order_by(Territory.phase, Territory.code)
    )
    return [_covering(t, siren) for t in await session.scalars(stmt)]


# A territory's communes: the commune list's own columns and items, on its own sort keys.
# The order and cursors are the same for both phases: `insee`, `name`, ending on `insee`.
COMMUNES = {
    phase: RowList.of_columns(
        CommuneRead,
        sortable=covered.sortable,
        default="insee",
        unique=("insee", covered.sortable["insee"]),
    )
    for phase, covered in queries.COMMUNES_OF.items()
}


async def communes_of(rows: RowReader, *, code: str, params: ListParams) -> RowsPage:
    """Two statements whatever the page: the territory's phase (or the 404), then the page."""
    found = or_not_found(await rows.one(queries.PHASE_BY_CODE, code=code), "territory", code)
    listed, stmt = COMMUNES[found[0]], queries.COMMUNES_OF[found[0]].stmt
    return await read_page(
        rows, stmt, sort=listed.sort(params), params=params, values={"code": code}
    )


async def outline(session: AsyncSession, *, code: str) -> tuple[Territory, str]:
    territory = or_not_found(await session.get(Territory, code), "territory", code)
    found = await session.get(TerritoryOutline, code)
    if found is None:
        raise NotFound("outline", code)
    return territory, found.geometry


async def outlines(session: AsyncSession, *, region: str | None) -> list[tuple[Territory, str]]:
    stmt = select(Territory, TerritoryOutline.geometry).join(
        TerritoryOutline, TerritoryOutline.territory_code == Territory.code
    )
    stmt = queries.filtered(stmt, region=region).order_by(Territory.code)
    return [(t, g) for t, g in (await session.execute(stmt)).all()]


async def _for_write(
    session: AsyncSession, code: str, if_match: str | None, *, allow_archived: bool = False
) -> Territory:
    # The row lock (PostgreSQL) makes the If-Match check and the write one step.
    territory = or_not_found(
        await queries.by_code(session, code, for_update=True), "territory", code
    )
    check_if_match(if_match, territory.etag, what="territory")
    if territory.status == "archived" and not allow_archived:
        raise Conflict(f"Territory {code} is archived; restore it (status active) to change it.")
    return territory


async def _add_member(
    session: AsyncSession,
    territory: Territory,
    *,
    siren: str,
    coverage: float | None,
    field: tuple[str, str],
) -> None:
    groupement = await session.get(Groupement, siren)
    if groupement is None:
        raise Unprocessable.field(*field, f"no groupement with SIREN {siren}")
    holder = await queries.holder_of(session, siren=siren, phase=territory.phase)
    if holder is not None and holder.territory_code != territory.code:
        raise Conflict(
            f"Groupement {siren} already belongs to territory {holder.territory_code} of phase "
            f"{territory.phase}; remove it there first.",
            siren=siren,
            territory_code=holder.territory_code,
        )
    territory.members.append(
        TerritoryMember(
            siren=siren, phase=territory.phase, coverage=coverage, groupement=groupement
        )
    )


def _covering(territory: Territory, via: str | None) -> CoveringTerritory:
    return CoveringTerritory(
        phase=territory.phase,
        code=territory.code,
        name=territory.name,
        status=territory.status,
        via_siren=via,
    )
