"""The public facts the funding service ships: the four conventions de mobilisation of
2019-03-05 and the programme's envelopes, from `shared/data/programme_facts.md`.

Nothing here is invented. Where the facts leave a gap, the gap stays and a note says so:
- The facts say "the State" for the State's envelopes; they are held here under `anct`, the
  agency that runs the programme nationally, since a record needs an organisation code.
- Where no annual split is public, the whole amount is one tranche, in the first year the facts
  give, and the tranche's note says that the split is unknown.
- Top-ups are ledger movements of their own, on the date the facts give.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

M = 100_000_000  # one million euros, in cents
K = 100_000  # one thousand euros, in cents

SIGNED = dt.date(2019, 3, 5)
LYON = "Lyon, première assemblée générale des Territoires d'industrie (Global Industrie)"
CONVENTION_SOURCES = [
    "Localtis / Banque des Territoires: « Territoires d'industrie : les opérateurs publics "
    "s'engagent » (March 2019)",
    "AdCF: « Les territoires d'industrie réunis à Lyon » (March 2019)",
    "Caisse des Dépôts",
    "La Gazette des communes, article 611504",
    "cohesion-territoires.gouv.fr press release of 2019-03-06",
]

CONVENTIONS: list[dict[str, Any]] = [
    {
        "code": "2019-banque-des-territoires",
        "operator_code": "banque-des-territoires",
        "title": "Convention de mobilisation Territoires d'industrie: Banque des Territoires",
        "signed_on": SIGNED,
        "place": LYON,
        "period_start": SIGNED,
        "period_end": dt.date(2022, 12, 31),
        "commitments": (
            "One referent (référent unique) per territory. 100 M€ a year of equity (fonds "
            "propres) until 2022, for industrial land and buildings, wasteland reconversion, "
            "digital, industrial ecology, transport and mobility (⚠ La Gazette: about 400 M€ in "
            "all against 500 M€ first announced). Engineering studies co-financed up to 50%, "
            "initial engineering envelope 26 M€. Grand plan d'investissement and PIA funds. "
            "Fonds d'épargne loans up to 40 years."
        ),
    },
    {
        "code": "2019-bpifrance",
        "operator_code": "bpifrance",
        "title": "Convention de mobilisation Territoires d'industrie: Bpifrance",
        "signed_on": SIGNED,
        "place": LYON,
        "period_start": None,
        "period_end": None,
        "commitments": (
            "One referent (référent unique) per territory. Its financing and support offers, "
            "including the accélérateurs. Experiments the VTE (volontariat territorial en "
            "entreprise: young graduates placed in SMEs and mid-caps). Duration and amount: not "
            "public."
        ),
    },
    {
        "code": "2019-business-france",
        "operator_code": "business-france",
        "title": "Convention de mobilisation Territoires d'industrie: Business France",
        "signed_on": SIGNED,
        "place": LYON,
        "period_start": None,
        "period_end": None,
        "commitments": (
            "One referent (référent unique) per territory: one adviser per territory for "
            "international attractiveness. Attractiveness diagnostics and export support. "
            "Duration: not public."
        ),
    },
    {
        "code": "2019-pole-emploi",
        "operator_code": "france-travail",
        "title": "Convention de mobilisation Territoires d'industrie: Pôle emploi "
        "(France Travail since 2024)",
        "signed_on": SIGNED,
        "place": LYON,
        "period_start": None,
        "period_end": None,
        "commitments": (
            "One referent (référent unique) per territory: one specialised adviser per "
            "territory. Promotes industrial jobs to job-seekers. From summer 2019, tools mapping "
            "training needs. Duration: not public."
        ),
    },
]
for _convention in CONVENTIONS:
    _convention.setdefault("documents", [])
    _convention.setdefault("sources", CONVENTION_SOURCES)


@dataclass(frozen=True)
class Movement:
    """A change of a tranche's amount on record: its opening or a top-up."""

    key: str  # stable, so that the loader recognises it on its next run
    year: int
    amount_cents: int
    effective_on: dt.date | None
    note: str


@dataclass(frozen=True)
class SeedEnvelope:
    fields: dict[str, Any]
    movements: list[Movement]
    tranche_notes: dict[int, str] = field(default_factory=dict)


NO_SPLIT = "No annual split is public: the whole amount is recorded on this tranche."

