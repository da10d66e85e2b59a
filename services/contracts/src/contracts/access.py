"""Who may change what: the programme's rule for operators' tokens, in one place.

Every write needs scope `contracts:write` (or `admin`). A token without an organisation, or of
the State or a Région, writes everything the contract rules allow. Any other organisation's
token (an operator such as Bpifrance) changes only the plan lines where it is the financer, and
the indicators of the actions it really finances: a plan line of its own with a positive
amount, or an allocation of its own to the action recorded by the funding service (committed,
so public). Adding itself with a zero line gives it nothing. The milestones and the terms of
an action (and of a contract) stay with the State and the Régions. The same rules hold inside
an amendment of a signed contract, change by change.

Reads are public, but the people behind tokens are not (RGPD): the history and the amendments
name the acting organisation to everyone, and the token's subject only to a caller of that
organisation and to admins, as the funding ledger does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.actions.rules import finances_by_plan
from contracts.models import Action
from contracts.references import References
from tdi_kit.auth import Caller, writer
from tdi_kit.errors import Forbidden

WRITE_SCOPE = "contracts:write"
Writer = writer(WRITE_SCOPE)


def sees_subject(caller: Caller | None, org: str | None) -> bool:
    """Whether the caller may read who (which token subject) acted for `org`."""
    if caller is None:
        return False
    return caller.is_admin or (caller.org is not None and caller.org == org)


@dataclass(frozen=True)
class Editor:
    sub: str
    org: str | None
    # The organisation a limited token acts for; None when the token writes everywhere.
    limited_to: str | None
    # Asked whether a limited token finances an action through a recorded allocation.
    references: References | None = field(default=None, compare=False, repr=False)

    @classmethod
    async def of(cls, caller: Caller, references: References) -> Editor:
        if caller.is_admin or caller.org is None or await references.writes_everywhere(caller.org):
            return cls(sub=caller.sub, org=caller.org, limited_to=None)
        return cls(sub=caller.sub, org=caller.org, limited_to=caller.org, references=references)

    @classmethod
    def system(cls, name: str) -> Editor:
        """The seed loaders: they record public facts, not a user's change."""
        return cls(sub=name, org=None, limited_to=None)

    def require_full(self, what: str) -> None:
        if self.limited_to is not None:
            raise Forbidden(
                f"A token of {self.limited_to} changes only the plan lines it finances and the "
                f"indicators of those actions, not {what}.",
                organisation_code=self.limited_to,
            )

    def require_financer(self, financer_code: str | None) -> None:
        if self.limited_to is not None and financer_code != self.limited_to:
            raise Forbidden(
                f"A token of {self.limited_to} changes only the plan lines where "
                f"{self.limited_to} is the financer.",
                organisation_code=self.limited_to,
            )

    async def require_finances(self, action: Action) -> None:
        """The limited token's organisation really finances the action: a positive plan line
        of its own (as the action stands in this change set), else a recorded allocation."""
        if self.limited_to is None:
            return
        if finances_by_plan(action, self.limited_to):
            return
        if self.references is not None and await self.references.allocates_to(
            self.limited_to, action.id
        ):
            return
        raise Forbidden(
            f"A token of {self.limited_to} changes indicators only of the actions "
            f"{self.limited_to} finances; action {action.code} has neither a plan line of it "
            "with a positive amount nor an allocation of it.",
            organisation_code=self.limited_to,
        )
