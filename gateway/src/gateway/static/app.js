// The public page: the programme at a glance, built on the public API only (/api/v1).
// Two views, routed in the browser: the programme (/) and a territory (/territoires/{code}).
// Each view asks for everything it needs at once (Promise.all): no request waits on another.
// Nothing is written with innerHTML: every text from the API goes through text nodes.

const API = "/api/v1";
const view = document.getElementById("vue");
const OVERSEAS = ["01", "02", "03", "04", "06"];

const integer = new Intl.NumberFormat("fr-FR");
const decimal = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
const dateFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long" });
const dateTimeFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short" });

// ---- DOM -------------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

// The French labels of the codes the API returns (themes, statuses, kinds, roles...) come from
// its vocabularies (GET /vocabularies), asked beside each view's own calls; until they answer,
// or if they cannot, a code is shown as it is.
let vocabularyLabels = new Map();
let vocabulariesPromise = null;
function vocabularies() {
  vocabulariesPromise ??= get("/vocabularies", { optional: true }).then((found) => {
    vocabularyLabels = new Map((found?.vocabularies ?? []).map((v) =>
      [v.name, new Map(v.terms.map((term) => [term.code, term.label]))]));
  });
  return vocabulariesPromise;
}

// `vocabulary`: its name in GET /vocabularies (`contract_statuses`, `themes`...).
function label(vocabulary, code) {
  if (code === null || code === undefined) return null;
  return vocabularyLabels.get(vocabulary)?.get(code) ?? code;
}

// Labels are lowercase, as in running text: a line that starts with one capitalises it.
function capitalised(text) {
  return text ? text.charAt(0).toLocaleUpperCase("fr-FR") + text.slice(1) : text;
}

// An unknown figure is said to be unknown, never shown as 0 (docs/money.md).
function unknown(text = "non connu") {
  return h("span", { class: "tdi-unknown" }, text);
}

function euros(cents, whenNull) {
  if (cents === null || cents === undefined) return unknown(whenNull);
  const value = cents / 100;
  if (Math.abs(value) >= 1_000_000) return `${decimal.format(value / 1_000_000)} M€`;
  return `${integer.format(Math.round(value))} €`;
}

function day(iso) {
  if (!iso) return unknown("date non connue");
  // The record gives dates at the source's precision: a year, a month or a day.
  if (/^\d{4}$/.test(iso)) return iso;
  if (/^\d{4}-\d{2}$/.test(iso)) return iso.split("-").reverse().join("/");
  const date = new Date(iso.length === 10 ? `${iso}T12:00:00Z` : iso);
  return Number.isNaN(date.getTime()) ? iso : (iso.length === 10 ? dateFormat : dateTimeFormat).format(date);
}

function badge(text, kind = "") {
  return h("p", { class: `fr-badge fr-badge--sm ${kind}`.trim() }, text);
}

function demoBadge(record) {
  return record?.is_demo ? badge("démonstration", "fr-badge--warning tdi-demo") : null;
}

function table(caption, headers, rows, options = {}) {
  return h("div", { class: `fr-table ${options.className ?? ""}`.trim() },
    h("div", { class: "fr-table__wrapper" },
      h("div", { class: "fr-table__container" },
        h("div", { class: "fr-table__content" },
          h("table", { "data-table": options.name },
            h("caption", {}, caption),
            h("thead", {}, h("tr", {}, headers.map((title) => h("th", { scope: "col" }, title)))),
            h("tbody", {}, rows.length
              ? rows.map((row) => h("tr", {}, row.map((cell, i) => i === 0
                ? h("th", { scope: "row" }, cell)
                : h("td", { class: typeof cell === "string" && /€$/.test(cell) ? "tdi-number" : null }, cell))))
              : h("tr", {}, h("td", { colspan: headers.length }, options.empty ?? "Aucune donnée.")))))))
  );
}

// A bar chart of DSFR Chart, beside the table that holds the same figures for everyone.
function barChart(labels, values, options = {}) {
  if (!chartsReady || !labels.length) return null;
  return h("div", { class: "tdi-chart", "aria-hidden": "true" },
    h("bar-chart", {
      x: JSON.stringify([labels]),
      y: JSON.stringify([values]),
      name: JSON.stringify([options.name ?? ""]),
      horizontal: options.horizontal ? "true" : null,
      "selected-palette": "categorical",
      "unit-tooltip": options.unit ?? null,
    }));
}

// ---- API -------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem, path) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.path = path;
  }
}

async function get(path, { optional = false } = {}) {
  const response = await fetch(API + path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    if (optional) return null;
    throw new ApiError(response.status, problem, path);
  }
  return response.json();
}

