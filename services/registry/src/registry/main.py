"""The registry service: territories, groupements, communes, organisations, governance."""

from __future__ import annotations

from registry.geography.routes import router as geography
from registry.models import idempotency_keys
from registry.organisations.routes import router as organisations
from registry.programme.routes import router as programme
from registry.settings import RegistrySettings
from registry.territories.routes import router as territories
from tdi_kit.app import ServiceApp, create_service_app

MIGRATIONS = "registry:migrations"

DESCRIPTION = """
The official lists of the Territoires d'industrie programme: the 148 territories of phase 1
(2019-2022) and the 183 of phase 2 (2023-2027), their member groupements (EPCI, EPT or commune),
the communes they cover, their governance (binôme élu-industriel, chef de projet, operators'
referents), their official Région and the Régions they touch, the organisations that take part,
and the programme itself: its phases with their dates, and the dated figures of the public record
(counts of territories, signatures, money announced or engaged), each with its source.

Reads are public. Writes need a bearer token with scope `registry:write` (or `admin`).
Errors are RFC 9457 problem documents.
"""


def create_app(settings: RegistrySettings | None = None) -> ServiceApp:
    return create_service_app(
        settings=settings or RegistrySettings(),
        title="Territoires d'industrie: registry",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[territories, geography, organisations, programme],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
    )
