"""Derive the registry's seed files from the open-data extracts in `shared/data`.

The registry ships a small, versioned seed (regions, departments, communes, groupements,
territories of both programme phases, their members and communes, phase-2 outlines and the
programme's organisations) so that a fresh database, a test or a demo starts from real
reference data. The upstream files are not shaped like the registry's tables: the phase-2 list
mixes EPCIs, Grand Paris EPTs and single communes, the phase-1 list is a commune list, labels
carry trailing non-breaking spaces and the outlines are far more precise than a map needs. This
script reshapes them, checks them (SIREN checksums, unique codes, every reference resolvable)
and writes plain CSV and GeoJSON files that a loader can read without any of that logic.

Run from the repository root:

    .venv/bin/python -m registry.seed.build --source ../shared/data

Only the standard library is used, and the output is deterministic: rows are sorted and nothing
depends on time or locale, so re-running on the same sources gives byte-identical files.
Provenance, licences, derivation rules and caveats are in `PROVENANCE.md` next to this file.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.seed.programme import (
    MILESTONE_COLUMNS,
    MILESTONES,
    PHASE_COLUMNS,
    PHASES,
    REGION_ANCT,
    REGION_DERIVED,
    TranscriptionError,
    check_transcription,
)

SEED_DIR = Path(__file__).resolve().parent
REPO_ROOT = SEED_DIR.parents[4]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUTPUT = SEED_DIR / "data"

# Counts announced by shared/data/SOURCES.md; a difference is reported, never forced.
EXPECTED = {
    "regions.csv": 18,
    "departments.csv": 101,
    "communes.csv": 34_871,
    "groupements.csv": 1_270,
    "territories.csv": 331,
    "territory_members.csv": 641 + 528,
    "territory_communes.csv": 15_697,
    "outlines.geojson": 183,
    "organisations.csv": 2 + 18 + 18 + 6 + 5,
    "programme_phases.csv": 2,
    "programme_milestones.csv": 23,
}

# Phase-1 EPCIs count as members of a phase-1 territory when at least this share of their 2025
# communes belongs to it (the rule of ti_epci_2020_derived.csv, see SOURCES.md).
PHASE1_COVERAGE_THRESHOLD = 0.5

# Siren of the Métropole du Grand Paris, whose communes are split among the EPTs.
MGP_SIREN = "200054781"


@dataclass(frozen=True)
class Ept:
    """A Grand Paris établissement public territorial: absent from the DGCL EPCI file."""

    seat_department: str
    departments: tuple[str, ...]
    # The phase-1 territory made of this EPT's communes, used to check `departments`.
    phase1_twin: str | None


# The EPTs are not in epcicom (only the Métropole du Grand Paris is), so the commune data cannot
# say which EPT a commune belongs to. Seats are Gennevilliers (92), Tremblay-en-France (93) and
# Vitry-sur-Seine (94). Boucle Nord de Seine also holds Argenteuil (95) and Grand-Orly Seine
# Bièvre the six Essonne communes (91) of the MGP; `check_epts` verifies this against the MGP
# communes of epci_communes_2025.csv and the phase-1 commune lists of TIs 1101 and 1104.
EPTS = {
    "200057990": Ept("92", ("92", "95"), "1101"),  # EPT Boucle Nord de Seine
    "200058097": Ept("93", ("93",), None),  # EPT Paris Terres d'Envol
    "200058014": Ept("94", ("91", "94"), "1104"),  # EPT Grand-Orly Seine Bièvre
}

# Region councils whose institution is not called "Région <name>".
REGION_COUNCIL_NAMES = {
    "02": "Collectivité territoriale de Martinique",
    "03": "Collectivité territoriale de Guyane",
    "06": "Département de Mayotte",
    "94": "Collectivité de Corse",
}

# The programme's national organisations: code, name, kind, website (left empty where not
# certain). SIRENs are deliberately left empty.
NATIONAL_ORGANISATIONS = SEED_DIR / "national_organisations.csv"

GROUPEMENT_NATURES = {"CC", "CA", "CU", "METRO", "MET69"}
PHASE1_CODE = re.compile(r"^\d{4}$")
PHASE2_CODE = re.compile(r"^ti-\d{4}$")
WHITESPACE = re.compile(r"\s+")


class SeedError(Exception):
    """A source file breaks an invariant the seed relies on."""


@dataclass
class Notes:
    """Anomalies found on the way: printed at the end, documented in PROVENANCE.md."""

    lines: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.lines.append(message)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SeedError(message)


def clean(value: str) -> str:
    """Strip a label (str.strip also removes NBSP) and collapse inner runs of whitespace."""
    return WHITESPACE.sub(" ", value).strip()


def luhn_ok(siren: str) -> bool:
    """SIREN checksum: the Luhn sum of the 9 digits is a multiple of 10."""
    if len(siren) != 9 or not siren.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(siren)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def department_of_insee(insee: str) -> str:
    """Department of a COG commune code: 3 characters overseas (97x), else 2 (2A/2B included)."""
    return insee[:3] if insee.startswith("97") else insee[:2]


def pipe(values: Iterable[str]) -> str:
    return "|".join(sorted(set(values)))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{key: clean(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


# --- geography ------------------------------------------------------------------------------


def build_departments(src: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    rows = read_csv(src / "departements.csv")
    regions: dict[str, str] = {}
    departments: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        code, region = row["dep_code"], row["region_code"]
        check(code not in departments, f"departements.csv: duplicate department {code}")
        check(
            regions.setdefault(region, row["region_nom"]) == row["region_nom"],
            f"departements.csv: region {region} has two names",
        )
        departments[code] = (code, row["dep_nom"], region)
    return sorted(regions.items()), sorted(departments.values())


def build_communes(src: Path, departments: dict[str, str], notes: Notes) -> list[tuple]:
    communes: dict[str, tuple] = {}
    for row in read_csv(src / "epci_communes_2025.csv"):
        insee = row["insee_commune"]
        if insee in communes:
            notes.add(f"communes: {insee} appears twice in epci_communes_2025.csv; first kept")
            continue
        check(row["dep_commune"] in departments, f"commune {insee}: unknown department")
        check(luhn_ok(row["siren_commune"]), f"commune {insee}: bad SIREN {row['siren_commune']}")
        check(luhn_ok(row["siren_epci"]), f"commune {insee}: bad EPCI SIREN {row['siren_epci']}")
        communes[insee] = (
            insee,
            row["nom_commune"],
            row["dep_commune"],
            row["siren_commune"],
            row["siren_epci"],
            int(row["population_municipale"]),
        )
    return [communes[insee] for insee in sorted(communes)]


# --- groupements ----------------------------------------------------------------------------


def build_groupements(
    src: Path,
    departments: dict[str, str],
    communes: list[tuple],
    phase2_members: list[dict[str, str]],
) -> dict[str, tuple]:
    groupements: dict[str, tuple] = {}
    for row in read_csv(src / "epci_2025.csv"):
        siren = row["siren"]
        check(siren not in groupements, f"epci_2025.csv: duplicate SIREN {siren}")
        check(row["nature_juridique"] in GROUPEMENT_NATURES, f"EPCI {siren}: unknown nature")
        deps = row["departements"].split("|")
        check(all(dep in departments for dep in deps), f"EPCI {siren}: unknown department")
        check(departments[row["dept_siege"]] == row["region_code"], f"EPCI {siren}: bad region")
        groupements[siren] = (
            siren,
            row["nom"],
            "epci",
            row["nature_juridique"],
            row["dept_siege"],
            row["region_code"],
            pipe(deps),
            int(row["population_municipale"]),
        )

    by_siren = {commune[3]: commune for commune in communes}
    for row in phase2_members:
        siren = row["siren_groupement"]
        if siren in groupements:
            continue
        if siren in EPTS:
            ept = EPTS[siren]
            groupements[siren] = (
                siren,
                row["lib_groupement"],
                "ept",
                "EPT",
                ept.seat_department,
                departments[ept.seat_department],
                pipe(ept.departments),
                "",
            )
        elif siren.startswith("21"):
            check(siren in by_siren, f"phase-2 commune {siren} not in epci_communes_2025.csv")
            _, name, dep, _, _, population = by_siren[siren]
            groupements[siren] = (
                siren,
                name,
                "commune",
                "COM",
                dep,
                departments[dep],
                dep,
                population,
            )
        else:
            raise SeedError(f"phase-2 groupement {siren} is neither an EPCI, an EPT nor a commune")

    for siren in groupements:
        check(luhn_ok(siren), f"groupement SIREN {siren} fails the Luhn checksum")
    return dict(sorted(groupements.items()))


def check_epts(communes: list[tuple], phase1_communes: list[dict[str, str]]) -> None:
    """The EPT departments must match the MGP communes and the phase-1 commune lists."""
    mgp_departments = {c[2] for c in communes if c[4] == MGP_SIREN}
    twins: dict[str, set[str]] = defaultdict(set)
    for row in phase1_communes:
        twins[row["code_ti"]].add(department_of_insee(row["code_commune"]))
    for siren, ept in EPTS.items():
        check(
            set(ept.departments) <= mgp_departments,
            f"EPT {siren}: departments {ept.departments} not all among the MGP communes'",
        )
        check(ept.seat_department in ept.departments, f"EPT {siren}: seat outside its departments")
        if ept.phase1_twin:
            check(
                twins[ept.phase1_twin] == set(ept.departments),
                f"EPT {siren}: phase-1 TI {ept.phase1_twin} spans {sorted(twins[ept.phase1_twin])}",
            )


# --- territories ----------------------------------------------------------------------------


def majority_region(
    communes: list[str], departments: dict[str, str], population: dict[str, int]
) -> str:
    """The Région holding most of a phase-1 territory's population (2025 populations of its
    listed communes; a COG 2020 code merged since counts for nothing, its people being counted
    under the commune that absorbed it when that one is listed). Ties go to the lower code."""
    by_region: Counter[str] = Counter()
    for insee in communes:
        by_region[departments[department_of_insee(insee)]] += population.get(insee, 0)
    return sorted(by_region.items(), key=lambda item: (-item[1], item[0]))[0][0]


def build_territories(
    src: Path,
    departments: dict[str, str],
    groupements: dict[str, tuple],
    phase2_members: list[dict[str, str]],
    phase1_members: list[tuple[str, str, str]],
    phase1_communes: list[dict[str, str]],
    population: dict[str, int],
    notes: Notes,
) -> list[tuple]:
    territories: list[tuple] = []

    # Phase 1: from the commune list.
    names: dict[str, Counter[str]] = defaultdict(Counter)
    phase1_departments: dict[str, set[str]] = defaultdict(set)
    listed: dict[str, list[str]] = defaultdict(list)
    for row in phase1_communes:
        code = row["code_ti"]
        listed[code].append(row["code_commune"])
        check(PHASE1_CODE.match(code) is not None, f"phase-1 code {code!r} is not 4 digits")
        names[code][row["libelle_ti"]] += 1
        dep = department_of_insee(row["code_commune"])
        check(dep in departments, f"phase-1 commune {row['code_commune']}: unknown department")
        phase1_departments[code].add(dep)
    for code in sorted(names):
        variants = names[code]
        if len(variants) > 1:
            notes.add(f"phase-1 {code}: name varies across rows {dict(variants)}; most common kept")
        name = sorted(variants.items(), key=lambda item: (-item[1], item[0]))[0][0]
        regions = {departments[dep] for dep in phase1_departments[code]}
        if code[:2] not in regions:
            notes.add(f"phase-1 {code}: its code's region {code[:2]} has none of its communes")
        # Phase 1 has no published official Région per territory: the majority of its people.
        official = majority_region(listed[code], departments, population)
        if official != code[:2]:
            notes.add(
                f"phase-1 {code}: most of its population is in region {official}, not {code[:2]}"
            )
        territories.append(
            (
                code,
                name,
                1,
                official,
                REGION_DERIVED,
                pipe(regions),
                pipe(phase1_departments[code]),
                "",
            )
        )

    # Phase 2: one row per TI, departments from its members.
    member_departments: dict[str, set[str]] = defaultdict(set)
    member_sirens: dict[str, set[str]] = defaultdict(set)
    for row in phase2_members:
        siren = row["siren_groupement"]
        member_departments[row["id_ti"]].update(groupements[siren][6].split("|"))
        member_sirens[row["id_ti"]].add(siren)
    phase1_by_siren = {siren: code for code, siren, _ in phase1_members}

    for row in read_csv(src / "ti_2023_2027_territoires.csv"):
        code = row["id_ti"]
        check(PHASE2_CODE.match(code) is not None, f"phase-2 code {code!r} is not ti-NNNN")
        check(row["region_code"] in departments.values(), f"{code}: unknown region")
        deps = member_departments[code]
        check(bool(deps), f"{code}: no member groupement")
        check(
            int(row["nb_groupements"]) == len(member_sirens[code]),
            f"{code}: nb_groupements {row['nb_groupements']} != {len(member_sirens[code])}",
        )
        overlaps = []
        for entry in filter(None, row["ti_phase1_recouvrants"].split("|")):
            overlap = entry.split(" ", 1)[0]
            check(overlap in names, f"{code}: unknown phase-1 overlap {entry!r}")
            overlaps.append(overlap)
        computed = {phase1_by_siren[s] for s in member_sirens[code] if s in phase1_by_siren}
        if computed != set(overlaps):
            notes.add(
                f"{code}: listed phase-1 overlaps {sorted(overlaps)} differ from the ones "
                f"recomputed from members {sorted(computed)}"
            )
        regions = {departments[dep] for dep in deps}
        if row["region_code"] not in regions:
            notes.add(f"{code}: ANCT's region {row['region_code']} holds none of its members")
        regions.add(row["region_code"])
        territories.append(
            (
                code,
                row["lib_ti"],
                2,
                row["region_code"],
                REGION_ANCT,
                pipe(regions),
                pipe(deps),
                pipe(overlaps),
            )
        )

    return sorted(territories, key=lambda t: (t[2], t[0]))


def build_phase1_members(src: Path, groupements: dict[str, tuple]) -> list[tuple[str, str, str]]:
    members = []
    for row in read_csv(src / "ti_epci_2020_derived.csv"):
        share = float(row["part_epci_couverte"])
        if share >= PHASE1_COVERAGE_THRESHOLD:
            check(row["siren_epci"] in groupements, f"phase-1 EPCI {row['siren_epci']} unknown")
            members.append((row["code_ti"], row["siren_epci"], f"{share:.4f}"))
    return members


def build_members(
    phase2_members: list[dict[str, str]],
    phase1_members: list[tuple[str, str, str]],
    groupements: dict[str, tuple],
) -> list[tuple[str, str, str]]:
    phase2 = [(row["id_ti"], row["siren_groupement"], "") for row in phase2_members]
    for phase, rows in (("phase 1", phase1_members), ("phase 2", phase2)):
        seen = Counter(siren for _, siren, _ in rows)
        duplicates = sorted(siren for siren, n in seen.items() if n > 1)
        check(not duplicates, f"{phase}: SIRENs in more than one territory: {duplicates}")
        missing = sorted(siren for siren in seen if siren not in groupements)
        check(not missing, f"{phase}: SIRENs missing from groupements: {missing}")
    return sorted(phase1_members + phase2)


# --- outlines -------------------------------------------------------------------------------


def round_ring(ring: list[list[float]]) -> list[list[float]]:
    """Round to 5 decimals (~1 m) and drop repeated consecutive positions a rounding creates."""
    rounded = [[round(x, 5), round(y, 5)] for x, y, *_ in ring]
    kept = [pos for i, pos in enumerate(rounded) if i == 0 or pos != rounded[i - 1]]
    return kept if len(kept) >= 4 else rounded


def round_geometry(geometry: dict) -> dict:
    kind = geometry["type"]
    coordinates: list[Any]  # rings of a Polygon, polygons (lists of rings) of a MultiPolygon
    if kind == "Polygon":
        coordinates = [round_ring(ring) for ring in geometry["coordinates"]]
    elif kind == "MultiPolygon":
        coordinates = [[round_ring(r) for r in polygon] for polygon in geometry["coordinates"]]
    else:
        raise SeedError(f"unexpected geometry type {kind}")
    return {"type": kind, "coordinates": coordinates}


def build_outlines(src: Path, phase2_codes: set[str]) -> list[dict]:
    with (src / "ti_2023_2027_anct.geojson").open(encoding="utf-8") as handle:
        collection = json.load(handle)
    features: list[dict[str, Any]] = []
    for feature in collection["features"]:
        props = feature["properties"]
        code = clean(props["id_territoire"])
        check(code in phase2_codes, f"outline {code} is not a phase-2 territory")
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": clean(props["lib_territoire"])},
                "geometry": round_geometry(feature["geometry"]),
            }
        )
    codes = [f["properties"]["code"] for f in features]
    check(len(codes) == len(set(codes)), "outlines: duplicate territory code")
    return sorted(features, key=lambda f: f["properties"]["code"])


def write_geojson(path: Path, features: list[dict]) -> int:
    lines = [json.dumps(feature, separators=(",", ":"), ensure_ascii=False) for feature in features]
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('{"type":"FeatureCollection","features":[\n')
        handle.write(",\n".join(lines))
        handle.write("\n]}\n")
    return len(features)


# --- organisations --------------------------------------------------------------------------


def build_organisations(regions: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    with NATIONAL_ORGANISATIONS.open(encoding="utf-8", newline="") as handle:
        national = list(csv.DictReader(handle))
    rows = [(o["code"], o["name"], o["kind"], "", "", o["website"]) for o in national]
    for region, name in regions:
        rows.append(
            (f"prefecture-{region}", f"Préfecture de la région {name}", "state", region, "", "")
        )
        council = REGION_COUNCIL_NAMES.get(region, f"Région {name}")
        rows.append((f"region-{region}", council, "region", region, "", ""))
    codes = [row[0] for row in rows]
    check(len(codes) == len(set(codes)), "organisations: duplicate code")
    return sorted(rows, key=lambda row: (row[2], row[0]))


# --- programme ------------------------------------------------------------------------------


def check_programme(facts: str, territories: list[tuple]) -> None:
    """The transcription quotes the record, and each phase's milestones are of that phase."""
    try:
        check_transcription(facts)
    except TranscriptionError as error:
        raise SeedError(str(error)) from error
    phases = {p[0]: (p[2], p[3]) for p in PHASES}
    for m in MILESTONES:
        check(m[3] in phases, f"milestone {m[0]}: unknown phase {m[3]}")
        check(bool(m[6]) or bool(m[7]), f"milestone {m[0]}: neither a value nor an amount")
    check(
        {str(t[2]) for t in territories} <= set(phases),
        "a territory's phase has no dates in the programme's phases",
    )


