"""events: an index of what the relay has yet to publish


Contracts' relay now reads only the events its broker has not confirmed (each act, signature
and action change), not the contracts' whole history.
The step: `tdi_kit.events.unpublished_index`.
"""

from tdi_kit.events.unpublished_index import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0006", "0005"
branch_labels = depends_on = None
