"""The public page at `/`: served with its security headers, and read in a real browser.

The browser test drives Debian's Chromium (`/usr/bin/chromium`, no browser download) with the
`playwright` package over the real suite served on free ports: it loads the programme, looks at
the map and the figures a visitor sees, follows a territory from the map, reads its members,
contract and money, checks the keyboard's way to the content and that no request leaves the
origin. Screenshots go to `var/test-artifacts/page/`. It skips, saying why, when Chromium or
the page's assets (`make web`) are missing.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_testing import API, gateway_settings, running_gateway

from gateway.main import create_app
from gateway.web import STATIC, VENDOR
from tdi_kit.testing import LiveServer, bearer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "page"
# Debian's Chromium, or the one TDI_CHROMIUM names; None when there is none.
CHROMIUM = os.environ.get("TDI_CHROMIUM", "/usr/bin/chromium")
BROWSER = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
TERRITORY = "ti-2701"  # Alliances Luxe et Précision Doubs, phase 2, Bourgogne-Franche-Comté
M = 100_000_000  # one million euros, in cents
ADMIN = bearer("admin", sub="page-tests")
WRITER = bearer("contracts:write", sub="page-tests")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text += data.strip()


async def test_the_page_is_served_at_the_root_with_its_security_headers(
    suite: dict[str, str],
) -> None:
    async with running_gateway(**suite) as (_, gw):
        r = await gw.get("/")
        shared = await gw.get(f"/territoires/{TERRITORY}")
        # The page's own state in its address (a Région chosen, a campaign tag) is the page's
        # to read: not refused as an API operation refuses an unknown parameter.
        filtered = await gw.get("/", params={"region": "27", "utm_source": "lettre"})
        script = await gw.get("/static/app.js")
        missing = await gw.get("/static/nothing-here.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    # A territory's address is the same page, routed in the browser: a shared link opens it.
    assert shared.status_code == 200 and shared.text == r.text
    assert filtered.status_code == 200 and filtered.text == r.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["content-security-policy"] == csp
    assert missing.status_code == 404

    page = Tags()
    page.feed(r.text)
    html = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html["lang"] == "fr"
    # No inline script or style, and every file from this origin.
    assert page.script_text == ""
    assert all(attrs.get("src") for tag, attrs in page.tags if tag == "script")
    assert not any("style" in attrs for _, attrs in page.tags)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(https?:)?//", value), f"<{tag} {name}={value}> leaves the origin"
    landmarks = {attrs.get("role") for _, attrs in page.tags}
    assert {"banner", "main", "contentinfo"} <= landmarks
    assert ("a", {"class": "fr-link", "href": "#contenu"}) in page.tags


def test_the_pages_own_files_call_no_other_origin() -> None:
    for name in ("app.js", "app.css", "index.html"):
        text = (STATIC / name).read_text()
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{name} names another origin: {urls}"


# ---- in a real browser ---------------------------------------------------------------------


def _browser_missing() -> str | None:
    if BROWSER is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    if not (VENDOR / "versions.json").exists():
        return "the page's assets are not built (make web needs node and npm)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    return None


@pytest.fixture(scope="module")
async def page_gateway(own_suite: dict[str, str]) -> AsyncIterator[str]:
    """The gateway over HTTP, in front of a suite holding one contract with two actions, and
    allocations for one of them, written through the gateway."""
    app = create_app(gateway_settings(**own_suite))
    with LiveServer(app) as server:  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as gw:
            r = await gw.post(
                f"{API}/envelopes",
                json={
                    "code": "page-test-envelope",
                    "operator_code": "bpifrance",
                    "name": "Enveloppe de test de la page",
                    "kind": "grant",
                    "themes": ["innovation"],
                    "start_year": 2024,
                    "end_year": 2024,
                    "tranches": [{"year": 2024, "amount_cents": 50 * M}],
                },
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
            r = await gw.post(f"{API}/contracts", json=_contract(), headers=WRITER)
            assert r.status_code == 201, r.text
            action = next(a for a in r.json()["actions"] if a["code"] == "FA-01")
            r = await gw.post(
                f"{API}/allocations",
                json={
                    "envelope_code": "page-test-envelope",
                    "year": 2024,
                    "territory_code": TERRITORY,
                    "action_id": action["id"],
                    "title": "Banc d'essai des microtechniques",
                    "beneficiary_name": "Entreprise de test",
                    "amount_cents": 3 * M,
                    "status": "committed",
                },
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
        yield server.url


def _contract() -> dict[str, Any]:
    return {
        "territory_code": TERRITORY,
        "kind": "contrat",
        "title": "Contrat de territoire d'industrie Alliances Luxe et Précision",
        "enjeux": ["microtechniques", "compétences"],
        "start_year": 2024,
        "end_year": 2027,
        "signatories": [
            {"role": "prefet", "organisation_code": "prefecture-27"},
            {"role": "president_region", "organisation_code": "region-27"},
        ],
        "actions": [
            {
                "code": "FA-01",
                "title": "Banc d'essai des microtechniques",
                "priority": "innovation",
                "themes": ["innovation"],
                "budget_cents": 8 * M,
                "plan_lines": [{"financer_code": "bpifrance", "amount_cents": 3 * M}],
            },
            {
                "code": "FA-02",
                "title": "Campus des métiers du luxe",
                "priority": "competences",
                "themes": ["competences-et-recrutement"],
            },
        ],
    }


async def _table(page: Any, name: str) -> str:
    return _flat(await page.locator(f"table[data-table={name}]").inner_text())


def _flat(text: str) -> str:
    """French figures are spaced with narrow no-break spaces: compare them as plain spaces."""
    return re.sub(r"[\u202f\u00a0\s]+", " ", text).strip()


async def test_a_visitor_sees_the_programme_and_follows_a_territory(page_gateway: str) -> None:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = page_gateway
    requests: list[str] = []
    events: list[tuple[str, str]] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=BROWSER,
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="fr-FR"
            )
            page = await context.new_page()
            page.set_default_timeout(30_000)
            page.on("request", lambda r: (requests.append(r.url), events.append(("sent", r.url))))
            page.on("requestfinished", lambda r: events.append(("done", r.url)))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            await page.goto(base + "/")
            await page.wait_for_selector("svg.tdi-map a[data-code]")
            await page.wait_for_selector("table[data-table=reported] tbody tr")
            await page.wait_for_selector("bar-chart canvas")
            await page.screenshot(path=ARTIFACTS / "programme-top.png")
            # The charts draw (and animate) once laid out: shoot each section when it is.
            for section in ("carte", "territoires", "contrats", "argent"):
                await page.locator(f"#{section}-titre").scroll_into_view_if_needed()
                await page.wait_for_timeout(1200)
                await page.locator(f"section:has(#{section}-titre)").screenshot(
                    path=ARTIFACTS / f"programme-{section}.png"
                )
            # A section taller than the window is shot by resizing it, which redraws the
            # charts: shoot each chart on its own, too.
            for i in range(await page.locator(".tdi-chart").count()):
                chart = page.locator(".tdi-chart").nth(i)
                await chart.scroll_into_view_if_needed()
                await page.wait_for_timeout(1200)
                await chart.screenshot(path=ARTIFACTS / f"programme-chart-{i + 1}.png")

            assert await page.title() == "Territoires d'industrie : le programme en un coup d'œil"
            assert await page.locator("svg.tdi-map a[data-code]").count() == 183
            figures = _flat(await page.locator(".tdi-key-figures").inner_text())
            assert "183 territoires en phase 2" in figures
            # The seed's 2,932 M€ and the test's envelope of 50 M€.
            assert "2 982 M€ réservés dans les enveloppes (enregistré)" in figures
            by_region = await _table(page, "by-region")
            assert "Bourgogne-Franche-Comté 10" in by_region
            by_status = await _table(page, "contracts-by-status")
            assert "en préparation 1" in by_status
            by_funder = await _table(page, "money-by-funder")
            # The 150 M€ whose funder no source names, and the test's 50 M€ that names none
            # either: an unknown funder, and committed shares that are not known, never a zero.
            assert "financeur non publié 200 M€ non ventilé non ventilé" in by_funder
            assert "État 1 164,5 M€ non ventilé" in by_funder
            by_operator = await _table(page, "money-by-operator")
            assert "Bpifrance" in by_operator
            reported = await _table(page, "reported")
            assert "573 M€" in reported
            assert await page.locator("bar-chart canvas").count() >= 1

            # Every call of the programme's view went out before the first of them came back.
            api_events = [(kind, url) for kind, url in events if "/api/v1/" in url]
            first_done = next(i for i, (kind, _) in enumerate(api_events) if kind == "done")
            # Six: the dashboard, outlines, territories, Régions, organisations, vocabularies.
            assert sum(kind == "sent" for kind, _ in api_events[:first_done]) >= 6, api_events
            # The labels come from the API's vocabularies: the page keeps none of its own.
            assert any(url.endswith("/api/v1/vocabularies") for _, url in api_events[:first_done])
            assert "LABELS" not in (await (await page.request.get(base + "/static/app.js")).text())

            # The Région filter lists its territories and dims the others on the map.
            await page.select_option("#filtre-region", "27")
            await page.wait_for_function(
                "document.querySelectorAll('.tdi-territory-list li').length === 10"
            )
            assert "region=27" in page.url
            assert await page.locator("svg.tdi-map a.is-dimmed").count() == 173
            await page.locator("section:has(#carte-titre)").screenshot(
                path=ARTIFACTS / "programme-region-27.png"
            )

            # A click on the map opens the territory's page.
            await page.locator(f'svg.tdi-map a[data-code="{TERRITORY}"]').click()
            await page.wait_for_url(f"**/territoires/{TERRITORY}")
            await page.wait_for_selector("[data-contract]")
            await page.screenshot(path=ARTIFACTS / "territory-top.png")
            await page.locator("#contenu").screenshot(path=ARTIFACTS / "territory.png")
            heading = await page.locator("h1").inner_text()
            assert heading == "Alliances Luxe et Précision Doubs"
            assert await page.evaluate("document.activeElement.tagName") == "H1"
            members = await page.locator("table[data-table=members] tbody tr").count()
            assert members >= 1
            contract = _flat(await page.locator("[data-contract]").inner_text())
            assert "Contrat de territoire d'industrie Alliances Luxe et Précision" in contract
            assert "FA-01" in contract and "FA-02" in contract
            assert "Bpifrance 2024 : 3 M€ (engagée, versé 0 €)" in contract
            money = await _table(page, "balances-by-operator")
            assert "Bpifrance 3 M€ 0 € 3 M€ 1" in money
            sources = _flat(await page.locator("#sources-titre + ul").inner_text())
            assert "registre des territoires, mis à jour le" in sources

            # The phase-1 territory it continues: a page too, with no outline published.
            await page.get_by_role("link", name="territoire 2704").click()
            await page.wait_for_url("**/territoires/2704")
            await page.wait_for_selector("text=Pas de contour publié")
            assert await page.locator("h1").inner_text() == "Haut-Doubs Horloger"
            await page.go_back()
            await page.wait_for_selector("[data-contract]")

            # Back to the programme, by the browser's history.
            await page.go_back()
            await page.wait_for_selector("svg.tdi-map a[data-code]")
            assert await page.locator("#filtre-region").input_value() == "27"

            # The keyboard: the first Tab reaches the skip link, Enter puts the focus on the
            # main content.
            await page.goto(f"{base}/territoires/{TERRITORY}")
            await page.wait_for_selector("[data-contract]")
            await page.keyboard.press("Tab")
            assert _flat(await page.evaluate("document.activeElement.textContent")) == "Contenu"
            await page.screenshot(path=ARTIFACTS / "skip-link.png")
            await page.keyboard.press("Enter")
            assert await page.evaluate("document.activeElement.id") == "contenu"
            await page.keyboard.press("Tab")
            assert (
                await page.evaluate(
                    "document.getElementById('contenu').contains(document.activeElement)"
                    " && document.activeElement.textContent"
                )
                == "Le programme"
            )

            # On a telephone's screen.
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=ARTIFACTS / "territory-mobile.png")
            await page.goto(base + "/?region=44")
            await page.wait_for_selector(".tdi-territory-list li")
            assert await page.locator("#filtre-region").input_value() == "44"
            await page.locator("#carte-titre").scroll_into_view_if_needed()
            await page.screenshot(path=ARTIFACTS / "programme-mobile.png")
            await page.set_viewport_size({"width": 1280, "height": 900})

            # An unknown territory says so.
            await page.goto(f"{base}/territoires/ti-0000")
            await page.wait_for_selector("h1:has-text('Ce territoire n')")
            assert await page.locator("#assets-missing").is_hidden()

            # Without the DSFR's files (no node where it was installed) the page still reads
            # the API, unstyled, and says what is missing.
            bare = await context.new_page()
            await bare.route("**/static/vendor/**", lambda route: route.fulfill(status=404))
            await bare.goto(base + "/")
            await bare.wait_for_selector("#assets-missing", state="visible")
            await bare.wait_for_selector("table[data-table=by-region] tbody tr")
            assert await bare.locator("bar-chart").count() == 0
            await bare.screenshot(path=ARTIFACTS / "without-assets.png")
        finally:
            await browser.close()

    others = [url for url in requests if not url.startswith(base + "/")]
    assert not others, f"requests to another origin: {others}"
    # The unknown territory's 404 is the one error expected in the console.
    unexpected = [e for e in errors if "404" not in e]
    assert not unexpected, unexpected
