"""events: the outbox every change writes its event to (issue 14)


The registry's outbox, read by its webhooks (0005); the step: `tdi_kit.events.migration`.
"""

from tdi_kit.events.migration import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0004", "0003"
branch_labels = depends_on = None
