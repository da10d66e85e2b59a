from registry.models import Base
from registry.settings import RegistrySettings
from tdi_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: RegistrySettings().database_url)
