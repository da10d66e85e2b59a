"""events: the outbox every change writes its event to (issue 14)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:10:00

Funding's outbox, after the balance sums; the step is `tdi_kit.events.migration`.
"""

from tdi_kit.events.migration import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0007", "0006"
branch_labels = depends_on = None
