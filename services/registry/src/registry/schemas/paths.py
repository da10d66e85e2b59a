"""The path parameters of the registry API's routes, one type each: every routes module names
a territory, a groupement or a webhook subscription the same way."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path

from tdi_kit.identifiers import Siren, TerritoryCode

CodePath = Annotated[TerritoryCode, Path()]
SirenPath = Annotated[Siren, Path()]
WebhookId = Annotated[uuid.UUID, Path(description="The subscription's id.")]