let organisationsPromise = null;
function organisations() {
  // Names of operators, financers and signatories; asked once, beside each view's own calls.
  organisationsPromise ??= get("/organisations?limit=1000", { optional: true }).then((page) =>
    new Map((page?.items ?? []).map((org) => [org.code, org.name])));
  return organisationsPromise;
}

// ---- the map ---------------------------------------------------------------------------------

// Equirectangular, scaled by the cosine of the middle latitude: true enough at this scale.
function projector(bounds, box) {
  const [west, south, east, north] = bounds;
  const k = Math.cos(((north + south) / 2) * (Math.PI / 180));
  const width = (east - west) * k || 1e-6;
  const height = north - south || 1e-6;
  const scale = Math.min(box.width / width, box.height / height);
  const dx = box.x + (box.width - width * scale) / 2;
  const dy = box.y + (box.height - height * scale) / 2;
  return ([lon, lat]) => [dx + (lon - west) * k * scale, dy + (north - lat) * scale];
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

function boundsOf(features) {
  let bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const feature of features) {
    for (const ring of rings(feature.geometry)) {
      for (const [lon, lat] of ring) {
        bounds = [Math.min(bounds[0], lon), Math.min(bounds[1], lat),
          Math.max(bounds[2], lon), Math.max(bounds[3], lat)];
      }
    }
  }
  return bounds;
}

