"""The path parameters of the contracts API's routes, one type each, with its documentation:
every routes module names a contract, an action or a signatory the same way (and the lists' demo
filter, a query parameter, the same way too)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query

from tdi_kit.identifiers import TerritoryCode

ContractId = Annotated[uuid.UUID, Path(description="The contract's UUID.")]
ActionId = Annotated[uuid.UUID, Path(description="The action's UUID.")]
SignatoryId = Annotated[uuid.UUID, Path(description="The signatory's UUID.")]
# A plan line's, an indicator's or a milestone's id (its name is the kind's: `line_id`...).
ChildId = Annotated[uuid.UUID, Path()]
TerritoryCodePath = Annotated[TerritoryCode, Path(description="The territory's code.")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="The amendment's number.")]
Version = Annotated[int, Path(ge=1, le=1_000_000_000, description="A version of the contract.")]
DemoFilter = Annotated[bool | None, Query(description="true: demo data only; false: real only.")]
