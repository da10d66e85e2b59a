"""What every write of the contracts API starts from, written once.

A write of a contract, an action, one of its records or an amendment needs the same four things
of its request: the session (one transaction, committed by the dependency), the registry's
references, a caller allowed to write, and the `If-Match` it sent. `WriteDep` gives them to the
route as one value (`CreationDep` where a contract is created: there is no version to name),
and the services start from it: who edits (`editor`), and the contract the write locks and
checks against the caller's `If-Match` (`locked_contract`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.access import Editor, Writer
from contracts.contracts import queries
from contracts.models import Contract
from contracts.references import References, RefsDep
from tdi_kit.auth import Caller
from tdi_kit.conditional import IfMatch, check_if_match
from tdi_kit.db import SessionDep
from tdi_kit.errors import or_not_found


@dataclass(frozen=True)
class WriteContext:
    session: AsyncSession
    references: References
    caller: Caller
    if_match: str | None

    async def editor(self) -> Editor:
        """Who edits: a full editor, or an operator's token limited to what it finances."""
        return await Editor.of(self.caller, self.references)

    async def locked_contract(
        self, contract_id: uuid.UUID, *, if_match_required: bool = True
    ) -> Contract:
        """The contract, locked for the rest of the transaction, at the version `If-Match`
        names (only when one is sent, where `if_match_required` is false: adding a record
        overwrites nothing)."""
        contract = or_not_found(
            await queries.for_update(self.session, contract_id), "contract", contract_id
        )
        if if_match_required or self.if_match is not None:
            check_if_match(self.if_match, contract.etag, what="contract")
        return contract


async def _write_context(
    session: SessionDep, references: RefsDep, caller: Writer, if_match: IfMatch = None
) -> WriteContext:
    return WriteContext(session, references, caller, if_match)


async def _creation_context(
    session: SessionDep, references: RefsDep, caller: Writer
) -> WriteContext:
    # A new contract has no version yet to name: its route takes no If-Match.
    return WriteContext(session, references, caller, None)


WriteDep = Annotated[WriteContext, Depends(_write_context)]
CreationDep = Annotated[WriteContext, Depends(_creation_context)]
