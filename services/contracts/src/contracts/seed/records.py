"""The acts and projects on record (`shared/data/programme_facts.md`), and nothing more.

What a public source says is here with the source named; what no source says stays empty
(`None`, no signatories, no budget). Choices made where the sources leave a gap are said in a
comment beside them. The territories are the phase-1 ones of the 2019-2022 acts, as the
registry lists them (their names and regions are copied from the registry's seed, because the
seed loads without the registry running; the next write through the API refreshes them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TerritoryRecord:
    code: str
    name: str
    phase: int
    regions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SignatoryRecord:
    role: str
    organisation_code: str | None = None
    siren: str | None = None
    name: str | None = None
    signed_on: dt.date | None = None


@dataclass(frozen=True)
class PlanLineRecord:
    amount_cents: int
    financer_code: str | None = None
    financer_name: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class IndicatorRecord:
    label: str
    unit: str | None = None
    target: float | None = None
    actual: float | None = None
    as_of: dt.date | None = None


@dataclass(frozen=True)
class MilestoneRecord:
    label: str
    due_on: dt.date | None = None
    done_on: dt.date | None = None


@dataclass(frozen=True)
class ActionRecord:
    key: str
    territory_code: str
    code: str
    title: str
    sources: tuple[str, ...]
    description: str | None = None
    axis: str | None = None
    priority: str | None = None
    themes: tuple[str, ...] = ()
    owner_name: str | None = None
    owner_organisation_code: str | None = None
    # A project named by a source is `planned` unless the source says more.
    status: str = "planned"
    budget_cents: int | None = None
    plan_lines: tuple[PlanLineRecord, ...] = ()
    indicators: tuple[IndicatorRecord, ...] = ()
    milestones: tuple[MilestoneRecord, ...] = ()


@dataclass(frozen=True)
class ContractRecord:
    key: str
    territory_code: str
    kind: str
    title: str
    sources: tuple[str, ...]
    status: str = "signed"
    signed_on: dt.date | None = None
    signature_place: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    notes: str | None = None
    enjeux: tuple[str, ...] = ()
    signatories: tuple[SignatoryRecord, ...] = ()
    actions: tuple[ActionRecord, ...] = field(default=())


BFC = (("27", "Bourgogne-Franche-Comté"),)
TERRITORIES = {
    t.code: t
    for t in (
        TerritoryRecord("2707", "Nord Franche-Comté", 1, BFC),
        TerritoryRecord("2701", "Auxois Morvan", 1, BFC),
        TerritoryRecord("2402", "Grand Est Touraine", 1, (("24", "Centre-Val de Loire"),)),
        TerritoryRecord("7513", "Rochefort", 1, (("75", "Nouvelle-Aquitaine"),)),
        TerritoryRecord("7608", "PETR Comminges et Nestes", 1, (("76", "Occitanie"),)),
        TerritoryRecord("3202", "Amiens - Albert-Méaulte", 1, (("32", "Hauts-de-France"),)),
        TerritoryRecord("ti-7501", "Agenais", 2, (("75", "Nouvelle-Aquitaine"),)),
    )
}

ROCHEFORT = "7513"
CONTRACTS: tuple[ContractRecord, ...] = (
    ContractRecord(
        key="nord-franche-comte-protocole-2019",
        territory_code="2707",
        kind="protocole",
        title="Protocole d'accord Territoire d'industrie Nord Franche-Comté",
        signed_on=dt.date(2019, 3, 19),
        signature_place="Sochaux",
        notes="The third protocol signed nationally.",
        sources=("France 3 Bourgogne-Franche-Comté", "macommune.info"),
    ),
    ContractRecord(
        key="montbardois-auxois-protocole-2019",
        territory_code="2701",
        kind="protocole",
        title="Protocole d'accord Territoire d'industrie Montbardois-Auxois",
        # The source dates it to March or April 2019 only: the day stays unknown.
        signed_on=None,
        signature_place="Venarey-les-Laumes",
        notes="Signed in March or April 2019 (the day is not on record); the second protocol "
        "signed in Bourgogne-Franche-Comté.",
        sources=("echodescommunes",),
    ),
    ContractRecord(
        key="grand-est-touraine-protocole-2019",
        territory_code="2402",
        kind="protocole",
        title="Protocole d'accord Territoire d'industrie Grand Est Touraine",
        signed_on=dt.date(2019, 4, 23),
        signature_place="Amboise",
        # Superseded by the contract of 2021-03-29: one live act per territory and phase.
        status="closed",
        notes="21 fiches-actions, 8 of them firm; the fiches themselves are not on record. "
        "Closed when the full contract of 29 March 2021 was signed.",
        sources=("France Bleu", "DREETS Centre-Val de Loire"),
    ),
    ContractRecord(
        key="grand-est-touraine-contrat-2021",
        territory_code="2402",
        kind="contrat",
        title="Contrat Territoire d'industrie Grand Est Touraine",
        signed_on=dt.date(2021, 3, 29),
        signature_place="Montlouis-sur-Loire",
        notes="The full contract that followed the protocol of 23 April 2019.",
        sources=("France Bleu", "DREETS Centre-Val de Loire"),
    ),
    ContractRecord(
        key="rochefort-royan-marennes-oleron-contrat-2019",
        territory_code=ROCHEFORT,
        kind="contrat",
        title="Contrat Territoire d'industrie Rochefort-Royan-Marennes-Oléron",
        signed_on=dt.date(2019, 12, 16),
        start_year=2020,
        end_year=2022,
        notes="9 fiches-actions; the four recorded below are those the source names by subject "
        "(their official numbers are not on record).",
        signatories=(
            SignatoryRecord("industrialist", name="STELIA"),
            SignatoryRecord("industrialist", name="CGM"),
            SignatoryRecord("industrialist", name="Unibéton"),
            SignatoryRecord("industrialist", name="Ocqueteau"),
        ),
        sources=("Deliberation of the Nouvelle-Aquitaine regional council",),
        actions=tuple(
            ActionRecord(
                key=f"rochefort-{code.lower()}",
                territory_code=ROCHEFORT,
                code=code,
                title=title,
                sources=("Deliberation of the Nouvelle-Aquitaine regional council",),
            )
            for code, title in (
                ("PORT", "Travaux portuaires"),
                ("AERO", "Pôle aéronautique"),
                ("FORMATION", "Centre de formation"),
                ("INCUBATEUR", "Incubateur"),
            )
        ),
    ),
    ContractRecord(
        key="comminges-nestes-contrat",
        territory_code="7608",
        kind="contrat",
        title="Contrat Territoire d'industrie Comminges-Nestes",
        notes="The published contract lists its signatories; its date is not on record. "
        "Pôle emploi signed under that name (France Travail since 2024).",
        signatories=(
            # The seven communautés de communes: the territory's seven members in the registry.
            *(
                SignatoryRecord("president_epci", siren=siren)
                for siren in (
                    "200068815",
                    "200070787",
                    "200070829",
                    "200072635",
                    "200072643",
                    "200073146",
                    "246500573",
                )
            ),
            # The préfet of Haute-Garonne is also the préfet of the Occitanie region.
            SignatoryRecord("prefet", organisation_code="prefecture-76"),
            SignatoryRecord("president_region", organisation_code="region-76"),
            # "2 departments": the territory spans Haute-Garonne (31) and Hautes-Pyrénées (65).
            SignatoryRecord("president_department", name="Département de la Haute-Garonne"),
            SignatoryRecord("president_department", name="Département des Hautes-Pyrénées"),
            SignatoryRecord("operator", organisation_code="banque-des-territoires"),
            SignatoryRecord("operator", organisation_code="france-travail", name="Pôle emploi"),
            SignatoryRecord("operator", organisation_code="bpifrance"),
            SignatoryRecord("operator", organisation_code="business-france"),
            SignatoryRecord("partner", organisation_code="apec"),
            SignatoryRecord("partner", organisation_code="uimm"),
        ),
        sources=("Contrat Territoire d'industrie Comminges-Nestes (published contract)",),
    ),
)

# Projects a source names with their territory but not the act that holds them: they are
# recorded without a contract rather than pinned to a guessed one.
PROJECTS: tuple[ActionRecord, ...] = (
    ActionRecord(
        key="nord-franche-comte-isthy",
        territory_code="2707",
        code="ISTHY",
        title="ISTHY: centre d'essais de réservoirs à hydrogène, Aéroparc de Fontaine",
        description="Hydrogen-tank test centre at the Aéroparc de Fontaine: about 20 M€, of which "
        "6 M€ from the State (France 2030).",
        axis="innover",
        themes=("hydrogene",),
        # "About 20 M€": the order of magnitude the source gives.
        budget_cents=2_000_000_000,
        plan_lines=(PlanLineRecord(600_000_000, financer_name="État", label="France 2030"),),
        sources=("actu-environnement",),
    ),
    ActionRecord(
        key="nord-franche-comte-psa-sud",
        territory_code="2707",
        code="PSA-SUD",
        title="Reconversion des 42 ha du site « PSA Sud »",
        description="Reconversion of the 42 ha PSA Sud site, bought for 11.55 M€ excluding VAT; "
        "the project's whole budget is not on record.",
        axis="attirer",
        themes=("foncier", "friche"),
        sources=("Traces Écrites",),
    ),
    ActionRecord(
        key="amiens-ynsect",
        territory_code="3202",
        code="YNSECT",
        title="Ynsect",
        description="13 M€ (JDE, September 2019); the source does not say whether this is the "
        "investment or the support, so the budget is left empty.",
        axis="innover",
        owner_name="Ynsect",
        sources=("Le Journal des entreprises, September 2019",),
    ),
    *(
        ActionRecord(
            key=f"agenais-{code.lower()}",
            territory_code="ti-7501",
            code=code,
            title=title,
            description="Fonds vert, axe 3 (Territoires d'industrie en transition écologique): "
            "600 k€ of State aid for over 10 M€ of investment, shared by the Cité Gourmande and "
            "REDEN Industries projects; the split is not on record.",
            # The Fonds vert volet funds the ecological transition of industry.
            priority="transition_ecologique",
            themes=("transition-ecologique",),
            owner_name=owner,
            sources=("vie-economique",),
        )
        for code, title, owner in (
            ("CITE-GOURMANDE", "Cité Gourmande (Estillac)", None),
            ("REDEN", "REDEN Industries (Roquefort)", "REDEN Industries"),
        )
    ),
)
