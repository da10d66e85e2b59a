from funding.models import Base
from funding.settings import FundingSettings
from tdi_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: FundingSettings().database_url)
