from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class FundingSettings(ServiceSettings):
    """Environment variables prefixed `FUNDING_` (for example `FUNDING_DATABASE_URL`).

    - `FUNDING_REGISTRY_URL`: the registry, owner of organisations and territories; every write
      that names one is checked there (unreachable: 503, nothing stored).
    - `FUNDING_CONTRACTS_URL`: the contracts service, owner of fiches-actions (`action_id`).
    - `FUNDING_CHECK_ACTIONS`: `false` where the contracts service is not deployed: `action_id`
      is then stored as given, unchecked.
    - `FUNDING_MAX_BODY_BYTES`: larger than the suite's default, for bulk pushes of 10,000 rows.
    """

    model_config = SettingsConfigDict(env_prefix="FUNDING_")

    service_name: str = "funding"
    port: int = 8002
    registry_url: str = "http://127.0.0.1:8001"
    """The registry service (owner of organisations and territories; funding checks them)."""
    contracts_url: str = "http://127.0.0.1:8003"
    """The contracts service (owner of the fiches-actions an allocation's `action_id` names)."""
    check_actions: bool = True
    """`false` where the contracts service is not deployed: `action_id` is stored unchecked."""
    owner_timeout_seconds: float = 3.0
    """How long a call to the registry or contracts may take (then 503, nothing stored)."""
    max_body_bytes: int = 8 * 1024 * 1024
    """The largest request body taken (bulk pushes of 10,000 rows); larger ones get 413."""
