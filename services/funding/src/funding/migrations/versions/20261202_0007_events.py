"""events: the outbox every change writes its event to (issue 14)


Funding's outbox, after the balance sums; the step is `tdi_kit.events.migration`.
"""

from tdi_kit.events.migration import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0007", "0006"
branch_labels = depends_on = None