function pathData(geometry, project) {
  let d = "";
  for (const ring of rings(geometry)) {
    let last = null;
    let points = 0;
    for (const coordinate of ring) {
      const [x, y] = project(coordinate);
      // Points closer than half a unit of the drawing add bytes, not shape.
      if (last && Math.abs(x - last[0]) < 0.5 && Math.abs(y - last[1]) < 0.5) continue;
      d += `${points ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
      last = [x, y];
      points += 1;
    }
    if (points) d += "Z";
  }
  return d;
}

const MAP = { width: 760, height: 720, inset: { x: 8, width: 150, height: 110, gap: 24 } };

// The territories drawn in one SVG: metropolitan France, and one inset per overseas Région.
function drawMap(outlines, regionOf, regionNames) {
  const byRegion = new Map();
  for (const feature of outlines.features) {
    const region = regionOf.get(feature.properties.code) ?? "";
    if (!byRegion.has(region)) byRegion.set(region, []);
    byRegion.get(region).push(feature);
  }
  const metropole = outlines.features.filter((f) => !OVERSEAS.includes(regionOf.get(f.properties.code)));
  const main = { x: MAP.inset.x + MAP.inset.width + 16, y: 8, width: MAP.width - MAP.inset.width - 40, height: MAP.height - 16 };
  const groups = [{ features: metropole, box: main, bounds: boundsOf(metropole), name: null }];
  OVERSEAS.filter((code) => byRegion.has(code)).forEach((code, i) => {
    const box = { x: MAP.inset.x, y: 8 + i * (MAP.inset.height + MAP.inset.gap) + 18, width: MAP.inset.width, height: MAP.inset.height };
    groups.push({ features: byRegion.get(code), box, bounds: boundsOf(byRegion.get(code)), name: regionNames.get(code) ?? code, code });
  });
  const svg = s("svg", {
    viewBox: `0 0 ${MAP.width} ${MAP.height}`, class: "tdi-map", role: "img",
    "aria-labelledby": "carte-titre carte-aide", focusable: "false",
  });
  const shapes = new Map();
  for (const group of groups) {
    const project = projector(group.bounds, group.box);
    const g = s("g", { class: group.code ? "tdi-inset" : "tdi-metropole", "data-region": group.code ?? null });
    if (group.name) {
      g.append(s("rect", { x: group.box.x - 4, y: group.box.y - 4, width: group.box.width + 8, height: group.box.height + 8, class: "tdi-inset-frame" }));
      g.append(s("text", { x: group.box.x - 2, y: group.box.y - 8, class: "tdi-inset-label" }, group.name));
    }
    for (const feature of group.features) {
      const { code, name } = feature.properties;
      // A mouse click follows the territory; keyboards and screen readers use the list below
      // the map, which names the same territories (183 stops in the tab order would bury it).
      const link = s("a", { href: `/territoires/${code}`, tabindex: "-1", "data-code": code, "data-region": regionOf.get(code) ?? "" },
        s("path", { d: pathData(feature.geometry, project) }),
        s("title", {}, `${name} (${code})`));
      shapes.set(code, link);
      g.append(link);
    }
    svg.append(g);
  }
  return { svg, shapes, groups, main };
}

// ---- the programme (/) ----------------------------------------------------------------------

async function showProgramme(params) {
  const [dashboard, outlines, territories, regions, names, withCharts] = await Promise.all([
    get("/dashboard"),
    get("/territory-outlines"),
    get("/territories?phase=2&limit=1000&sort=name"),
    get("/regions"),
    organisations(),
    chartsLoaded,
    vocabularies(),
  ]);
  chartsReady = withCharts;
  const regionNames = new Map(regions.map((r) => [r.code, r.name]));
  const regionOf = new Map(territories.items.map((t) => [t.code, t.region_code]));
  const t = dashboard.territories;
  const money = dashboard.money;
  const phaseCount = (phase) => t.by_phase.find((row) => row.key === phase)?.count ?? null;

  document.title = "Territoires d'industrie : le programme en un coup d'œil";
  const map = drawMap(outlines, regionOf, regionNames);
  const select = h("select", { class: "fr-select", id: "filtre-region", name: "region" },
    h("option", { value: "" }, `Toutes les Régions (${integer.format(t.total)} territoires)`),
    t.by_region.map((row) => h("option", { value: row.region_code },
      `${row.region_name} (${integer.format(row.count)})`)));
  // Read out when the filter changes it; a new view is announced by focusing its h1 instead.
  const listTitle = h("h3", { class: "fr-h6", id: "liste-titre", "aria-live": "polite" });
  const list = h("ul", { class: "tdi-territory-list", "aria-labelledby": "liste-titre" });

  function filter(region) {
    select.value = region;
    const chosen = territories.items.filter((item) => !region || item.region_code === region);
    for (const [code, link] of map.shapes) {
      link.classList.toggle("is-dimmed", Boolean(region) && regionOf.get(code) !== region);
    }
    // Zoom on a metropolitan Région; an overseas one is already framed in its inset.
    let box = `0 0 ${MAP.width} ${MAP.height}`;
    if (region && !OVERSEAS.includes(region)) {
      const project = projector(map.groups[0].bounds, map.main);
      const features = outlines.features.filter((f) => regionOf.get(f.properties.code) === region);
      const [west, south, east, north] = boundsOf(features);
      const [x0, y0] = project([west, north]);
      const [x1, y1] = project([east, south]);
      const pad = 20;
      box = `${x0 - pad} ${y0 - pad} ${x1 - x0 + 2 * pad} ${y1 - y0 + 2 * pad}`;
    }
    map.svg.setAttribute("viewBox", box);
    listTitle.textContent = region
      ? `${chosen.length} territoires en ${regionNames.get(region) ?? region}`
      : `Les ${chosen.length} territoires de la phase 2`;
    list.replaceChildren(...chosen.map((item) => h("li", {},
      h("a", { href: `/territoires/${item.code}`, class: "fr-link" }, item.name),
      " ", h("span", { class: "fr-text--xs tdi-muted" }, item.code))));
    const url = new URL(window.location.href);
    if (region) url.searchParams.set("region", region);
    else url.searchParams.delete("region");
    history.replaceState(null, "", url);
  }
  select.addEventListener("change", () => filter(select.value));

  const byRegion = t.by_region;
  const operatorName = (code) => names.get(code) ?? code;
  const moneyRows = (rows, first) => rows.map((row) => [first(row),
    euros(row.amount_cents), euros(row.committed_cents, "non ventilé"), euros(row.disbursed_cents, "non ventilé")]);
  const moneyHeaders = (what) => [what, "Montant réservé", "Engagé", "Versé"];
  const themeLabel = (row) => (row.themes ?? [row.theme]).map((code) => label("themes", code)).join(", ");
  const yearLabel = (row) => row.year ?? (row.period ? `période ${row.period}` : "sans année");

  view.replaceChildren();
  append(view, [
    h("h1", { tabindex: "-1" }, "Territoires d'industrie, le programme en un coup d'œil"),
    h("p", { class: "fr-text--lead" },
      "Le programme national de réindustrialisation des territoires : ",
      `${integer.format(phaseCount(1) ?? 0)} territoires en phase 1 (2018-2022), `,
      `${integer.format(phaseCount(2) ?? 0)} en phase 2 (2023-2027), leurs contrats et l'argent qui les finance.`),
    h("p", { class: "fr-text--sm tdi-muted" },
      "Les données de démonstration sont laissées hors des chiffres nationaux. ",
      "Un chiffre que personne n'a publié est dit « non connu », jamais compté pour zéro."),
    keyFigures(dashboard),

    h("section", { class: "fr-mt-6w", "aria-labelledby": "carte-titre" },
      h("h2", { id: "carte-titre" }, "La carte des territoires de la phase 2"),
      h("p", { id: "carte-aide", class: "fr-text--sm" },
        `${integer.format(outlines.features.length)} territoires dessinés d'après leurs contours officiels, `,
        "avec la Guadeloupe, la Martinique, la Guyane, La Réunion et Mayotte en encadrés. ",
        "Cliquez sur un territoire pour ouvrir sa page, ou choisissez-le dans la liste."),
      h("div", { class: "fr-grid-row fr-grid-row--gutters" },
        h("div", { class: "fr-col-12 fr-col-md-8" }, h("div", { class: "tdi-map-frame" }, map.svg)),
        h("div", { class: "fr-col-12 fr-col-md-4" },
          h("div", { class: "fr-select-group" },
            h("label", { class: "fr-label", for: "filtre-region" }, "Filtrer par Région",
              h("span", { class: "fr-hint-text" }, "La Région officielle de chaque territoire (ANCT)")),
            select),
          listTitle,
          h("div", { class: "tdi-list-frame" }, list)))),

    h("section", { class: "fr-mt-6w", "aria-labelledby": "territoires-titre" },
      h("h2", { id: "territoires-titre" }, "Les territoires"),
      h("div", { class: "fr-grid-row fr-grid-row--gutters" },
        h("div", { class: "fr-col-12 fr-col-md-4" },
          table("Territoires par phase", ["Phase", "Territoires"],
            t.by_phase.map((row) => [`Phase ${row.key}`, integer.format(row.count)]), { name: "by-phase" })),
        h("div", { class: "fr-col-12 fr-col-md-8" },
          barChart(byRegion.map((row) => row.region_name), byRegion.map((row) => row.count),
            { name: "Territoires de la phase 2", horizontal: true }),
          table(`Territoires de la phase ${t.phase} par Région officielle`, ["Région", "Territoires"],
            byRegion.map((row) => [row.region_name, integer.format(row.count)]), { name: "by-region" })))),

    h("section", { class: "fr-mt-6w", "aria-labelledby": "contrats-titre" },
      h("h2", { id: "contrats-titre" }, "Les contrats et leurs fiches-actions"),
      h("div", { class: "fr-grid-row fr-grid-row--gutters" },
        h("div", { class: "fr-col-12 fr-col-md-4" },
          table("Contrats par statut", ["Statut", "Actes"],
            dashboard.contracts.by_status.map((row) => [label("contract_statuses", row.key), integer.format(row.count)]),
            { name: "contracts-by-status", empty: "Aucun contrat enregistré." })),
        h("div", { class: "fr-col-12 fr-col-md-4" },
          table("Contrats par nature", ["Nature", "Actes"],
            dashboard.contracts.by_kind.map((row) => [label("contract_kinds", row.key), integer.format(row.count)]),
            { name: "contracts-by-kind" })),
        h("div", { class: "fr-col-12 fr-col-md-4" },
          table("Fiches-actions par statut", ["Statut", "Fiches"],
            dashboard.actions.by_status.map((row) => [label("action_statuses", row.key), integer.format(row.count)]),
            { name: "actions-by-status", empty: "Aucune fiche-action enregistrée." })))),

    h("section", { class: "fr-mt-6w", "aria-labelledby": "argent-titre" },
      h("h2", { id: "argent-titre" }, "L'argent du programme"),
      h("h3", { class: "fr-h4" }, "Enregistré : les enveloppes et les mouvements du registre des financements"),
      h("p", { class: "fr-text--sm" },
        `En tout ${formatText(euros(money.totals.amount_cents))} réservés dans les enveloppes, chaque euro compté une fois ; `,
        `${formatText(euros(money.totals.committed_cents))} engagés et ${formatText(euros(money.totals.disbursed_cents))} versés `,
        "d'après les mouvements que les opérateurs ont enregistrés ici. ",
        "« Non ventilé » : le registre ne sait pas répartir cette part (l'engagement est pris sur l'enveloppe, pas sur la part d'un financeur)."),
      h("div", { class: "fr-grid-row fr-grid-row--gutters" },
        h("div", { class: "fr-col-12" },
          table("Par financeur (qui apporte l'argent)", moneyHeaders("Financeur"),
            moneyRows(money.by_funder, (row) => row.funder_code === null
              ? h("span", {}, unknown("financeur non publié"))
              : row.funder_label ?? names.get(row.funder_code) ?? row.funder_code), { name: "money-by-funder" })),
        h("div", { class: "fr-col-12" },
          table("Par opérateur (qui gère l'enveloppe)", moneyHeaders("Opérateur"),
            moneyRows(money.by_operator, (row) => row.operator_name ?? operatorName(row.operator_code)), { name: "money-by-operator" })),
        h("div", { class: "fr-col-12" },
          table("Par thème (chaque enveloppe une fois, sous l'ensemble de ses thèmes)", moneyHeaders("Thèmes"),
            moneyRows(money.by_theme, themeLabel), { name: "money-by-theme" })),
        h("div", { class: "fr-col-12" },
          barChart(money.by_year.map(yearLabel).map(String), money.by_year.map((row) => Math.round((row.amount_cents ?? 0) / 1e8) / 1e0),
            { name: "Montant réservé (M€)", unit: "M€" }),
          table("Par année (ou par période quand aucune répartition annuelle n'est publiée)", moneyHeaders("Année"),
            moneyRows(money.by_year, yearLabel), { name: "money-by-year" }))),
      money.notes?.length ? h("details", { class: "fr-mt-2w" }, h("summary", {}, "Comment ces sommes sont comptées"),
        h("ul", { lang: "en" }, money.notes.map((note) => h("li", {}, note)))) : null,

      h("h3", { class: "fr-h4 fr-mt-4w" }, "Publié : les chiffres des sources publiques"),
      h("p", { class: "fr-text--sm" },
        "Ce que les sources publiques ont annoncé, engagé ou versé, à leur date. Ces chiffres ne sont jamais ajoutés aux sommes enregistrées ci-dessus."),
      table("Chiffres publiés", ["Chiffre (et sa réserve)", "Mesure", "Valeur", "À la date du", "Source"],
        (money.reported ?? []).map((figure) => [
          [figure.label, figure.caveat ? h("span", { class: "tdi-caveat", lang: "en" }, figure.caveat) : null],
          figure.measure_label ?? figure.measure,
          figure.value_cents !== null ? euros(figure.value_cents)
            : figure.count !== null ? `${integer.format(figure.count)} projets` : unknown(),
          day(figure.as_of),
          figure.source_url ? h("a", { href: figure.source_url, rel: "noopener" }, figure.source_title) : figure.source_title ?? unknown("non citée"),
        ]), { name: "reported", className: "tdi-reported" })),
    partialAlert(dashboard),
  ]);
  filter(regionNames.has(params.get("region")) ? params.get("region") : "");
}

