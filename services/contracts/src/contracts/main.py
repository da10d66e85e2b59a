"""The contracts service: protocoles, contracts, signatures, amendments and fiches-actions."""

from __future__ import annotations

import httpx

from contracts.actions.routes import router as actions
from contracts.amendments.routes import router as amendments
from contracts.contracts.routes import router as contracts
from contracts.counts.routes import router as counts
from contracts.events import EVENT_TYPES
from contracts.models import idempotency_keys, outbox
from contracts.settings import ContractsSettings
from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.clients import ServiceClient

MIGRATIONS = "contracts:migrations"

DESCRIPTION = """
The acts of the Territoires d'industrie programme: protocoles d'accord and contrats de
territoire d'industrie (territory, signatories, lifecycle draft → signed → in progress →
closed, or cancelled), their amendments (avenants) with the history and every past version,
and their fiches-actions (axis or phase-2 priority, themes, owner, budget, co-financing plan,
indicators, milestones).

Reads are public. Writes need a bearer token with scope `contracts:write` (or `admin`); an
operator's token changes only the plan lines it finances and the indicators of those actions.
Updates take `If-Match`. Territories and organisations are checked with the registry when
written. Records with `is_demo: true` are invented for demonstrations.
Errors are RFC 9457 problem documents.
"""


def create_app(
    settings: ContractsSettings | None = None,
    *,
    registry_transport: httpx.AsyncBaseTransport | None = None,
    funding_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceApp:
    """The app; the transports let tests call sibling apps in process."""
    settings = settings or ContractsSettings()
    registry = ServiceClient(
        "registry",
        settings.registry_url,
        timeout=settings.registry_timeout_seconds,
        transport=registry_transport,
    )
    funding = ServiceClient(
        "funding",
        settings.funding_url,
        timeout=settings.funding_timeout_seconds,
        transport=funding_transport,
    )
    return create_service_app(
        settings=settings,
        title="Territoires d'industrie: contracts",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[counts, contracts, amendments, actions],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
        events=outbox,
        event_types=EVENT_TYPES,
        clients=[registry, funding],
        openapi_tags=[
            {"name": "contracts", "description": "Protocoles and contracts, signatories."},
            {"name": "amendments and history", "description": "Avenants, history, versions."},
            {"name": "actions", "description": "Fiches-actions and their plans."},
        ],
    )
