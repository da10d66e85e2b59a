"""Demo data: plausible, invented protocoles and contracts for a few phase-2 territories.

Nothing here is a real act or project. Every record carries `is_demo: true` (in the API and the
CSV exports), its title starts with "[Démo]", and its notes say it is invented. It is loaded
only on request (`tdi seed --demo`), deterministically (same records, same identifiers, on
every run), and a second load changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.access import Editor
from contracts.seed.loader import sync_contract
from contracts.seed.records import (
    ActionRecord,
    ContractRecord,
    IndicatorRecord,
    MilestoneRecord,
    PlanLineRecord,
    SignatoryRecord,
    TerritoryRecord,
)
from tdi_kit.seeding import Counts

DEMO = "[Démo] "
NOTE = "Données de démonstration inventées : ni cet acte ni ses fiches-actions n'existent."


# Real phase-2 territories (codes, names, regions and members as in the registry's seed): the
# demo acts are invented, the places they are attached to are not.
TERRITORIES: dict[str, tuple[TerritoryRecord, tuple[str, ...]]] = {
    t.code: (t, members)
    for t, members in (
        (
            TerritoryRecord(
                "ti-2708", "Nord Franche-Comté", 2, (("27", "Bourgogne-Franche-Comté"),)
            ),
            ("200065647", "200069052", "200069060", "247000722", "249000241"),
        ),
        (
            TerritoryRecord("ti-2405", "Grand Est Touraine", 2, (("24", "Centre-Val de Loire"),)),
            ("200043065", "200073161", "243700499", "243700820"),
        ),
        (
            TerritoryRecord("ti-3202", "Albert – Amiens", 2, (("32", "Hauts-de-France"),)),
            ("248000531", "248000747"),
        ),
        (
            TerritoryRecord("ti-5301", "Baie d'Armor Industrie", 2, (("53", "Bretagne"),)),
            ("200067981", "200069086", "200069391", "200069409"),
        ),
        (
            TerritoryRecord(
                "ti-7515", "Rochefort Royan Marennes Oléron", 2, (("75", "Nouvelle-Aquitaine"),)
            ),
            ("200041762", "241700624", "241700640", "241700699"),
        ),
        (
            TerritoryRecord("ti-7606", "Comminges – Nestes", 2, (("76", "Occitanie"),)),
            ("200068815", "200070787", "200070829", "200072635"),
        ),
        (
            TerritoryRecord("ti-4401", "Alsace Centrale", 2, (("44", "Grand Est"),)),
            ("200030526", "200034270", "200067924", "246701064"),
        ),
        (
            TerritoryRecord("ti-8401", "Ardèche Drôme Nord", 2, (("84", "Auvergne-Rhône-Alpes"),)),
            ("200041366", "200071413", "200072015", "200073096"),
        ),
    )
}

# (code, kind, status): four signed contracts (two in execution), four protocoles.
ACTS = (
    ("ti-2708", "contrat", "in_progress"),
    ("ti-2405", "contrat", "signed"),
    ("ti-3202", "contrat", "in_progress"),
    ("ti-5301", "contrat", "signed"),
    ("ti-7515", "protocole", "signed"),
    ("ti-7606", "protocole", "signed"),
    ("ti-4401", "protocole", "signed"),
    ("ti-8401", "protocole", "signed"),
)

ENJEUX = (
    "Attirer les jeunes et les demandeurs d'emploi vers les métiers de l'industrie",
    "Développer l'alternance et les compétences des salariés",
    "Accompagner la transition énergétique des filières industrielles",
    "Reconquérir les friches et disposer de foncier prêt à l'emploi",
    "Favoriser l'innovation dans les PME et ETI",
)


class Template(NamedTuple):
    title: str
    priority: str
    themes: tuple[str, ...]
    budget_keuros: tuple[int, int]
    financers: tuple[str, ...]
    indicator: str
    unit: str
    target: tuple[int, int]


TEMPLATES = (
    Template(
        "Campagne d'orientation vers les métiers de l'industrie",
        "competences",
        ("orientation",),
        (80, 400),
        ("region", "france-travail"),
        "Jeunes sensibilisés",
        "personnes",
        (300, 2000),
    ),
    Template(
        "Développement de l'alternance dans les PME industrielles",
        "competences",
        ("alternance",),
        (150, 900),
        ("region", "france-travail"),
        "Contrats d'alternance signés",
        "contrats",
        (40, 200),
    ),
    Template(
        "Création d'une école de production",
        "competences",
        ("ecole-de-production", "formation"),
        (900, 3000),
        ("region", "banque-des-territoires", "state"),
        "Élèves accueillis",
        "élèves",
        (24, 72),
    ),
    Template(
        "Plateforme technique mutualisée de formation",
        "competences",
        ("formation", "plateforme-technique"),
        (1200, 4500),
        ("region", "state"),
        "Salariés formés par an",
        "personnes",
        (100, 600),
    ),
    Template(
        "Volontariat territorial en entreprise (VTE)",
        "competences",
        ("vte", "recrutement"),
        (50, 250),
        ("bpifrance",),
        "Jeunes diplômés recrutés",
        "personnes",
        (5, 30),
    ),
    Template(
        "Décarbonation des procédés de la filière métallurgique",
        "transition_ecologique",
        ("transition-energetique", "decarbonation"),
        (2000, 9000),
        ("ademe", "bpifrance"),
        "Émissions évitées",
        "tCO2/an",
        (1500, 20000),
    ),
    Template(
        "Récupération de chaleur fatale industrielle",
        "transition_ecologique",
        ("transition-energetique", "ecologie-industrielle"),
        (1500, 6000),
        ("ademe", "banque-des-territoires"),
        "Chaleur valorisée",
        "MWh/an",
        (5000, 40000),
    ),
    Template(
        "Écologie industrielle et territoriale : synergies entre entreprises",
        "transition_ecologique",
        ("ecologie-industrielle",),
        (100, 500),
        ("ademe", "region"),
        "Synergies mises en œuvre",
        "synergies",
        (5, 25),
    ),
    Template(
        "Production et distribution d'hydrogène pour les flottes industrielles",
        "transition_ecologique",
        ("hydrogene", "mobilite"),
        (3000, 12000),
        ("ademe", "banque-des-territoires", "bpifrance"),
        "Hydrogène produit",
        "t/an",
        (50, 400),
    ),
    Template(
        "Requalification d'une friche industrielle",
        "foncier",
        ("friche", "foncier"),
        (2500, 14000),
        ("banque-des-territoires", "state", "region"),
        "Surface remise sur le marché",
        "ha",
        (4, 40),
    ),
    Template(
        "Aménagement d'une zone d'activités industrielle",
        "foncier",
        ("foncier",),
        (1500, 8000),
        ("banque-des-territoires", "region"),
        "Surface aménagée",
        "ha",
        (5, 30),
    ),
    Template(
        "Programme d'accélération des PME industrielles",
        "innovation",
        ("accelerateur", "pme"),
        (300, 1500),
        ("bpifrance", "region"),
        "Entreprises accompagnées",
        "entreprises",
        (10, 40),
    ),
    Template(
        "Centre d'innovation et de prototypage",
        "innovation",
        ("innovation", "prototypage"),
        (1000, 5000),
        ("bpifrance", "region", "state"),
        "Projets accompagnés",
        "projets",
        (10, 60),
    ),
    Template(
        "Diagnostics industrie du futur",
        "innovation",
        ("industrie-du-futur", "numerique"),
        (100, 600),
        ("bpifrance", "region"),
        "Diagnostics réalisés",
        "diagnostics",
        (20, 120),
    ),
)

STEPS = ("Lancement", "Études terminées", "Travaux engagés", "Mise en service")


def _financer(kind: str, region: str) -> tuple[str | None, str | None, str | None]:
    """(financer code, financer name, label) of one plan line."""
    if kind == "region":
        return f"region-{region}", None, None
    if kind == "state":
        return f"prefecture-{region}", None, "Fonds vert"
    return kind, None, None


def demo_records(seed: int = 2024) -> list[tuple[ContractRecord, dict[str, TerritoryRecord]]]:
    rng = random.Random(seed)
    out = []
    for code, kind, status in ACTS:
        territory, members = TERRITORIES[code]
        region = territory.regions[0][0]
        key = f"{code}-{kind}"
        signed_day = dt.date(2024, rng.randint(1, 6), rng.randint(1, 28))
        signatories = (
            SignatoryRecord(
                "prefet", organisation_code=f"prefecture-{region}", signed_on=signed_day
            ),
            SignatoryRecord(
                "president_region", organisation_code=f"region-{region}", signed_on=signed_day
            ),
            *(SignatoryRecord("president_epci", siren=s, signed_on=signed_day) for s in members),
            SignatoryRecord("operator", organisation_code="banque-des-territoires"),
            SignatoryRecord("operator", organisation_code="bpifrance"),
            SignatoryRecord("operator", organisation_code="france-travail"),
            SignatoryRecord("industrialist", name=f"{DEMO}Industriel partenaire"),
        )
        templates = rng.sample(TEMPLATES, 12)
        actions = []
        for n, template in enumerate(templates, start=1):
            low, high = template.budget_keuros
            budget = rng.randint(low, high) * 100_000  # whole thousands of euros, in cents
            share = budget * rng.randint(40, 90) // 100
            lines = []
            for financer in template.financers:
                financer_code, financer_name, label = _financer(financer, region)
                amount = share // len(template.financers) // 100_000 * 100_000
                lines.append(PlanLineRecord(amount, financer_code, financer_name, label))
            target = float(rng.randint(*template.target))
            in_execution = status == "in_progress"
            done_steps = rng.randint(1, 3) if in_execution else 0
            actions.append(
                ActionRecord(
                    key=f"{key}-{n:02d}",
                    territory_code=code,
                    code=f"FA-{n:02d}",
                    title=f"{DEMO}{template.title}",
                    description=NOTE,
                    priority=template.priority,
                    themes=template.themes,
                    owner_organisation_code=f"region-{region}" if n % 3 == 0 else None,
                    owner_name=None if n % 3 == 0 else f"{DEMO}Maître d'ouvrage {n}",
                    status=rng.choice(("in_progress", "planned", "done"))
                    if in_execution
                    else rng.choice(("idea", "planned")),
                    budget_cents=budget,
                    plan_lines=tuple(lines),
                    indicators=(
                        IndicatorRecord(
                            template.indicator,
                            template.unit,
                            target,
                            actual=round(target * rng.uniform(0.1, 0.8)) if in_execution else None,
                            as_of=dt.date(2025, 12, 31) if in_execution else None,
                        ),
                    ),
                    milestones=tuple(
                        MilestoneRecord(
                            step,
                            due_on=dt.date(2025 + i // 2, 6 if i % 2 == 0 else 12, 30),
                            done_on=dt.date(2025 + i // 2, 6 if i % 2 == 0 else 12, 15)
                            if i < done_steps
                            else None,
                        )
                        for i, step in enumerate(STEPS)
                    ),
                    sources=(),
                )
            )
        label = "Contrat" if kind == "contrat" else "Protocole d'accord"
        out.append(
            (
                ContractRecord(
                    key=key,
                    territory_code=code,
                    kind=kind,
                    title=f"{DEMO}{label} Territoire d'industrie {territory.name}",
                    status=status,
                    signed_on=signed_day,
                    signature_place=None,
                    start_year=2024,
                    end_year=2027,
                    notes=NOTE,
                    enjeux=tuple(rng.sample(ENJEUX, 3)),
                    signatories=signatories,
                    actions=tuple(actions),
                    sources=(),
                ),
                {code: territory},
            )
        )
    return out


async def load_demo(session: AsyncSession, *, say: Callable[[str], None] = print) -> Counts:
    """Load (or bring back to their demo state) the demo contracts; marked demo everywhere."""
    editor = Editor.system("demo")
    counts = Counts()
    for item, territories in demo_records():
        await sync_contract(
            session,
            item,
            editor=editor,
            counts=counts,
            kind="recorded",
            is_demo=True,
            territories=territories,
        )
    say(f"demo contracts (invented, is_demo=true): {counts}")
    for line in counts.skipped:
        say(f"  skipped {line}")
    return counts