function formatText(node) {
  return node instanceof Node ? node.textContent : node;
}

function keyFigures(dashboard) {
  const t = dashboard.territories;
  const figures = [
    [integer.format(t.total), `territoires en phase ${t.phase}`],
    [integer.format(dashboard.contracts.total), "protocoles et contrats enregistrés"],
    [integer.format(dashboard.actions.total), "fiches-actions enregistrées"],
    [formatText(euros(dashboard.money.totals.amount_cents)), "réservés dans les enveloppes (enregistré)"],
  ];
  return h("ul", { class: "fr-grid-row fr-grid-row--gutters tdi-key-figures", "aria-label": "Chiffres clés" },
    figures.map(([value, text]) => h("li", { class: "fr-col-12 fr-col-sm-6 fr-col-md-3" },
      h("div", { class: "tdi-key-figure" }, h("p", { class: "tdi-key-value" }, value), h("p", { class: "fr-text--sm" }, text)))));
}

function partialAlert(answer) {
  if (!answer.partial) return null;
  return h("div", { class: "fr-alert fr-alert--warning fr-mt-4w", role: "alert" },
    h("h2", { class: "fr-alert__title" }, "Réponse incomplète"),
    h("p", {}, "Une partie des services n'a pas répondu : les chiffres qui en dépendent sont absents, pas nuls."),
    h("ul", {}, (answer.problems ?? []).map((problem) => h("li", {}, `${problem.part ?? problem.service} : ${problem.title}`))));
}

