"""The programme's calendar: which phase is under way on a given day, and what its words mean.

One home for the rule "a phase is over once its last day has passed", used by the territories
(their `ended` status), the programme resource and its `current` phase.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from tdi_kit import clock


class Dated(Protocol):
    starts_on: dt.date
    ends_on: dt.date


def today() -> dt.date:
    """The programme's calendar is French, but its phases are whole days: UTC is near enough."""
    return clock.today()


def phase_status(phase: Dated, on: dt.date) -> str:
    if on < phase.starts_on:
        return "upcoming"
    if on > phase.ends_on:
        return "ended"
    return "current"


PHASE_STATUS_LABELS = {"upcoming": "à venir", "current": "en cours", "ended": "terminée"}

KIND_LABELS = {
    "launch": "lancement",
    "deployment": "déploiement",
    "signature": "signature",
    "count": "décompte",
    "funding": "financement",
}

MEASURE_LABELS = {
    "territories": "territoires labellisés",
    "new_territories": "nouveaux territoires",
    "prefigurateurs": "territoires préfigurateurs",
    "conventions_signed": "conventions de mobilisation signées",
    "protocoles_signed": "protocoles d'accord signés",
    "territories_with_protocol_or_contract": "territoires dotés d'un protocole ou d'un contrat",
    "projects_identified": "projets identifiés",
    "projects_supported": "projets soutenus",
    "chefs_de_projet": "chefs de projet en poste ou recrutés",
    "amount_announced": "montant annoncé",
    "amount_announced_per_year": "montant annoncé par an",
    "amount_engaged": "montant engagé",
    "subsidies": "subventions accordées",
    "amount_reported": "montant rapporté (nature non précisée)",
}
