"""The programme's phases and dated milestones, transcribed from `shared/data/programme_facts.md`.

That file is prose and tables written for people, so the facts are transcribed here by hand, one
row per figure, each with its date, what it measures, its source as the file names it and any
caveat. The build checks the transcription against the file: every row quotes the words of the
file it rests on (`evidence`), and a quote the file does not contain stops the build. A figure
the file does not give is not here: the file is the whole of the public record we hold.

Sources are named as the file names them. The file gives no web address for the press and
ministry pages, so `source_url` is empty for them rather than guessed; the two open-data
datasets have the addresses stated in `shared/data/SOURCES.md`.
"""

from __future__ import annotations

from collections.abc import Sequence

# How a territory's official Région was found (territories.csv `region_source`).
REGION_ANCT = "anct"
REGION_DERIVED = "derived-majority-population"

CGET_LAUNCH = "cget.gouv.fr, dossier « Territoires d'industrie »; Journal des entreprises"
CDC_DATASET = (
    "Caisse des Dépôts open data, « liste des territoires d'industrie et des communes "
    "concernées » (data.gouv.fr 5fa9901d5a498251f21963ea)"
)
CDC_DATASET_URL = "https://www.data.gouv.fr/fr/datasets/5fa9901d5a498251f21963ea/"
SEPT_2019 = "Localtis; Régions de France; Journal des entreprises"
PHASE2_SOURCES = "Localtis (ANCT, 2023-05-22); La Gazette des communes"
ENVELOPE_SOURCES = (
    "travail-emploi.gouv.fr; ANCT; Localtis; BFM; Sénat, rapport r24-217 and sitting of "
    "2025-01-14; MTECT document portal"
)
GROUPED = (
    "programme_facts.md cites this group of sources for its envelope figures without saying "
    "which one gives this figure."
)

PHASE_COLUMNS = ("phase", "name", "starts_on", "ends_on", "source_title", "source_url", "caveat")
# phase, name, starts_on, ends_on, source, url, caveat, evidence (quotes of programme_facts.md)
PHASES: Sequence[tuple[str, ...]] = (
    (
        "1",
        "Territoires d'industrie, phase 1",
        "2018-11-22",
        "2022-12-31",
        CGET_LAUNCH,
        "",
        "Starts at the launch of 2018-11-22; the record says the money was committable until "
        "the end of 2022 and phase 1 closed then, without a dated closing act: the last day of "
        "2022 is used.",
        "2018-11-22 | launch|committable until end 2022",
    ),
    (
        "2",
        "Territoires d'industrie, phase 2",
        "2023-01-01",
        "2027-12-31",
        PHASE2_SOURCES,
        "",
        "The record gives the years 2023-2027, not days: the first and last days of those years "
        "are used. The 183 territories were named on 2023-11-09.",
        "phase 2 (2023-2027)",
    ),
)

MILESTONE_COLUMNS = (
    "code",
    "date",
    "date_precision",
    "phase",
    "kind",
    "measure",
    "value",
    "amount_cents",
    "organisation_code",
    "description",
    "source_title",
    "source_url",
    "caveat",
)
M = 100_000_000  # one million euros, in cents