// ---- a territory (/territoires/{code}) -------------------------------------------------------

async function showTerritory(code) {
  const path = encodeURIComponent(code);
  const [dossier, outline, names] = await Promise.all([
    get(`/territories/${path}/dossier`),
    get(`/territories/${path}/outline`, { optional: true }),
    organisations(),
    vocabularies(),
  ]);
  const territory = dossier.territory;
  const orgName = (orgCode) => names.get(orgCode) ?? orgCode;
  const memberName = new Map(territory.members.map((m) => [m.siren, m.name]));
  document.title = `${territory.name} : Territoires d'industrie`;

  const governance = territory.governance ?? {};
  const person = (p) => p ? [p.name ?? unknown("nom non publié"), p.organisation ? ` (${p.organisation})` : ""] : unknown("non renseigné");
  const contracts = dossier.contracts;

  view.replaceChildren();
  append(view, [
    h("nav", { role: "navigation", class: "fr-breadcrumb", "aria-label": "vous êtes ici :" },
      h("ol", { class: "fr-breadcrumb__list" },
        h("li", {}, h("a", { class: "fr-breadcrumb__link", href: `/?region=${territory.region_code ?? ""}` }, "Le programme")),
        h("li", {}, h("a", { class: "fr-breadcrumb__link", "aria-current": "page" }, territory.name)))),
    h("h1", { tabindex: "-1" }, territory.name),
    h("ul", { class: "fr-badges-group" },
      h("li", {}, badge(`phase ${territory.phase}`, "fr-badge--info")),
      h("li", {}, badge(label("territory_statuses", territory.status), territory.status === "active" ? "fr-badge--success" : ""))),
    h("div", { class: "fr-grid-row fr-grid-row--gutters fr-mt-2w" },
      h("div", { class: "fr-col-12 fr-col-md-4" },
        outline ? h("figure", { class: "tdi-outline" }, territoryOutline(outline, territory.name),
          h("figcaption", { class: "fr-text--xs" }, "Contour officiel du territoire")) :
          h("p", { class: "fr-text--sm tdi-muted" }, "Pas de contour publié pour ce territoire (les contours sont ceux de la phase 2).")),
      h("div", { class: "fr-col-12 fr-col-md-8" },
        h("dl", { class: "tdi-facts" },
          h("dt", {}, "Code officiel"), h("dd", {}, territory.code),
          h("dt", {}, "Période"), h("dd", {}, `du ${formatText(day(territory.phase_starts_on))} au ${formatText(day(territory.phase_ends_on))}`),
          h("dt", {}, "Région"), h("dd", {}, territory.region_name ?? unknown(), " ",
            h("span", { class: "fr-text--xs tdi-muted" }, `(${label("region_sources", territory.region_source)})`)),
          territory.regions.length > 1 ? [h("dt", {}, "Régions touchées"), h("dd", {}, territory.regions.map((r) => r.name).join(", "))] : null,
          h("dt", {}, "Départements"), h("dd", {}, territory.departments.map((d) => `${d.name} (${d.code})`).join(", ")),
          h("dt", {}, "Communes"), h("dd", {}, integer.format(territory.commune_count)),
          territory.phase1_overlaps?.length ? [h("dt", {}, "En phase 1"), h("dd", {}, territory.phase1_overlaps.map((c, i) => [i ? ", " : "",
            h("a", { href: `/territoires/${c}`, class: "fr-link" }, `territoire ${c}`)]))] : null))),

    h("section", { class: "fr-mt-4w", "aria-labelledby": "membres-titre" },
      h("h2", { id: "membres-titre" }, "Membres"),
      table(`Les ${territory.members.length} groupements membres`, ["Groupement", "SIREN", "Nature", "Part couverte"],
        territory.members.map((m) => [m.name, m.siren, m.nature ?? m.kind,
          m.coverage === null ? "entier" : `${decimal.format(m.coverage * 100)} %`]), { name: "members" })),

    h("section", { class: "fr-mt-4w", "aria-labelledby": "gouvernance-titre" },
      h("h2", { id: "gouvernance-titre" }, "Gouvernance"),
      h("dl", { class: "tdi-facts" },
        h("dt", {}, "Binôme : élu(e)"), h("dd", {}, person(governance.binome?.elected_official)),
        h("dt", {}, "Binôme : industriel(le)"), h("dd", {}, person(governance.binome?.industrialist)),
        h("dt", {}, "Chef(fe) de projet"), h("dd", {}, person(governance.chef_de_projet)),
        h("dt", {}, "Référents des opérateurs"), h("dd", {}, governance.referents?.length
          ? h("ul", {}, governance.referents.map((r) => h("li", {}, `${orgName(r.organisation_code)} : `, r.name ?? unknown("nom non publié"))))
          : unknown("aucun renseigné")))),

    h("section", { class: "fr-mt-4w", "aria-labelledby": "contrats-titre" },
      h("h2", { id: "contrats-titre" }, "Contrats et fiches-actions"),
      contracts === null ? unknown("Le service des contrats n'a pas répondu : les contrats de ce territoire ne sont pas connus pour l'instant.")
        : contracts.length === 0 ? h("p", {}, "Aucun protocole ni contrat enregistré pour ce territoire.")
          : contracts.map((contract) => contractSection(contract, orgName, memberName)),
      dossier.actions_without_contract?.length ? [h("h3", { class: "fr-h5" }, "Fiches-actions hors contrat"),
        actionsTable(dossier.actions_without_contract, orgName)] : null),

    h("section", { class: "fr-mt-4w", "aria-labelledby": "argent-titre" },
      h("h2", { id: "argent-titre" }, "L'argent qui les finance"),
      moneySection(dossier, orgName)),

    h("section", { class: "fr-mt-4w", "aria-labelledby": "sources-titre" },
      h("h2", { id: "sources-titre" }, "Sources et dates des données"),
      h("ul", {},
        h("li", {}, `Territoire, membres et gouvernance : registre des territoires, mis à jour le ${formatText(day(territory.updated_at))} (version ${territory.version}).`),
        h("li", {}, `Rattachement régional : ${label("region_sources", territory.region_source)}.`),
        (contracts ?? []).map((c) => h("li", {}, `${c.title} : `,
          c.sources?.length ? `sources ${c.sources.join(", ")}` : "aucune source citée",
          `, enregistré le ${formatText(day(c.updated_at))}.`, c.is_demo ? " Données de démonstration inventées." : "")),
        h("li", {}, "Engagements et versements : registre des financements, mouvements enregistrés par les opérateurs."))),
    partialAlert(dossier),
  ]);
}

