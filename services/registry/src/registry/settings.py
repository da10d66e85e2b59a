from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Environment variables prefixed `REGISTRY_` (for example `REGISTRY_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_")

    service_name: str = "registry"
    port: int = 8001
    # Personal contact details of the governance (the chef de projet's and the referents'
    # e-mails) go to authenticated callers only, unless this publishes them to everyone (RGPD:
    # names and roles are public, a person's address is not by default).
    publish_contacts: bool = False