# code, date, precision, phase, kind, measure, value, amount_cents, organisation, description,
# source, url, caveat, evidence ("|" separates quotes that must all be in programme_facts.md).
MILESTONES: Sequence[tuple[str, ...]] = (
    (
        "2018-11-22-territories",
        "2018-11-22",
        "day",
        "1",
        "launch",
        "territories",
        "124",
        "",
        "",
        "Launch at the Conseil national de l'industrie (Grand Palais): 124 territories.",
        CGET_LAUNCH,
        "",
        "",
        "2018-11-22 | launch at the Conseil national de l'industrie (Grand Palais): 124",
    ),
    (
        "2018-11-22-amount-announced",
        "2018-11-22",
        "day",
        "1",
        "launch",
        "amount_announced",
        "",
        str(1360 * M),
        "",
        "1.36 Md€ « prioritairement fléchés » to the territories, committable until the end "
        "of 2022.",
        CGET_LAUNCH,
        "",
        "An announcement of funds « prioritairement fléchés », not money engaged.",
        '1.36 Md€ "prioritairement fléchés", committable until end 2022',
    ),
    (
        "2019-01-prefigurateurs",
        "2019-01-01",
        "month",
        "1",
        "deployment",
        "prefigurateurs",
        "29",
        "",
        "",
        "29 préfigurateur territories start.",
        "cohesion-territoires.gouv.fr, press release of 2019-03-06",
        "",
        "January 2019, no day given; the full list of the 29 was not published.",
        "| 2019-01 | 29 préfigurateur territories start (full list not published)",
    ),
    (
        "2019-03-05-territories",
        "2019-03-05",
        "day",
        "1",
        "deployment",
        "territories",
        "136",
        "",
        "",
        "First general assembly in Lyon (5-6 March 2019, during Global Industrie): "
        "136 territories.",
        "AdCF, « Les territoires d'industrie réunis à Lyon »",
        "",
        "",
        "2019-03-05 | 1st general assembly in Lyon|136 territories",
    ),
    (
        "2019-03-05-conventions",
        "2019-03-05",
        "day",
        "1",
        "signature",
        "conventions_signed",
        "4",
        "",
        "",
        "The four conventions de mobilisation (Banque des Territoires, Bpifrance, Business "
        "France, Pôle emploi) signed in Lyon.",
        "Localtis, « les opérateurs publics s'engagent »",
        "",
        "Signed on the afternoon of 5 March; the ministry's release is dated 6 March.",
        "the four conventions de mobilisation signed on the afternoon of 5 March",
    ),
    (
        "2019-04-30-protocoles",
        "2019-04-30",
        "day",
        "1",
        "signature",
        "protocoles_signed",
        "13",
        "",
        "",
        "13 protocoles d'accord signed in 8 regions.",
        "CNER",
        "",
        "",
        "2019-04-30 | 13 protocoles d'accord signed in 8 regions",
    ),
    (
        "2019-04-30-projects",
        "2019-04-30",
        "day",
        "1",
        "count",
        "projects_identified",
        "330",
        "",
        "",
        "About 330 projects in the 13 first protocoles d'accord.",
        "CNER",
        "",
        "About 330: an approximate figure.",
        "about 330 projects",
    ),
    (
        "2019-09-24-territories",
        "2019-09-24",
        "day",
        "1",
        "count",
        "territories",
        "144",
        "",
        "",
        "144 territories.",
        SEPT_2019,
        "",
        "",
        "2019-09-24 | 144 territories",
    ),
    (
        "2019-09-24-with-protocol-or-contract",
        "2019-09-24",
        "day",
        "1",
        "signature",
        "territories_with_protocol_or_contract",
        "29",
        "",
        "",
        "29 territories with a protocole d'accord or a contract.",
        SEPT_2019,
        "",
        "",
        "29 with a protocol or contract",
    ),
    (
        "2019-09-24-projects",
        "2019-09-24",
        "day",
        "1",
        "count",
        "projects_identified",
        "474",
        "",
        "",
        "474 projects identified.",
        SEPT_2019,
        "",
        "",
        "474 projects identified",
    ),
    (
        "2019-09-24-amount-engaged",
        "2019-09-24",
        "day",
        "1",
        "funding",
        "amount_engaged",
        "",
        str(260 * M),
        "",
        "Over 260 M€ engaged.",
        SEPT_2019,
        "",
        "« Over » 260 M€: a lower bound.",
        "over 260 M€ engaged",
    ),
    (
        "2019-09-24-amount-engaged-banque-des-territoires",
        "2019-09-24",
        "day",
        "1",
        "funding",
        "amount_engaged",
        "",
        str(180 * M),
        "banque-des-territoires",
        "About 180 M€ of it engaged by Banque des Territoires.",
        SEPT_2019,
        "",
        "About 180 M€; the CGET's own figures give 108 M€ for 231 projects.",
        "about 180 M€ of it by Banque des Territoires (⚠ CGET figures: 108 M€ for 231 projects)",
    ),
    (
        "2019-11-14-territories",
        "2019-11-14",
        "day",
        "1",
        "count",
        "territories",
        "146",
        "",
        "",
        "146 territories.",
        "CNI; CDC open data",
        "",
        "",
        "2019-11-14 | 146 territories",
    ),
    (
        "2021-territories",
        "2021-01-01",
        "year",
        "1",
        "count",
        "territories",
        "148",
        "",
        "",
        "148 territories in 2021.",
        "CNI; CDC open data",
        "",
        "The record says « in 2021 », without a month or day.",
        "then 148 in 2021",
    ),
    (
        "2021-10-projects",
        "2021-10-01",
        "month",
        "1",
        "count",
        "projects_supported",
        "1416",
        "",
        "",
        "1,416 projects supported.",
        ENVELOPE_SOURCES,
        "",
        "October 2021, no day given. " + GROUPED,
        "Oct 2021: 1,416 projects supported",
    ),
    (
        "2021-10-subsidies",
        "2021-10-01",
        "month",
        "1",
        "funding",
        "subsidies",
        "",
        str(573 * M),
        "",
        "573 M€ of subsidies for the 1,416 projects supported.",
        ENVELOPE_SOURCES,
        "",
        "October 2021, no day given. " + GROUPED,
        "1,416 projects supported with 573 M€ of subsidies",
    ),
    (
        "2022-12-31-territories",
        "2022-12-31",
        "day",
        "1",
        "count",
        "territories",
        "149",
        "",
        "",
        "149 territories at the end of phase 1.",
        CDC_DATASET,
        CDC_DATASET_URL,
        "The list « as set at the end of 2022 »; the registry's phase-1 list is the official "
        "list of 2020, with 148 territories.",
        "149 at the end of phase 1",
    ),
    (
        "2023-phase-1-projects",
        "2023-01-01",
        "year",
        "1",
        "count",
        "projects_supported",
        "2400",
        "",
        "",
        "Phase 1 in all: about 2,400 projects.",
        "Journal des entreprises, 2023",
        "",
        "Published in 2023, no month or day; « about ».",
        "Phase 1 in all: about 2 Md€ for 2,400 projects (JDE 2023)",
    ),
    (
        "2023-phase-1-amount",
        "2023-01-01",
        "year",
        "1",
        "funding",
        "amount_reported",
        "",
        str(2000 * M),
        "",
        "Phase 1 in all: about 2 Md€ for 2,400 projects.",
        "Journal des entreprises, 2023",
        "",
        "Published in 2023, no month or day; « about »; the record does not say what the "
        "2 Md€ measures (subsidies, loans, investment).",
        "Phase 1 in all: about 2 Md€ for 2,400 projects (JDE 2023)",
    ),
    (
        "2023-11-09-territories",
        "2023-11-09",
        "day",
        "2",
        "launch",
        "territories",
        "183",
        "",
        "",
        "Phase 2 (2023-2027): 183 territories named at Chalon-sur-Saône.",
        PHASE2_SOURCES,
        "",
        "",
        "2023-11-09 | phase 2 (2023-2027): 183 territories named at Chalon-sur-Saône",
    ),
    (
        "2023-11-09-new-territories",
        "2023-11-09",
        "day",
        "2",
        "launch",
        "new_territories",
        "34",
        "",
        "",
        "34 of the 183 phase-2 territories are new.",
        PHASE2_SOURCES,
        "",
        "The registry finds 37 phase-2 territories sharing no EPCI with a phase-1 territory "
        "(a different test: see the seed's PROVENANCE.md).",
        "34 of them new",
    ),
    (
        "2023-11-09-amount-per-year",
        "2023-11-09",
        "day",
        "2",
        "launch",
        "amount_announced_per_year",
        "",
        str(100 * M),
        "",
        "Phase 2: 100 M€ a year, 2023-2027.",
        PHASE2_SOURCES,
        "",
        "An announcement, not money engaged.",
        "34 of them new; 100 M€ a year",
    ),
    (
        "2025-01-chefs-de-projet",
        "2025-01-01",
        "month",
        "2",
        "count",
        "chefs_de_projet",
        "153",
        str(67 * M // 10),
        "",
        "153 chefs de projet in post or recruited, for 6.7 M€.",
        ENVELOPE_SOURCES,
        "",
        "January 2025, no day given. " + GROUPED,
        "153 in post or recruited for 6.7 M€ (Jan 2025)",
    ),
)


class TranscriptionError(Exception):
    """A transcribed fact quotes words that programme_facts.md does not contain."""


def check_transcription(facts: str) -> None:
    """Every phase and milestone rests on words of programme_facts.md, quoted exactly."""
    # The file wraps its prose: compare with every run of whitespace made one space.
    facts = " ".join(facts.split())
    codes = [m[0] for m in MILESTONES]
    if len(codes) != len(set(codes)):
        raise TranscriptionError("programme milestones: duplicate code")
    for row in (*PHASES, *MILESTONES):
        for quote in row[-1].split("|"):
            quote = " ".join(quote.split())
            if quote and quote not in facts:
                raise TranscriptionError(f"{row[0]}: programme_facts.md does not say {quote!r}")