function territoryOutline(feature, name) {
  const features = feature.type === "FeatureCollection" ? feature.features : [feature];
  const box = { x: 4, y: 4, width: 292, height: 232 };
  const project = projector(boundsOf(features), box);
  return s("svg", { viewBox: "0 0 300 240", class: "tdi-map tdi-map--one", role: "img", "aria-label": `Contour du territoire ${name}` },
    features.map((f) => s("path", { d: pathData(f.geometry, project) })));
}

const STATUS_BADGE = { draft: "fr-badge--new", signed: "fr-badge--success", in_progress: "fr-badge--success", cancelled: "fr-badge--error" };

function contractSection(contract, orgName, memberName) {
  const signatory = (sig) => sig.name ?? (sig.organisation_code ? orgName(sig.organisation_code) : memberName.get(sig.siren) ?? sig.siren);
  return h("div", { class: "fr-card fr-card--no-arrow fr-mb-3w tdi-contract", "data-contract": contract.id },
    h("div", { class: "fr-card__body" }, h("div", { class: "fr-card__content" },
      h("h3", { class: "fr-card__title" }, contract.title),
      h("ul", { class: "fr-badges-group" },
        h("li", {}, badge(label("contract_kinds", contract.kind), "fr-badge--info")),
        h("li", {}, badge(label("contract_statuses", contract.status), STATUS_BADGE[contract.status] ?? "")),
        contract.is_demo ? h("li", {}, demoBadge(contract)) : null),
      h("div", { class: "fr-card__desc" },
        h("p", {}, contract.signed_on ? `Signé le ${formatText(day(contract.signed_on))}`
          : contract.status === "draft" ? "Pas encore signé" : "Date de signature non connue",
          contract.signature_place ? ` à ${contract.signature_place}` : "",
          contract.start_year ? `, pour ${contract.start_year}-${contract.end_year ?? "…"}` : "", "."),
        contract.enjeux?.length ? [h("p", { class: "fr-text--bold fr-mb-1v" }, "Enjeux"), h("ul", {}, contract.enjeux.map((e) => h("li", {}, e)))] : null,
        contract.signatories?.length ? [h("p", { class: "fr-text--bold fr-mb-1v" }, "Signataires"),
          h("ul", {}, contract.signatories.map((sig) => h("li", {}, `${capitalised(label("signatory_roles", sig.role))} : `, signatory(sig),
            sig.signed_on ? ` (signé le ${formatText(day(sig.signed_on))})` : sig.required ? " (signature attendue)" : "")))] : null,
        h("p", { class: "fr-text--sm" }, "Budget : ", euros(contract.budget_cents, "non publié"),
          " ; plans de financement des fiches : ", euros(contract.planned_cents)),
        contract.actions?.length
          ? actionsTable(contract.actions, orgName)
          : h("p", { class: "fr-text--sm tdi-muted" }, contract.action_count ? "Fiches-actions non disponibles." : "Aucune fiche-action enregistrée pour cet acte.")))));
}

