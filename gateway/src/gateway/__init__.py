"""The gateway: one public /api/v1 over the services, aggregates, edge auth and limits."""
