"""The registry's slow lists and the dashboard's registry parts, one tree against another:
CPU µs per request in process.

    .venv/bin/python -m bench.registry_reads OLD_REV [POSTGRES_URL]

The registry migrated and seeded once per backend, then its app of OLD_REV and of the working
tree in turn, in fresh processes, called through `httpx.ASGITransport` in a loop
(`bench.harness.trees`). Each process also records the answers (bytes and ETags) of every
territory's communes, every page of the territories in each order and filter the lists take,
the programme, and the communes' and the groupements' lists (filters, sorts, CSV); the script
says whether the two trees answered the same. Not a section of `python -m bench`: it compares
two trees.
"""

from __future__ import annotations

from bench.harness import trees

TIMES = 100


async def _every_page(c: object, path: str) -> list[str]:
    """`path` and each page after it, as the `Link: rel="next"` headers lead."""
    pages = [path]
    while True:
        link = (await c.get(pages[-1])).headers.get("link")  # type: ignore[attr-defined]
        if not link:
            return pages
        pages.append(link[1 : link.index(">")])


async def _measure(url: str) -> dict[str, list[object]]:
    import httpx

    from registry.main import create_app
    from registry.settings import RegistrySettings

    settings = RegistrySettings(
        database_url=url,
        environment="test",
        log_level="WARNING",
        webhooks_dispatcher="external",
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    # Uncompressed, as the lists bench asks: compression's cost is the same before and after.
    identity = {"accept-encoding": "identity"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=identity) as c,
    ):
        paths = {
            "territory by code": "/api/v1/territories/ti-2708",
            "communes of ti-2708, 100": "/api/v1/territories/ti-2708/communes?limit=100",
            "territories phase 2 by -name, 100": (
                "/api/v1/territories?phase=2&sort=-name&limit=100"
            ),
            "territories, 100": "/api/v1/territories?limit=100",
            "dashboard: every territory": "/api/v1/territories?limit=1000",
            "dashboard: every territory of 84": "/api/v1/territories?region=84&limit=1000",
            "dashboard: the programme": "/api/v1/programme",
            "communes, 100": "/api/v1/communes?limit=100",
            "groupements, 100": "/api/v1/groupements?limit=100",
        }
        every = (await c.get("/api/v1/territories?limit=1000")).json()["items"]
        checked: list[str] = ["/api/v1/programme", "/api/v1/territories/none/communes"]
        for t in every:
            checked.append(f"/api/v1/territories/{t['code']}/communes?limit=1000")
        for first in [
            "/api/v1/territories/ti-2708/communes?limit=50",
            "/api/v1/territories/ti-2708/communes?limit=50&sort=-name",
            "/api/v1/territories/2708/communes?limit=50&sort=name",
            "/api/v1/territories?limit=100",
            "/api/v1/territories?limit=100&sort=-name",
            "/api/v1/territories?limit=100&sort=name",
            "/api/v1/territories?phase=2&sort=-name&limit=50",
            "/api/v1/territories?phase=1&sort=name,-code&limit=50",
            "/api/v1/territories?phase=current&sort=-phase,-name&limit=50",
            "/api/v1/territories?region=84&sort=-name&limit=20",
            "/api/v1/territories?q=vallee&sort=-name&limit=10",
            "/api/v1/communes?department=2A&limit=100",
            "/api/v1/communes?epci=200069052&sort=-population&limit=20",
            "/api/v1/groupements?limit=300&sort=-population",
            "/api/v1/groupements?kind=epci&region=84&sort=name&limit=50",
            "/api/v1/groupements?department=2A&limit=5",
            "/api/v1/groupements?q=pays&limit=50",
            "/api/v1/organisations?limit=100",
        ]:
            checked += await _every_page(c, first)
        checked += [
            "/api/v1/territories?format=csv&sort=-name",
            "/api/v1/communes?limit=1000",
            "/api/v1/communes?limit=100&sort=-name",
            "/api/v1/groupements?limit=500",
            "/api/v1/groupements?format=csv&nature=CA",
            "/api/v1/communes?format=csv&department=90",
            "/api/v1/groupements?nature=XX",
        ]
        answers = {p: await trees.answer(c, p) for p in [*paths.values(), *checked]}
        await trees.timed(c, paths, TIMES, warm_up=20)
    return answers


async def _seed(url: str) -> None:
    await trees.seed("registry", url)


def main() -> None:
    trees.main("bench.registry_reads", "registry", _seed, _measure)


if __name__ == "__main__":
    main()
