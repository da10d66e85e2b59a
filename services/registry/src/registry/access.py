"""Who may do what in the registry: reads are open; writes need `registry:write` (or admin)."""

from __future__ import annotations

from tdi_kit.auth import writer

WRITE_SCOPE = "registry:write"

Writer = writer(WRITE_SCOPE)
