"""events: an index of what the relay has yet to publish


Funding writes the most events (one per ledger movement, per row of a bulk push): its relay's
rounds grew with the ledger's history. Now they read only the backlog.
The step: `tdi_kit.events.unpublished_index`.
"""

from tdi_kit.events.unpublished_index import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0008", "0007"
branch_labels = depends_on = None
