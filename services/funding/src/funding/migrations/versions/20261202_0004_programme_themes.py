"""programme themes: envelopes speak the programme's one theme vocabulary


Funding and contracts named the same themes two ways; the programme now has one vocabulary
(`tdi_kit/vocabulary/vocabularies.json`). Funding's two codes with a synonym in contracts take
the programme's code: `reconversion-de-friches` → `friche`, `transports-et-mobilite` →
`mobilite`. Each envelope's `theme_set` (its sorted themes, the key balances group on) is
rebuilt. The mapping is frozen here, as it was on this day: later changes of the vocabulary
are migrations of their own.

Reversible: the downgrade gives the two themes their old codes back (funding used neither
`friche` nor `mobilite` before).
"""

from tdi_kit.migration_steps import join_codes, rename_codes

revision, down_revision = "0004", "0003"
branch_labels = depends_on = None

RENAMED = {"reconversion-de-friches": "friche", "transports-et-mobilite": "mobilite"}


def _rename(renamed: dict[str, str]) -> None:
    rename_codes("envelope_themes", "envelope_code", "theme", renamed)
    join_codes(
        "envelopes", "theme_set", link="envelope_themes", owner="envelope_code", code="theme"
    )


def upgrade() -> None:
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
