"""The path parameters of the funding API's routes, one type each: every routes module names
an allocation, an envelope or a convention the same way (and the lists' demo filter, a query
parameter, the same way too)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query

from funding.schemas.common import Code

IdPath = Annotated[uuid.UUID, Path()]
CodePath = Annotated[Code, Path()]
YearPath = Annotated[int, Path(ge=2000, le=2100)]
DemoFilter = Annotated[
    bool | None, Query(description="true: demo records only; false: real ones only.")
]