ENVELOPES: list[SeedEnvelope] = [
    SeedEnvelope(
        {
            "code": "bdt-fonds-propres-2019-2022",
            "operator_code": "banque-des-territoires",
            "convention_code": "2019-banque-des-territoires",
            "name": "Banque des Territoires: fonds propres Territoires d'industrie 2019-2022",
            "kind": "equity",
            "themes": [
                "foncier",
                "immobilier-industriel",
                "reconversion-de-friches",
                "numerique",
                "ecologie-industrielle",
                "transports-et-mobilite",
            ],
            "description": (
                "100 M€ a year of equity until 2022, committed in the convention de mobilisation "
                "of 2019-03-05. ⚠ La Gazette des communes: about 400 M€ in all against 500 M€ "
                "first announced."
            ),
            "start_year": 2019,
            "end_year": 2022,
            "rules": {},
            "sources": [
                "Localtis / Banque des Territoires (March 2019)",
                "Caisse des Dépôts",
                "La Gazette des communes, article 611504",
            ],
        },
        [
            Movement(f"bdt-fp-{y}", y, 100 * M, None, f"100 M€ of equity for {y}")
            for y in range(2019, 2023)
        ],
    ),
    SeedEnvelope(
        {
            "code": "bdt-ingenierie-2019-2022",
            "operator_code": "banque-des-territoires",
            "convention_code": "2019-banque-des-territoires",
            "name": "Banque des Territoires: ingénierie Territoires d'industrie",
            "kind": "engineering",
            "themes": ["ingenierie"],
            "description": (
                "The initial engineering envelope of the convention de mobilisation: studies "
                "co-financed up to 50%. The period is the convention's (until 2022)."
            ),
            "start_year": 2019,
            "end_year": 2022,
            "rules": {
                "max_rate_percent": 50,
                "examined_by": "banque-des-territoires",
                "text": "Engineering studies co-financed up to 50%.",
            },
            "sources": ["Localtis / Banque des Territoires (March 2019)", "Caisse des Dépôts"],
        },
        [Movement("bdt-ing-initial", 2019, 26 * M, SIGNED, "initial engineering envelope")],
        {2019: NO_SPLIT},
    ),
    SeedEnvelope(
        {
            "code": "chefs-de-projet-phase-1",
            "operator_code": "anct",
            "convention_code": None,
            "name": "Chefs de projet Territoires d'industrie, phase 1 (programme 112 / FNADT)",
            "kind": "grant",
            "themes": ["animation-territoriale"],
            "description": (
                "The State's co-financing of the chefs de projet of 25 fragile territories for "
                "2 years, 7.5 M€ in all over 2020-2022. Held under ANCT: the facts say 'the "
                "State'."
            ),
            "start_year": 2020,
            "end_year": 2022,
            "rules": {"text": "25 fragile territories co-financed for 2 years."},
            "sources": ["ANCT", "travail-emploi.gouv.fr"],
        },
        [Movement("cdp-p1", 2020, 75 * M // 10, None, "7.5 M€ in all for 2020-2022")],
        {2020: NO_SPLIT},
    ),
    SeedEnvelope(
        {
            "code": "fonds-acceleration-2020-2022",
            "operator_code": "anct",
            "convention_code": None,
            "name": "Fonds d'accélération des investissements industriels dans les territoires "
            "(France Relance)",
            "kind": "grant",
            "themes": ["investissement-productif"],
            "description": (
                "400 M€ to 2022, of which 150 M€ in 2020; +298.5 M€ on 2021-03-23 (141.5 M€ "
                "State + 141.5 M€ Régions + 15.5 M€ State for Corsica, overseas and collective "
                "projects); +150 M€ on 2021-09-06. Applications examined by Bpifrance's regional "
                "offices; projects chosen by the préfet de région and the regional president. "
                "Held under ANCT: the facts say 'the State'."
            ),
            "start_year": 2020,
            "end_year": 2022,
            "rules": {
                "max_rate_percent": 50,
                "cap_per_project_cents": 800 * K,
                "cap_waivable": True,
                "min_eligible_spending_cents": 200 * K,
                "examined_by": "bpifrance",
                "text": (
                    "Grant of 50%, capped at 800 k€ unless waived; eligible spending from "
                    "200 k€, over at most 2 years."
                ),
            },
            "sources": ["Localtis", "BFM", "ANCT"],
        },
        [
            Movement("fa-2020", 2020, 150 * M, None, "150 M€ of the initial 400 M€, in 2020"),
            Movement(
                "fa-initial-rest",
                2021,
                250 * M,
                None,
                "the other 250 M€ of the initial 400 M€ to 2022",
            ),
            Movement(
                "fa-topup-2021-03-23",
                2021,
                2985 * M // 10,
                dt.date(2021, 3, 23),
                "top-up: 141.5 M€ State + 141.5 M€ Régions + 15.5 M€ State for Corsica, "
                "overseas and collective projects",
            ),
            Movement("fa-topup-2021-09-06", 2021, 150 * M, dt.date(2021, 9, 6), "top-up"),
        ],
        {
            2021: "The initial 400 M€ ran to 2022; the split of its last 250 M€ between 2021 and "
            "2022 is not public, so they are recorded here with the 2021 top-ups."
        },
    ),
    SeedEnvelope(
        {
            "code": "bdt-relance-fonds-propres",
            "operator_code": "banque-des-territoires",
            "convention_code": None,
            "name": "Banque des Territoires: plan de relance Territoires d'industrie, fonds "
            "propres",
            "kind": "equity",
            "themes": [
                "foncier",
                "immobilier-industriel",
                "transition-ecologique",
                "competences-et-recrutement",
            ],
            "description": (
                "The relaunch of December 2020, over 1 Md€ in all: 800 M€ equity (this "
                "envelope) + 250 M€ fonds d'épargne loans. By use: 700 M€ for buildings and "
                "land (450 M€ invested + 250 M€ loans), 340 M€ energy transition, 10 M€ "
                "training."
            ),
            "start_year": 2020,
            "end_year": 2020,
            "rules": {},
            "sources": ["Banque des Territoires", "Localtis"],
        },
        [Movement("bdt-relance-fp", 2020, 800 * M, None, "800 M€ of equity (December 2020)")],
        {2020: "Announced in December 2020; no period or annual split is public."},
    ),
    SeedEnvelope(
        {
            "code": "bdt-relance-prets",
            "operator_code": "banque-des-territoires",
            "convention_code": None,
            "name": "Banque des Territoires: plan de relance Territoires d'industrie, prêts sur "
            "fonds d'épargne",
            "kind": "loan",
            "themes": ["foncier", "immobilier-industriel"],
            "description": (
                "The 250 M€ of fonds d'épargne loans of the December 2020 relaunch, for "
                "buildings and land."
            ),
            "start_year": 2020,
            "end_year": 2020,
            "rules": {},
            "sources": ["Banque des Territoires", "Localtis"],
        },
        [Movement("bdt-relance-prets", 2020, 250 * M, None, "250 M€ of loans (December 2020)")],
        {2020: "Announced in December 2020; no period or annual split is public."},
    ),
    SeedEnvelope(
        {
            "code": "rebond-industriel-ingenierie",
            "operator_code": "banque-des-territoires",
            "convention_code": None,
            "name": "Rebond industriel (France 2030): ingénierie",
            "kind": "engineering",
            "themes": ["ingenierie"],
            "description": (
                "Rebond industriel: 100 M€ = 10 M€ engineering by Banque des Territoires (this "
                "envelope) + 90 M€ grants and repayable advances by Bpifrance; about 10 "
                "territories a year until 2026. Part of phase 2."
            ),
            "start_year": 2023,
            "end_year": 2026,
            "rules": {"text": "About 10 territories a year until 2026."},
            "sources": ["ANCT", "Localtis"],
        },
        [Movement("rebond-ing", 2023, 10 * M, None, "10 M€ of engineering to 2026")],
        {2023: NO_SPLIT},
    ),
    SeedEnvelope(
        {
            "code": "rebond-industriel-aides",
            "operator_code": "bpifrance",
            "convention_code": None,
            "name": "Rebond industriel (France 2030): subventions et avances remboursables",
            "kind": "grant",
            "themes": ["investissement-productif"],
            "description": (
                "Rebond industriel: the 90 M€ of grants and repayable advances by Bpifrance; "
                "about 10 territories a year until 2026. Part of phase 2."
            ),
            "start_year": 2023,
            "end_year": 2026,
            "rules": {"text": "About 10 territories a year until 2026."},
            "sources": ["ANCT", "Localtis"],
        },
        [Movement("rebond-aides", 2023, 90 * M, None, "90 M€ of grants and advances to 2026")],
        {2023: NO_SPLIT},
    ),
    SeedEnvelope(
        {
            "code": "phase-2-2023-2027",
            "operator_code": "anct",
            "convention_code": None,
            "name": "Territoires d'industrie, phase 2 (2023-2027)",
            "kind": "grant",
            "themes": [
                "animation-territoriale",
                "investissement-productif",
                "competences-et-recrutement",
            ],
            "description": (
                "100 M€ a year, 2023-2027, by the State with the intercommunalités: chefs de "
                "projet, productive investment, Rebond industriel, skills (écoles de production, "
                "technical platforms). The Rebond industriel envelopes may be part of it. Held "
                "under ANCT: the facts say 'the State'."
            ),
            "start_year": 2023,
            "end_year": 2027,
            "rules": {
                "text": (
                    "A chef de projet is mandatory; 153 in post or recruited for 6.7 M€ (January "
                    "2025). One case on record: 60 k€ = 80% of a 2-year post."
                )
            },
            "sources": ["Localtis (ANCT, 2023-05-22)", "La Gazette des communes", "Senate r24-217"],
        },
        [Movement(f"phase-2-{y}", y, 100 * M, None, f"100 M€ for {y}") for y in range(2023, 2028)],
    ),
    SeedEnvelope(
        {
            "code": "fonds-vert-ti-2024",
            "operator_code": "anct",
            "convention_code": None,
            "name": "Fonds vert axe 3: Territoires d'industrie en transition écologique",
            "kind": "grant",
            "themes": [
                "transition-ecologique",
                "investissement-productif",
                "competences-et-recrutement",
            ],
            "description": (
                "100 M€ in 2024 (⚠ one source: 70 M€); 63 M€ committed in 2024, an aggregate "
                "whose allocations are not public. Applications examined by ADEME. Held under "
                "ANCT: the facts say 'the State'."
            ),
            "start_year": 2024,
            "end_year": 2024,
            "rules": {
                "examined_by": "ademe",
                "text": "Volets: industrial investment, skills, Rebond territories.",
            },
            "sources": ["MTECT document portal", "Senate sitting of 2025-01-14"],
        },
        [Movement("fonds-vert-2024", 2024, 100 * M, None, "100 M€ in 2024 (⚠ or 70 M€)")],
    ),
]
