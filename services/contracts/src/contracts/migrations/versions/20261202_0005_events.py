"""events: the outbox every change writes its event to (issue 14)


The contracts service's outbox; the step itself is `tdi_kit.events.migration`.
"""

from tdi_kit.events.migration import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0005", "0004"
branch_labels = depends_on = None
