"""What every registry schema shares: the closed vocabularies, text, the base of reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from tdi_kit.schemas import CodeName as CodeName
from tdi_kit.schemas import Name as Name
from tdi_kit.schemas import ReadModel
from tdi_kit.strings import text

Phase = Literal[1, 2]

# `ended`: its programme phase is over (phase 1 since the end of 2022); `archived`: withdrawn by an
# administrator. Only `active` and `archived` can be written; `ended` follows from the phase.
TerritoryStatus = Literal["active", "ended", "archived"]

WritableStatus = Literal["active", "archived"]

RegionSource = Literal["anct", "derived-majority-population"]

GroupementKind = Literal["epci", "ept", "commune"]

OrganisationKind = Literal["state", "region", "operator", "partner"]

# Text fields (tdi_kit.strings): single lines of printable text; Name is every service's
# (tdi_kit.schemas).
if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    OptionalLine = str
else:
    OptionalLine = text(200, min_length=0)


class Model(ReadModel):
    pass
