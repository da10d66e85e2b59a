"""Idempotency keys per caller identity, with the scopes they were answered for (2026-12-02).

The same change in every service; `tdi_kit.migration_steps.idempotency_owner_upgrade` says why.
"""

from tdi_kit.migration_steps import idempotency_owner_downgrade as downgrade
from tdi_kit.migration_steps import idempotency_owner_upgrade as upgrade

revision = "0002"
down_revision = "0001"
__all__ = ["downgrade", "upgrade"]
