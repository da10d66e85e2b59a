"""events: an index of what the relay has yet to publish


Without it, each round of the relay walked every event the registry ever published to find
the few waiting; the webhooks' dispatcher, reading the broker, got them that much later.
The step: `tdi_kit.events.unpublished_index`.
"""

from tdi_kit.events.unpublished_index import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
revision, down_revision = "0007", "0006"
branch_labels = depends_on = None