function actionsTable(actions, orgName) {
  return table("Fiches-actions", ["Fiche-action", "Axe ou priorité", "Statut", "Budget", "Plan de financement", "Financements enregistrés"],
    actions.map((action) => [
      [action.code ? `${action.code} · ` : "", action.title, action.is_demo ? " " : "", demoBadge(action)],
      label("priorities", action.priority) ?? label("axes", action.axis) ?? unknown("non classée"),
      label("action_statuses", action.status),
      euros(action.budget_cents, "non publié"),
      action.plan_lines?.length
        ? h("ul", { class: "tdi-compact" }, action.plan_lines.map((line) => h("li", {},
          `${line.financer_name ?? orgName(line.financer_code) ?? line.label ?? "financeur non nommé"} : `, euros(line.amount_cents))))
        : unknown("aucun"),
      action.allocations === null ? unknown("non connus (service des financements indisponible)")
        : action.allocations?.length
          ? h("ul", { class: "tdi-compact" }, action.allocations.map((a) => h("li", {},
            `${a.operator_name ?? orgName(a.operator_code)} ${a.year ?? ""} : `, euros(a.amount_cents), ` (${label("allocation_statuses", a.status)}, versé ${formatText(euros(a.disbursed_cents))})`)))
          : "aucun",
    ]), { name: "actions", className: "tdi-actions" });
}

