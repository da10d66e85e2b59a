"""Who may do what in the registry: reads are open; writes need `registry:write` (or admin)."""

from __future__ import annotations

from tdi_kit.auth import writer

WRITE_SCOPE = "registry:write"

Writer = writer(WRITE_SCOPE)

# Webhooks are an organisation's own: the scope admits the token, the service limits it to its
# organisation's subscriptions (`registry.webhooks.service`).
WEBHOOKS_SCOPE = "webhooks:write"

WebhookManager = writer(WEBHOOKS_SCOPE)
