"""The territory's served document, and what derives from its members, recomputed after
every write."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Region, Territory
from registry.programme.rules import phase_status, today
from registry.schemas import (
    Binome,
    ChefDeProjet,
    CodeName,
    GovernanceRead,
    MemberRead,
    Person,
    ReferentRead,
    TerritoryRead,
)
from registry.seed.programme import REGION_ANCT, REGION_DERIVED
from registry.territories import queries
from tdi_kit import clock
from tdi_kit.conditional import etag_for
from tdi_kit.errors import Conflict
from tdi_kit.text import fold


async def refresh(session: AsyncSession, territory: Territory) -> None:
    """Recompute what derives from the members (departments, regions) and the served document.

    Every write ends here, so the document and its ETag can never lag behind the record.
    """
    try:
        # Writes the new members: the unique (phase, siren) refuses them here if a concurrent
        # writer took one of their groupements since the holder check.
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A member of this territory was claimed concurrently; retry.") from exc
    departments = await queries.derived_departments(session, territory)
    await _official_region(session, territory)
    phase = await queries.phase(session, territory.phase)
    if territory.status != "archived":
        ended = phase is not None and phase_status(phase, today()) == "ended"
        territory.status = "ended" if ended else "active"
    touched = {d.region_code for d in departments}
    if territory.region_code is not None:
        touched.add(territory.region_code)
    regions = await queries.regions(session, touched)
    await queries.replace_geography(
        session,
        territory.code,
        departments=[d.code for d in departments],
        regions=[r.code for r in regions],
    )
    # Found by its code, its name or any member's name.
    territory.search_text = " ".join(
        fold(part)
        for part in (
            territory.code,
            territory.name,
            *(m.groupement.name for m in territory.members),
        )
    )
    territory.name_key = fold(territory.name)
    territory.version = (territory.version or 0) + 1
    territory.updated_at = clock.now_to_second()
    document = TerritoryRead(
        code=territory.code,
        name=territory.name,
        phase=territory.phase,
        phase_starts_on=phase.starts_on if phase else None,
        phase_ends_on=phase.ends_on if phase else None,
        status=territory.status,
        region_code=territory.region_code,
        region_name=await _region_name(session, territory.region_code),
        region_source=territory.region_source,
        regions=[CodeName(code=r.code, name=r.name) for r in regions],
        departments=[CodeName(code=d.code, name=d.name) for d in departments],
        members=[
            MemberRead(
                siren=m.siren,
                name=m.groupement.name,
                kind=m.groupement.kind,
                nature=m.groupement.nature,
                coverage=m.coverage,
            )
            for m in sorted(territory.members, key=lambda m: m.siren)
        ],
        governance=_governance(territory),
        phase1_overlaps=territory.phase1_overlaps or [],
        commune_count=await queries.commune_count(session, territory),
        version=territory.version,
        updated_at=clock.rfc3339(territory.updated_at),
    )
    territory.document = document.model_dump_json()
    territory.etag = etag_for(territory.document.encode())
    await session.flush()


async def _official_region(session: AsyncSession, territory: Territory) -> None:
    """ANCT's Région stands as published; without one (phase 1 publishes none, a territory made
    here has none) it is the Région holding most of the territory's population, and says so."""
    if territory.region_source == REGION_ANCT and territory.region_code is not None:
        return
    population = await queries.population_by_region(session, territory)
    if not population:
        territory.region_code = territory.region_source = None
        return
    # Ties go to the lower code, as in the seed's build.
    territory.region_code = sorted(population.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    territory.region_source = REGION_DERIVED


async def _region_name(session: AsyncSession, code: str | None) -> str | None:
    region = await session.get(Region, code) if code else None
    return region.name if region else None


def _governance(t: Territory) -> GovernanceRead:
    elected = (
        Person(name=t.binome_elected_name, role=t.binome_elected_mandate)
        if t.binome_elected_name
        else None
    )
    industrialist = (
        Person(name=t.binome_industrialist_name, role=t.binome_industrialist_company)
        if t.binome_industrialist_name
        else None
    )
    lead = (
        ChefDeProjet(
            name=t.chef_de_projet_name,
            email=t.chef_de_projet_email,
            employer=t.chef_de_projet_employer,
        )
        if t.chef_de_projet_name
        else None
    )
    return GovernanceRead(
        binome=Binome(elected_official=elected, industrialist=industrialist),
        chef_de_projet=lead,
        referents=[
            ReferentRead(
                organisation_code=r.organisation_code,
                organisation_name=r.organisation.name,
                name=r.name,
                email=r.email,
            )
            for r in sorted(t.referents, key=lambda r: r.organisation_code)
        ],
    )