function moneySection(dossier, orgName) {
  const balances = dossier.balances;
  if (balances === null) return unknown("Le service des financements n'a pas répondu : l'argent de ce territoire n'est pas connu pour l'instant.");
  const headers = (what) => [what, "Engagé", "Versé", "Reste à verser", "Financements"];
  const rows = (items, first) => items.map((row) => [first(row), euros(row.committed_cents), euros(row.disbursed_cents),
    euros(row.undisbursed_cents), integer.format(row.allocation_count)]);
  const loose = dossier.allocations_without_action ?? [];
  return [
    h("p", {}, "Enregistré : les financements (allocations) que les opérateurs ont engagés pour ce territoire, ",
      `${formatText(euros(balances.totals.committed_cents))} engagés, ${formatText(euros(balances.totals.disbursed_cents))} versés. `,
      "Les enveloppes ne sont pas réparties par territoire à l'avance.",
      balances.demo_left_out ? ` ${balances.demo_left_out} financement(s) de démonstration laissé(s) hors de ces sommes.` : ""),
    h("div", { class: "fr-grid-row fr-grid-row--gutters" },
      h("div", { class: "fr-col-12 fr-col-md-6" },
        table("Par opérateur", headers("Opérateur"), rows(balances.by_operator, (row) => row.operator_name ?? orgName(row.operator_code)),
          { name: "balances-by-operator", empty: "Aucun financement enregistré." })),
      h("div", { class: "fr-col-12 fr-col-md-6" },
        table("Par année", headers("Année"), rows(balances.by_year, (row) => row.year ?? "sans année"),
          { name: "balances-by-year", empty: "Aucun financement enregistré." }))),
    loose.length ? table("Financements hors fiche-action", ["Financement", "Opérateur", "Année", "Montant", "Versé", "Statut"],
      loose.map((a) => [[a.title ?? a.reference ?? a.id, demoBadge(a)], orgName(a.operator_code), a.year ?? "",
        euros(a.amount_cents), euros(a.disbursed_cents), label("allocation_statuses", a.status)]), { name: "allocations-without-action" }) : null,
  ];
}

// ---- routing ---------------------------------------------------------------------------------

function showError(error) {
  const missing = error instanceof ApiError && error.status === 404;
  document.title = missing ? "Page introuvable : Territoires d'industrie" : "Erreur : Territoires d'industrie";
  view.replaceChildren(
    h("h1", { tabindex: "-1" }, missing ? "Ce territoire n'existe pas" : "Les données n'ont pas pu être lues"),
    h("div", { class: `fr-alert ${missing ? "fr-alert--info" : "fr-alert--error"}` },
      h("p", {}, error.message)),
    h("p", { class: "fr-mt-2w" }, h("a", { class: "fr-link", href: "/" }, "Retour au programme")));
}

let rendering = 0;
async function route(focus) {
  const turn = ++rendering;
  const url = new URL(window.location.href);
  const match = url.pathname.match(/^\/territoires\/([^/]+)$/);
  try {
    if (match) await showTerritory(decodeURIComponent(match[1]));
    else await showProgramme(url.searchParams);
  } catch (error) {
    if (turn === rendering) showError(error);
  }
  // After a click inside the page, put the keyboard and the screen reader on the new view.
  if (focus && turn === rendering) view.querySelector("h1")?.focus();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const href = link.getAttribute("href");
  // Skip links and in-page anchors: move the focus there.
  if (href.startsWith("#")) {
    const target = document.getElementById(href.slice(1));
    if (target) {
      event.preventDefault();
      target.focus();
      target.scrollIntoView();
    }
    return;
  }
  // An SVG link's `href` is no string (SVGAnimatedString): read the attribute.
  const url = new URL(href, window.location.href);
  if (url.origin !== window.location.origin || !(url.pathname === "/" || url.pathname.startsWith("/territoires/"))) return;
  event.preventDefault();
  history.pushState(null, "", url);
  window.scrollTo(0, 0);
  route(true);
});
window.addEventListener("popstate", () => route(true));

// The DSFR and its charts are built into /static/vendor by `make web`; say so when they are not.
// Both load beside the API's answers, never before them.
let chartsReady = false;
const chartsLoaded = import("/static/vendor/dsfr-chart/BarChart.js").then(() => true).catch(() => false);
fetch("/static/vendor/versions.json").then((r) => (r.ok ? r.json() : null)).catch(() => null).then((found) => {
  if (!found) document.getElementById("assets-missing").hidden = false;
  else document.getElementById("versions").textContent =
    `Système de design de l'État : @gouvfr/dsfr ${found["@gouvfr/dsfr"]}, @gouvfr/dsfr-chart ${found["@gouvfr/dsfr-chart"]}.`;
});
route(false);
