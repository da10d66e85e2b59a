"""The registry's events: their types, and the one constructor per change the service layer
calls (`tdi_kit.events`, issue 14). The pattern every service follows:

- `EVENT_TYPES`: every type the service emits, `<subject kind>.<what happened>`, with its
  one-line description (served with the feed's documentation);
- a constructor per change, taking the record after the change (and, for an update, what it
  served before): the service layer calls it and hands the `Event` to `tdi_kit.events.emit` in
  the transaction of the change;
- the payload: the record as its API serves it after the change under `"record"`, and for an
  update the names of its fields that changed under `"changed"`.

Territories are public records, so their events are public (`audience` None). Their payload is
the document as served to an anonymous caller: the governance's e-mail addresses (personal
data, `registry.territories.contacts`) are null in it, as on the public API.
"""

from __future__ import annotations

from typing import Any

import orjson

from registry.models import Territory
from registry.territories.contacts import without_contacts
from tdi_kit.events import Event

TERRITORY = "territory"

EVENT_TYPES: dict[str, str] = {
    "territory.created": "A territory was created (`record`: the territory as served).",
    "territory.changed": (
        "A territory was renamed or its status changed (`changed`: the fields that did)."
    ),
    "territory.archived": "A territory was archived: read-only until restored.",
    "territory.restored": "An archived territory was restored (status active again).",
    "territory.member_added": "A groupement joined a territory (`siren`: which).",
    "territory.member_changed": "A member's coverage changed (`siren`: which member).",
    "territory.member_removed": "A groupement left a territory (`siren`: which).",
    "territory.governance_changed": (
        "A territory's binôme, chef de projet or referents were replaced."
    ),
    "webhook.disabled": (
        "A webhook subscription was disabled after deliveries failed in a row (its "
        "organisation's only)."
    ),
}

# What every write changes: not worth naming in `changed`.
_BOOKKEEPING = frozenset({"version", "updated_at"})


def record(territory: Territory) -> dict[str, Any]:
    """The territory as an anonymous caller is served it (contacts null)."""
    document = territory.document
    public = without_contacts(document)
    loaded: dict[str, Any] = orjson.loads(public if public is not None else document)
    return loaded


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The served fields whose value differs, in the document's order."""
    return [k for k, v in after.items() if k not in _BOOKKEEPING and before.get(k) != v]


def territory_created(territory: Territory, *, actor_org: str | None) -> Event:
    return _event("territory.created", territory, {"record": record(territory)}, actor_org)


def territory_changed(
    territory: Territory, *, before: dict[str, Any], actor_org: str | None
) -> Event:
    """A PATCH or an archive: `archived`/`restored` when the status went so, else `changed`."""
    after = record(territory)
    was, now = before.get("status"), after.get("status")
    kind = "changed"
    if now != was and now == "archived":
        kind = "archived"
    elif now != was and was == "archived":
        kind = "restored"
    payload = {"record": after, "changed": changed(before, after)}
    return _event(f"territory.{kind}", territory, payload, actor_org)


def member_event(
    what: str,
    territory: Territory,
    *,
    siren: str,
    before: dict[str, Any],
    actor_org: str | None,
) -> Event:
    """`what`: `added`, `changed` or `removed`."""
    after = record(territory)
    payload = {"record": after, "changed": changed(before, after), "siren": siren}
    return _event(f"territory.member_{what}", territory, payload, actor_org)


def governance_changed(
    territory: Territory, *, before: dict[str, Any], actor_org: str | None
) -> Event:
    after = record(territory)
    payload = {"record": after, "changed": changed(before, after)}
    return _event("territory.governance_changed", territory, payload, actor_org)


def _event(
    type_: str, territory: Territory, payload: dict[str, Any], actor_org: str | None
) -> Event:
    assert type_ in EVENT_TYPES, type_
    return Event(
        type=type_,
        subject_kind=TERRITORY,
        subject_id=territory.code,
        payload=payload,
        version=territory.version,
        actor_org=actor_org,
    )
