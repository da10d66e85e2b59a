"""Synthetic volume for benchmarks and tests: many demo contracts on made-up territories.

Never loaded by `tdi seed`. The territories are fictitious (codes 9001..., `ti-9001`...), every
record is marked demo, and the documents are rendered by the same code as the API's writes, so
that reads over this data cost what they would over real data.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contracts.documents import detail, render_action, render_contract
from contracts.contracts.lifecycle import slot_for
from contracts.models import (
    Action,
    ActionTheme,
    Contract,
    ContractEvent,
    Indicator,
    Milestone,
    PlanLine,
    Territory,
    TerritoryRegion,
)
from tdi_kit.clock import now_to_second as now

REGIONS = (
    ("11", "Île-de-France"),
    ("24", "Centre-Val de Loire"),
    ("27", "Bourgogne-Franche-Comté"),
    ("28", "Normandie"),
    ("32", "Hauts-de-France"),
    ("44", "Grand Est"),
    ("52", "Pays de la Loire"),
    ("53", "Bretagne"),
    ("75", "Nouvelle-Aquitaine"),
    ("76", "Occitanie"),
    ("84", "Auvergne-Rhône-Alpes"),
    ("93", "Provence-Alpes-Côte d'Azur"),
)
AXES = ("recruter", "innover", "attirer", "simplifier")
PRIORITIES = ("competences", "transition_ecologique", "innovation", "foncier")
THEMES = (
    "orientation",
    "alternance",
    "ecole-de-production",
    "transition-energetique",
    "friche",
    "foncier",
    "hydrogene",
    "numerique",
)
FINANCERS = ("bpifrance", "banque-des-territoires", "ademe", "france-travail")
STATUSES = ("idea", "planned", "in_progress", "done", "abandoned")
WORDS = (
    "Atelier",
    "Campus",
    "Plateforme",
    "Friche",
    "Réseau",
    "Centre",
    "Programme",
    "Filière",
    "Formation",
    "Usine",
)


async def load_volume(
    session: AsyncSession, *, contracts: int = 500, actions_per_contract: int = 20, seed: int = 7
) -> list[uuid.UUID]:
    """Add `contracts` demo contracts (half protocoles) with their actions; their ids."""
    rng = random.Random(seed)
    at = now()
    territories: dict[str, Territory] = {}
    ids = []
    events: list[ContractEvent] = []
    for n in range(contracts):
        number = 9001 + n // 2
        phase = 1 if number % 2 else 2
        code = f"{number}" if phase == 1 else f"ti-{number}"
        # Each territory: a protocole, closed, then the contract that followed it (one live act
        # per territory and phase).
        kind = "protocole" if n % 2 else "contrat"
        territory = territories.get(code)
        if territory is None:
            region = REGIONS[number % len(REGIONS)]
            territory = Territory(
                code=code,
                name=f"Territoire fictif {number}",
                phase=phase,
                checked_at=at,
                regions=[TerritoryRegion(region_code=region[0], region_name=region[1])],
            )
            territories[code] = territory
            session.add(territory)
        # The draws in their old order (the id, then the status): the same seed, the same data.
        contract_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        status = "closed" if kind == "protocole" else rng.choice(("draft", "signed", "in_progress"))
        contract = Contract(
            id=contract_id,
            territory=territory,
            territory_code=code,
            phase=phase,
            kind=kind,
            title=f"[Démo] {'Protocole' if n % 2 else 'Contrat'} {territory.name}",
            enjeux=["Compétences", "Transition écologique"],
            start_year=2024,
            end_year=2027,
            status=status,
            signed_on=dt.date(2024, 1 + n % 12, 1 + n % 28),
            is_demo=True,
            sources=[],
            live_slot=slot_for(code, phase, status),
            signatories=[],
            version=1,
            created_at=at,
            updated_at=at,
        )
        session.add(contract)
        actions = [_action(rng, contract, i, at) for i in range(1, actions_per_contract + 1)]
        session.add_all(actions)
        render_contract(contract, actions, 0)
        events.append(
            ContractEvent(
                contract_id=contract.id,
                version=1,
                kind="recorded",
                summary="Synthetic demo data",
                changes=[],
                by_sub="volume",
                at=at,
                snapshot=detail(contract.document, [a.document for a in actions]),
            )
        )
        ids.append(contract.id)
        if n % 50 == 49 or n == contracts - 1:
            # Events refer to contracts through no relationship: their rows go in after.
            await session.flush()
            session.add_all(events)
            await session.flush()
            events.clear()
    return ids


def _action(rng: random.Random, contract: Contract, i: int, at: dt.datetime) -> Action:
    budget = rng.randint(10, 5000) * 100_000
    financers = rng.sample(FINANCERS, 2)
    action = Action(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        contract_id=contract.id,
        territory_code=contract.territory_code,
        phase=contract.phase,
        code=f"FA-{i:02d}",
        title=f"[Démo] {rng.choice(WORDS)} {rng.choice(THEMES).replace('-', ' ')} {i}",
        description="Synthetic demo data for benchmarks.",
        axis=rng.choice(AXES) if contract.phase == 1 else None,
        priority=rng.choice(PRIORITIES) if contract.phase == 2 else None,
        owner_name=f"[Démo] Maître d'ouvrage {i}",
        status=rng.choice(STATUSES),
        budget_cents=budget,
        is_demo=True,
        sources=[],
        version=1,
        created_at=at,
        updated_at=at,
        themes=[ActionTheme(theme=t) for t in rng.sample(THEMES, 2)],
        plan_lines=[
            PlanLine(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                position=p,
                financer_code=financer,
                amount_cents=budget // 4,
            )
            for p, financer in enumerate(financers)
        ],
        indicators=[
            Indicator(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                position=0,
                label="Emplois créés",
                unit="emplois",
                target=float(rng.randint(5, 200)),
            )
        ],
        milestones=[
            Milestone(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                position=p,
                label=label,
                due_on=dt.date(2025 + p, 6, 30),
            )
            for p, label in enumerate(("Lancement", "Mise en service"))
        ],
    )
    render_action(action)
    return action