# --- main -----------------------------------------------------------------------------------


def build(src: Path, out: Path) -> tuple[dict[str, int], Notes]:
    notes = Notes()
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    regions, department_rows = build_departments(src)
    departments = {code: region for code, _, region in department_rows}
    counts["regions.csv"] = write_csv(out / "regions.csv", ("code", "name"), regions)
    counts["departments.csv"] = write_csv(
        out / "departments.csv", ("code", "name", "region_code"), department_rows
    )

    communes = build_communes(src, departments, notes)
    counts["communes.csv"] = write_csv(
        out / "communes.csv",
        ("insee", "name", "department_code", "siren", "epci_siren", "population"),
        communes,
    )

    phase1_communes = read_csv(src / "ti_communes_2020_signaux_faibles.csv")
    phase2_members = read_csv(src / "ti_2023_2027_epci_anct.csv")
    check_epts(communes, phase1_communes)
    groupements = build_groupements(src, departments, communes, phase2_members)
    counts["groupements.csv"] = write_csv(
        out / "groupements.csv",
        (
            "siren",
            "name",
            "kind",
            "nature",
            "seat_department_code",
            "region_code",
            "department_codes",
            "population",
        ),
        groupements.values(),
    )
    kinds = Counter(row[2] for row in groupements.values())

    phase1_members = build_phase1_members(src, groupements)
    population = {commune[0]: commune[5] for commune in communes}
    territories = build_territories(
        src,
        departments,
        groupements,
        phase2_members,
        phase1_members,
        phase1_communes,
        population,
        notes,
    )
    counts["territories.csv"] = write_csv(
        out / "territories.csv",
        (
            "code",
            "name",
            "phase",
            "region_code",
            "region_source",
            "region_codes",
            "department_codes",
            "phase1_overlaps",
        ),
        territories,
    )
    phase1_codes = {t[0] for t in territories if t[2] == 1}
    phase2_codes = {t[0] for t in territories if t[2] == 2}
    check(phase2_codes.isdisjoint(phase1_codes), "a territory code is in both phases")

    members = build_members(phase2_members, phase1_members, groupements)
    for code, _, _ in members:
        check(code in phase1_codes | phase2_codes, f"member of unknown territory {code}")
    counts["territory_members.csv"] = write_csv(
        out / "territory_members.csv", ("territory_code", "siren", "coverage"), members
    )
    without_members = sorted(phase1_codes - {code for code, _, _ in phase1_members})
    if without_members:
        notes.add(
            f"phase-1 territories with no EPCI covered >= 50% (no member rows): {without_members}"
        )

    territory_communes = sorted({(r["code_ti"], r["code_commune"]) for r in phase1_communes})
    if len(territory_communes) != len(phase1_communes):
        notes.add("territory_communes: duplicate (code_ti, code_commune) rows dropped")
    in_two = [i for i, n in Counter(i for _, i in territory_communes).items() if n > 1]
    if in_two:
        notes.add(f"territory_communes: {len(in_two)} communes in two phase-1 TIs")
    counts["territory_communes.csv"] = write_csv(
        out / "territory_communes.csv", ("territory_code", "insee"), territory_communes
    )
    known = {commune[0] for commune in communes}
    absent = sorted({insee for _, insee in territory_communes} - known)
    if absent:
        notes.add(
            f"territory_communes: {len(absent)} COG 2020 codes absent from communes.csv "
            f"(communes merged into others by 2025): {' '.join(absent)}"
        )

    outlines = build_outlines(src, phase2_codes)
    counts["outlines.geojson"] = write_geojson(out / "outlines.geojson", outlines)
    missing_outlines = sorted(phase2_codes - {f["properties"]["code"] for f in outlines})
    if missing_outlines:
        notes.add(f"phase-2 territories without an outline: {missing_outlines}")

    counts["organisations.csv"] = write_csv(
        out / "organisations.csv",
        ("code", "name", "kind", "region_code", "siren", "website"),
        build_organisations(regions),
    )

    facts = (src / "programme_facts.md").read_text(encoding="utf-8")
    check_programme(facts, territories)
    counts["programme_phases.csv"] = write_csv(
        out / "programme_phases.csv", PHASE_COLUMNS, [p[: len(PHASE_COLUMNS)] for p in PHASES]
    )
    counts["programme_milestones.csv"] = write_csv(
        out / "programme_milestones.csv",
        MILESTONE_COLUMNS,
        sorted((m[: len(MILESTONE_COLUMNS)] for m in MILESTONES), key=lambda m: (m[1], m[0])),
    )

    counts = dict(sorted(counts.items()))
    (out / "summary.json").write_text(
        json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )

    notes.add(f"groupements by kind: {dict(sorted(kinds.items()))}")
    notes.add(
        f"territories: {len(phase2_codes)} phase 2 + {len(phase1_codes)} phase 1; "
        f"members: {len(members) - len(phase1_members)} phase 2 + {len(phase1_members)} phase 1"
    )
    return counts, notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="shared/data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="seed data folder")
    args = parser.parse_args(argv)
    try:
        counts, notes = build(args.source, args.output)
    except SeedError as error:
        print(f"seed build failed: {error}", file=sys.stderr)
        return 1

    for line in notes.lines:
        print(f"note: {line}")
    mismatches = 0
    for name, count in counts.items():
        expected = EXPECTED.get(name)
        status = "ok" if expected == count else f"EXPECTED {expected}"
        mismatches += status != "ok"
        print(f"{name:24} {count:>7,}  {status}")
    print(f"wrote {len(counts) + 1} files to {args.output}")
    if mismatches:
        print(f"{mismatches} count(s) differ from the expected ones: see PROVENANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
