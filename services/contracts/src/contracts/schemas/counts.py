"""The dashboard's counts of the acts and fiches-actions on record."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tdi_kit.schemas import examples


class Count(BaseModel):
    key: str | None = Field(description="The value counted (a status, a kind, an axis).")
    count: int


class ContractCounts(BaseModel):
    total: int
    by_status: list[Count]
    by_kind: list[Count]


class ActionCounts(BaseModel):
    total: int
    by_axis: list[Count] = Field(description="Phase 1 actions, by axis of the programme.")
    by_priority: list[Count] = Field(description="Phase 2 actions, by priority.")
    by_status: list[Count]


class Counts(BaseModel):
    """The acts and the fiches-actions the lists give for the same Région and demo filter,
    counted by the database. Each list is ordered by its key's text, null last."""

    model_config = examples(
        {
            "contracts": {
                "total": 3,
                "by_status": [{"key": "draft", "count": 1}, {"key": "signed", "count": 2}],
                "by_kind": [{"key": "contrat", "count": 2}, {"key": "protocole", "count": 1}],
            },
            "actions": {
                "total": 4,
                "by_axis": [{"key": "innover", "count": 1}],
                "by_priority": [
                    {"key": "competences", "count": 2},
                    {"key": "foncier", "count": 1},
                ],
                "by_status": [{"key": "in_progress", "count": 3}, {"key": "planned", "count": 1}],
            },
        }
    )

    contracts: ContractCounts = Field(description="Protocoles and contracts on record.")
    actions: ActionCounts = Field(description="Fiches-actions, in a contract or not.")
