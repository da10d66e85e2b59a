"""events: the outbox every change writes its event to (issue 14)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:10:00

The registry's outbox, read by its webhooks (0005); the step: `tdi_kit.events.migration`.
"""

from tdi_kit.events.migration import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0004", "0003"
branch_labels = depends_on = None
