// A small client of the public API, type-checked against the types openapi-typescript generates
// from the gateway's merged /openapi.json (tests/gateway/test_gateway_openapi.py). It compiles
// only if the document types what a front-end reads, by readable operation ids: a page of
// territories (JSON apart from its CSV), a territory's members, a dossier's parts and its
// `partial` marking, the problems naming the failed service, the dashboard's figures, the
// phase-2 outlines as GeoJSON, the headers of an answer. Not a single cast (`as`, `any`): the
// test refuses them.
import type { components, operations, paths } from "./api";

type Json<P extends keyof paths, M extends "get"> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;

type Territory = Json<"/api/v1/territories/{code}", "get">;
type TerritoryPage = Json<"/api/v1/territories", "get">;
type Dossier = Json<"/api/v1/territories/{code}/dossier", "get">;
type Dashboard = Json<"/api/v1/dashboard", "get">;
type Problem = components["schemas"]["ProblemRead"];

export function memberSirens(territory: Territory): string[] {
  return territory.members.map((member) => member.siren);
}

export function nextCursor(page: TerritoryPage): string | null | undefined {
  return page.next_cursor;
}

export function missingServices(dossier: Dossier): string[] {
  return dossier.partial ? dossier.problems.map((problem) => problem.service) : [];
}

export function fundedCents(dossier: Dossier): number {
  let total = 0;
  for (const contract of dossier.contracts ?? []) {
    for (const action of contract.actions) {
      for (const allocation of action.allocations ?? []) {
        total += allocation.amount_cents;
      }
    }
  }
  return total;
}

export function committedByOperator(dossier: Dossier): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const row of dossier.balances?.by_operator ?? []) {
    sums[row.operator_code ?? "?"] = row.committed_cents;
  }
  return sums;
}

export function phaseTwoTerritories(dashboard: Dashboard): number {
  return dashboard.territories.by_phase.find((c) => c.key === 2)?.count ?? 0;
}

// Null where a figure is not broken down that way (by funder): unknown is never 0.
export function disbursedNationally(dashboard: Dashboard): number | null | undefined {
  return dashboard.money?.totals.disbursed_cents;
}

export function describe(problem: Problem): string {
  return `${problem.status} ${problem.title}: ${problem.detail ?? ""}`;
}

// The generated types are precise, not `any`: each line below must fail to compile.
export function mistakes(territory: Territory, dossier: Dossier): void {
  // @ts-expect-error: a territory has no `nom`
  void territory.nom;
  // @ts-expect-error: `partial` is a boolean
  const partial: string = dossier.partial;
  void partial;
  // @ts-expect-error: contracts may be null when the contracts service is missing
  void dossier.contracts.length;
}

// By operation id: what a front-end calls `listTerritories`, `getTerritoryDossier`...
type Ok<Op extends keyof operations> = operations[Op]["responses"] extends { 200: infer R } ? R : never;
type PageOfTerritories = Ok<"listTerritories">["content"]["application/json"];
type TerritoriesCsv = Ok<"listTerritories">["content"]["text/csv"];
type DossierById = Ok<"getTerritoryDossier">["content"]["application/json"];
type Outlines = Ok<"getTerritoryOutlines">["content"]["application/geo+json"];
type Outline = Ok<"getTerritoryOutline">["content"]["application/geo+json"];

export function territoryNames(page: PageOfTerritories): string[] {
  return page.items.map((territory) => `${territory.code} ${territory.name}`);
}

export function csvLines(csv: TerritoriesCsv): number {
  return csv.split("\n").length;
}

export function dossierTitle(dossier: DossierById): string {
  return `${dossier.territory.name} (${dossier.contracts?.length ?? 0} contracts)`;
}

export function outlineCodes(outlines: Outlines): string[] {
  return outlines.features.map((feature) => feature.id);
}

// A ring count per feature, whichever geometry: the `type` tells them apart.
export function rings(outline: Outline): number {
  const geometry = outline.geometry;
  if (geometry.type === "Polygon") {
    return geometry.coordinates.length;
  }
  return geometry.coordinates.reduce((n, polygon) => n + polygon.length, 0);
}

export function firstPoint(outline: Outline): [number, number] | null {
  const geometry = outline.geometry;
  const ring = geometry.type === "Polygon" ? geometry.coordinates[0] : geometry.coordinates[0]?.[0];
  const point = ring?.[0];
  return point && point[0] !== undefined && point[1] !== undefined ? [point[0], point[1]] : null;
}

// Answer headers are typed: an ETag to send back, a Link to follow, the rate limit left.
export type TerritoryETag = Ok<"getTerritory">["headers"]["ETag"];
export type NextLink = Ok<"listTerritories">["headers"]["Link"];
export type Remaining = Ok<"listTerritories">["headers"]["RateLimit-Remaining"];
export function etagOf(etag: TerritoryETag): string {
  return etag;
}

// Every error answer is a problem document.
export type TerritoryNotFound = operations["getTerritory"]["responses"][404]["content"]["application/problem+json"];
export type UnknownParameter = operations["listTerritories"]["responses"][400]["content"]["application/problem+json"];
export type OverTheLimit = operations["getTerritoryDossier"]["responses"][429]["content"]["application/problem+json"];
export function unknownParameters(problem: UnknownParameter): string[] {
  return (problem.errors ?? []).map((error) => error.field);
}
export function retryIn(problem: OverTheLimit): number {
  return problem.status;
}

export function outlineMistakes(outlines: Outlines, page: PageOfTerritories): void {
  // @ts-expect-error: a feature collection has no `items`
  void outlines.items;
  // @ts-expect-error: the JSON page is not the CSV text
  void page.split;
}
