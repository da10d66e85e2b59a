"""Events: every change of a record, written in the same transaction as the change.

A service writes an event with each change it commits (`emit`, into the `events` table of its
own database: a transactional outbox), so that there is no change without its event and no event
without its change, even when the process dies between the two. From there:

- the **sequencer** (`tdi_kit.events.sequencer`) gives committed events their `position`, in the
  order their transactions committed: the feed's cursor, which never skips an event that
  commits late;
- the **feed** (`GET /events` on each service, merged at the gateway as `/api/v1/events`) serves
  them from any position, with filters, long polling and Server-Sent Events; visibility follows
  the records (`audience`);
- the **relay** publishes them to a broker when one is configured (NATS JetStream or RabbitMQ),
  at least once, the event id as the message id;
- the **webhooks** dispatcher (in the registry) delivers them, signed as Standard Webhooks says.

An event is delivered at least once: consumers deduplicate by `id`. The events of one record
come in the order they happened (their transactions lock the record, so they commit in order).
"""

from tdi_kit.events.outbox import Event, emit, events_table

__all__ = ["Event", "emit", "events_table"]
