"""The public facts the funding service ships: the four conventions de mobilisation of
2019-03-05 and the programme's envelopes, from `shared/data/programme_facts.md`.

Nothing here is invented. Where the facts leave a gap, the gap stays and a note says so:
- The facts say "the State" for the State's envelopes; they are managed here under `anct`, the
  agency that runs the programme nationally, since a record needs an organisation code. Who
  *funds* an envelope is said apart, on each endowment (`funder`): the State (`etat`), the
  Régions, Banque des Territoires... A top-up the facts split between funders is one movement
  per funder; a movement whose funder the facts do not name has none.
- Where no annual split is public, the whole amount is one tranche covering the period the facts
  give (`last_year`), and the tranche's note says that the split is unknown.
- Top-ups are ledger movements of their own, on the date the facts give.
- Figures the public record reports (engaged, committed, announced, projects) are REPORTED
  below, with their date, source and caveat; they never enter the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
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
    funder: str | None = None  # None: the facts do not say who put the money in


@dataclass(frozen=True)
class SeedEnvelope:
    fields: dict[str, Any]
    movements: list[Movement]
    tranche_notes: dict[int, str] = field(default_factory=dict)
    # A tranche's last year, where its money covers a period with no annual split.
    periods: dict[int, int] = field(default_factory=dict)


NO_SPLIT = (
    "No annual split is public: the whole amount belongs to the tranche's period, not to its "
    "first year."
)
BDT = "banque-des-territoires"


def _rebond_industriel(
    code: str,
    operator_code: str,
    name: str,
    kind: str,
    theme: str,
    description: str,
    endowment: Movement,
) -> SeedEnvelope:
    """One of the two envelopes of Rebond industriel (France 2030): its 100 M€ are split between
    Banque des Territoires and Bpifrance, which share everything else the facts say: a part of
    the phase-2 budget, 2023-2026 with no annual split, the rules, the sources, and the State
    (`etat`) as funder of the whole amount."""
    return SeedEnvelope(
        {
            "code": code,
            "operator_code": operator_code,
            "convention_code": None,
            "part_of": "phase-2-2023-2027",
            "name": f"Rebond industriel (France 2030): {name}",
            "kind": kind,
            "themes": [theme],
            "description": description,
            "start_year": 2023,
            "end_year": 2026,
            "rules": {"text": "About 10 territories a year until 2026."},
            "sources": ["ANCT", "Localtis"],
        },
        [replace(endowment, funder="etat")],
        {2023: NO_SPLIT},
        {2023: 2026},
    )


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
                "friche",
                "numerique",
                "ecologie-industrielle",
                "mobilite",
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
            Movement(f"bdt-fp-{y}", y, 100 * M, None, f"100 M€ of equity for {y}", BDT)
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
        [Movement("bdt-ing-initial", 2019, 26 * M, SIGNED, "initial engineering envelope", BDT)],
        {2019: NO_SPLIT},
        {2019: 2022},
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
        [
            Movement(
                "cdp-p1", 2020, 75 * M // 10, None, "7.5 M€ in all for 2020-2022 (FNADT)", "etat"
            )
        ],
        {2020: NO_SPLIT},
        {2020: 2022},
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
            Movement(
                "fa-2020",
                2020,
                150 * M,
                None,
                "150 M€ of the initial 400 M€ (France Relance, the State's plan), in 2020",
                "etat",
            ),
            Movement(
                "fa-initial-rest",
                2021,
                250 * M,
                None,
                "the other 250 M€ of the initial 400 M€ (France Relance), to 2022",
                "etat",
            ),
            # The top-up of 2021-03-23 as published: 298.5 M€ = 141.5 M€ of the State + 141.5
            # M€ of the Régions + 15.5 M€ of the State. (Its key once held the whole 298.5 M€
            # with no funder: the loader corrects that entry.)
            Movement(
                "fa-topup-2021-03-23",
                2021,
                1415 * M // 10,
                dt.date(2021, 3, 23),
                "top-up of 2021-03-23: the State's 141.5 M€",
                "etat",
            ),
            Movement(
                "fa-topup-2021-03-23-regions",
                2021,
                1415 * M // 10,
                dt.date(2021, 3, 23),
                "top-up of 2021-03-23: the Régions' 141.5 M€",
                "regions",
            ),
            Movement(
                "fa-topup-2021-03-23-etat-corse-outre-mer",
                2021,
                155 * M // 10,
                dt.date(2021, 3, 23),
                "top-up of 2021-03-23: the State's 15.5 M€ for Corsica, overseas and "
                "collective projects",
                "etat",
            ),
            Movement(
                "fa-topup-2021-09-06",
                2021,
                150 * M,
                dt.date(2021, 9, 6),
                "top-up of 2021-09-06 (the sources do not say who put it in)",
            ),
        ],
        {
            2021: "The initial 400 M€ ran to 2022; the split of its last 250 M€ between 2021 and "
            "2022 is not public, so they belong to 2021-2022 with the 2021 top-ups."
        },
        {2021: 2022},
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
        [Movement("bdt-relance-fp", 2020, 800 * M, None, "800 M€ of equity (December 2020)", BDT)],
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
        [
            Movement(
                "bdt-relance-prets", 2020, 250 * M, None, "250 M€ of loans (December 2020)", BDT
            )
        ],
        {2020: "Announced in December 2020; no period or annual split is public."},
    ),
    _rebond_industriel(
        "rebond-industriel-ingenierie",
        BDT,
        "ingénierie",
        "engineering",
        "ingenierie",
        "Rebond industriel: 100 M€ = 10 M€ engineering by Banque des Territoires (this envelope) "
        "+ 90 M€ grants and repayable advances by Bpifrance; about 10 territories a year until "
        "2026. Part of the phase-2 budget.",
        Movement("rebond-ing", 2023, 10 * M, None, "10 M€ of engineering to 2026 (France 2030)"),
    ),
    _rebond_industriel(
        "rebond-industriel-aides",
        "bpifrance",
        "subventions et avances remboursables",
        "grant",
        "investissement-productif",
        "Rebond industriel: the 90 M€ of grants and repayable advances by Bpifrance; about 10 "
        "territories a year until 2026. Part of the phase-2 budget.",
        Movement(
            "rebond-aides", 2023, 90 * M, None, "90 M€ of grants and advances to 2026 (France 2030)"
        ),
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
                "technical platforms). The Rebond industriel envelopes are part of it (`parts`): "
                "their 100 M€ is within these 500 M€, never on top. Held under ANCT: the facts "
                "say 'the State'; the intercommunalités' own co-financing is not in it."
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
        [
            Movement(f"phase-2-{y}", y, 100 * M, None, f"100 M€ for {y}", "etat")
            for y in range(2023, 2028)
        ],
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
        [Movement("fonds-vert-2024", 2024, 100 * M, None, "100 M€ in 2024 (⚠ or 70 M€)", "etat")],
    ),
]


# Figures the public record reports. Each says what it measures, as of when (at the precision
# the source gives), who said it and any caveat; they are about an envelope, a convention (all
# its envelopes), an operator, or the whole programme. None of them is a ledger movement. The
# sources are known by title: no link is given where the facts give none.
PHASE_1_SOURCES = (
    "travail-emploi.gouv.fr; ANCT; Localtis; BFM; Sénat, rapport r24-217 et séance du "
    "2025-01-14; portail documentaire du MTECT"
)
REPORTED: list[dict[str, Any]] = [
    {
        "code": "launch-2018-announced",
        "label": "Crédits « prioritairement fléchés » annoncés au lancement (124 territoires), "
        "engageables jusqu'à fin 2022",
        "measure": "announced",
        "value_cents": 1360 * M,
        "as_of": "2018-11-22",
        "source_title": "cget.gouv.fr, dossier « Territoires d'industrie »; Journal des "
        "entreprises",
        "caveat": "An announcement, not money committed; the full list of the 17 measures "
        "behind it is not published.",
    },
    {
        "code": "projects-2019-04-30",
        "label": "Projets des 13 protocoles d'accord signés dans 8 régions",
        "measure": "projects",
        "count": 330,
        "as_of": "2019-04-30",
        "source_title": "CNER",
        "caveat": "« About » 330 projects.",
    },
    {
        "code": "engaged-2019-09-24",
        "label": "Engagé dans les Territoires d'industrie, tous opérateurs",
        "measure": "engaged",
        "value_cents": 260 * M,
        "as_of": "2019-09-24",
        "source_title": "Localtis; Régions de France; Journal des entreprises",
        "caveat": "« Over » 260 M€: a lower bound.",
    },
    {
        "code": "bdt-engaged-2019-09-24",
        "label": "Engagé par la Banque des Territoires",
        "measure": "engaged",
        "value_cents": 180 * M,
        "as_of": "2019-09-24",
        "convention_code": "2019-banque-des-territoires",
        "operator_code": "banque-des-territoires",
        "source_title": "Localtis; Régions de France; Journal des entreprises",
        "caveat": "« About » 180 M€, announced for Banque des Territoires; the CGET's own "
        "figures give 108 M€ for 231 projects. Not split between its envelopes.",
    },
    {
        "code": "projects-2019-09-24",
        "label": "Projets identifiés",
        "measure": "projects",
        "count": 474,
        "as_of": "2019-09-24",
        "source_title": "Localtis; Régions de France; Journal des entreprises",
        "caveat": "",
    },
    {
        "code": "bdt-fonds-propres-in-all",
        "label": "Fonds propres de la Banque des Territoires pour le programme, en tout",
        "measure": "announced",
        "value_cents": 400 * M,
        "envelope_code": "bdt-fonds-propres-2019-2022",
        "operator_code": "banque-des-territoires",
        "source_title": "La Gazette des communes, article 611504",
        "caveat": "« About » 400 M€ in all against 500 M€ first announced; the article's date "
        "is not given.",
    },
    {
        "code": "subsidies-2021-10",
        "label": "Subventions aux projets soutenus (1 416 projets)",
        "measure": "committed",
        "value_cents": 573 * M,
        "as_of": "2021-10",
        "source_title": PHASE_1_SOURCES,
        "caveat": "Not split between envelopes or operators.",
    },
    {
        "code": "projects-2021-10",
        "label": "Projets soutenus",
        "measure": "projects",
        "count": 1416,
        "as_of": "2021-10",
        "source_title": PHASE_1_SOURCES,
        "caveat": "",
    },
    {
        "code": "phase-1-engaged-2023",
        "label": "Phase 1 en tout (2 400 projets)",
        "measure": "engaged",
        "value_cents": 2000 * M,
        "as_of": "2023",
        "source_title": "Journal des entreprises (2023)",
        "caveat": "« About » 2 Md€; what it counts (which funders, which measures) is not stated.",
    },
    {
        "code": "phase-1-projects-2023",
        "label": "Projets de la phase 1",
        "measure": "projects",
        "count": 2400,
        "as_of": "2023",
        "source_title": "Journal des entreprises (2023)",
        "caveat": "« About » 2,400.",
    },
    {
        "code": "phase-2-chefs-de-projet-2025-01",
        "label": "Chefs de projet de la phase 2 : 153 en poste ou recrutés",
        "measure": "committed",
        "value_cents": 67 * M // 10,
        "as_of": "2025-01",
        "envelope_code": "phase-2-2023-2027",
        "source_title": PHASE_1_SOURCES,
        "caveat": "The chefs de projet only; the rest of phase 2 is not reported.",
    },
    {
        "code": "fonds-vert-committed-2024",
        "label": "Fonds vert axe 3 : attribué en 2024",
        "measure": "committed",
        "value_cents": 63 * M,
        "as_of": "2024",
        "envelope_code": "fonds-vert-ti-2024",
        "source_title": PHASE_1_SOURCES,
        "caveat": "An aggregate: the allocations behind it are not public.",
    },
    {
        "code": "fonds-vert-announced-70",
        "label": "Fonds vert axe 3 : montant de l'axe selon une source",
        "measure": "announced",
        "value_cents": 70 * M,
        "as_of": "2024",
        "envelope_code": "fonds-vert-ti-2024",
        "source_title": PHASE_1_SOURCES,
        "caveat": "One source gives 70 M€; the others 100 M€, the amount recorded here.",
    },
    {
        "code": "fonds-vert-lot-et-garonne",
        "label": "Aide de l'État à la Cité Gourmande (Estillac) et à REDEN Industries "
        "(Roquefort), Lot-et-Garonne",
        "measure": "committed",
        "value_cents": 600 * K,
        "envelope_code": "fonds-vert-ti-2024",
        "source_title": "vie-economique",
        "caveat": "Two projects of over 10 M€ of investment; the source says « Fonds vert » "
        "without its axis, and no date.",
    },
    {
        "code": "isthy-france-2030",
        "label": "ISTHY, centre d'essais de réservoirs à hydrogène (Nord Franche-Comté) : part "
        "de l'État (France 2030)",
        "measure": "committed",
        "value_cents": 6 * M,
        "operator_code": None,
        "source_title": "actu-environnement",
        "caveat": "A project of about 20 M€; which France 2030 envelope is not stated, nor the "
        "date.",
    },
]
for _figure in REPORTED:
    for _name in ("value_cents", "count", "as_of", "envelope_code", "convention_code"):
        _figure.setdefault(_name, None)
    _figure.setdefault("operator_code", None)
    _figure.setdefault("source_url", None)
