// Copies the files the public page needs from the npm packages (installed by `npm ci` beside
// this file) into gateway/src/gateway/static/vendor/, which the gateway serves under
// /static/vendor/. Only those files: the DSFR's stylesheet and script, every font and icon its
// stylesheet names, its favicons, and the bar chart of DSFR Chart. Run: `make web`.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules", "@gouvfr");
const out = resolve(here, "..", "src", "gateway", "static", "vendor");

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

rmSync(out, { recursive: true, force: true });

const dsfr = join(modules, "dsfr", "dist");
const css = readFileSync(join(dsfr, "dsfr.min.css"), "utf8");
copy(join(dsfr, "dsfr.min.css"), join(out, "dsfr", "dsfr.min.css"));
copy(join(dsfr, "dsfr.module.min.js"), join(out, "dsfr", "dsfr.module.min.js"));
// Every font and icon the stylesheet names, relative to it; data: URIs are inline already.
const named = new Set();
for (const match of css.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
  const target = match[1].split(/[?#]/)[0];
  if (!target.startsWith("data:")) named.add(target);
}
for (const target of named) copy(join(dsfr, target), join(out, "dsfr", target));
for (const name of readdirSync(join(dsfr, "favicon"))) {
  copy(join(dsfr, "favicon", name), join(out, "dsfr", "favicon", name));
}

const chart = join(modules, "dsfr-chart", "dist", "BarChart");
copy(join(chart, "BarChart.js"), join(out, "dsfr-chart", "BarChart.js"));
copy(join(chart, "BarChart.css"), join(out, "dsfr-chart", "BarChart.css"));

const versions = Object.fromEntries(
  ["dsfr", "dsfr-chart"].map((name) => [
    `@gouvfr/${name}`,
    JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version,
  ]),
);
// The page reads this file to say which versions it runs on, and that the assets are there.
writeFileSync(join(out, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`web assets: ${named.size + 4} files of ${JSON.stringify(versions)} in ${out}`);
