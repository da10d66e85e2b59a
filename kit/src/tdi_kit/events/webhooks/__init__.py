"""Webhooks as the Standard Webhooks specification writes them: what is generic to any service.

The subscriptions, the deliveries and the dispatcher that fills and works them live in the
registry (organisations' home, `registry.webhooks`); here: the signing secret and the signed
headers (`signing`), the targets a delivery may reach (`targets`: no private, loopback,
link-local or metadata address, checked after DNS resolution at creation and at each attempt),
the retry schedule (`backoff`) and one attempt over HTTP (`sender`).
"""
