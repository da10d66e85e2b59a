from contracts.models import Base
from contracts.settings import ContractsSettings
from tdi_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: ContractsSettings().database_url)
