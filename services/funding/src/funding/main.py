"""The funding service: conventions, envelopes and tranches, allocations, disbursements, ledger."""

from __future__ import annotations

import httpx

from funding.allocations.routes import router as allocations
from funding.balances.routes import router as balances
from funding.conventions.routes import router as conventions
from funding.disbursements.routes import router as disbursements
from funding.envelopes.routes import router as envelopes
from funding.events import EVENT_TYPES
from funding.ledger.routes import router as ledger
from funding.models import LedgerEntry, idempotency_keys, outbox
from funding.reported.routes import router as reported
from funding.settings import FundingSettings
from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.clients import ServiceClient

MIGRATIONS = "funding:migrations"

DESCRIPTION = """
The money of the Territoires d'industrie programme: the operators' conventions de mobilisation,
their envelopes in annual tranches with their award rules, the allocations of tranche money to
territories (and to the fiches-actions of their contracts), disbursements, and balances.

Money is integer euro cents. Every movement is an entry of an append-only ledger, and every
balance is its sums. A tranche is never over-committed and an allocation never over-disbursed
(409), and an allocation that breaks its envelope's rules is refused (422, with the figures).

Who funds an envelope (its funders, with their amounts) is told apart from who manages it (the
operator) and who examines its applications; an envelope can be part of another, and every
total counts each euro once. Figures reported in the public record (`/reported-figures`) live
beside the ledger, never mixed with it: a figure nobody published is null, never 0. Aggregates
leave demo records out unless `include_demo=true`; lists filter them with `is_demo`.

Reads of conventions, envelopes, balances and committed allocations are public. Writes need
scope `funding:write`: an operator's token (`org=bpifrance`) writes its own records only;
`admin` writes all. Errors are RFC 9457 problem documents.
"""


def create_app(
    settings: FundingSettings | None = None,
    *,
    registry_transport: httpx.AsyncBaseTransport | None = None,
    contracts_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceApp:
    """The app; the transports let tests wire sibling apps in process."""
    settings = settings or FundingSettings()
    timeout = settings.owner_timeout_seconds
    return create_service_app(
        settings=settings,
        title="Territoires d'industrie: funding",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[conventions, envelopes, allocations, disbursements, balances, ledger, reported],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
        events=outbox,
        event_types=EVENT_TYPES,
        counted=[LedgerEntry.__tablename__],
        clients=[
            ServiceClient(
                "registry", settings.registry_url, timeout=timeout, transport=registry_transport
            ),
            ServiceClient(
                "contracts", settings.contracts_url, timeout=timeout, transport=contracts_transport
            ),
        ],
    )
