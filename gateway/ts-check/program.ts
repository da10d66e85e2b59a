// A small client of the public API, type-checked against the types openapi-typescript generates
// from the gateway's merged /openapi.json (tests/gateway/test_openapi.py). It compiles only if
// the document types what a front-end reads: a territory's members, a dossier's parts and its
// `partial` marking, the problems naming the failed service, the dashboard's figures.
import type { components, paths } from "./api";

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
