"""programme themes: actions speak the programme's one theme vocabulary


Funding and contracts named the same themes two ways; the programme now has one vocabulary
(`tdi_kit/vocabulary/vocabularies.json`), and writes refuse any other code. Actions' themes were
free slugs: those with a code in the programme's vocabulary under another name take it
(funding's `reconversion-de-friches` → `friche`, `transports-et-mobilite` → `mobilite`; the
seed's `fonds-vert`, a funding rather than a theme, → `transition-ecologique`, which is what
the Fonds vert's axe 3 funds). The stored document, ETag and search text of each action changed
are rewritten; its version is not bumped (no term of the contract changed). The mapping is
frozen here, as it was on this day.

Past versions in a contract's history keep the codes they were recorded with: the vocabulary
still labels the retired codes (`replaced_by`). A theme no vocabulary knows is left as it is
(reads still serve it; a write of that action must choose a code of the vocabulary).

Not reversed: the code before this revision accepted any slug, the programme's codes included,
and `transition-ecologique` cannot tell which actions said `fonds-vert`. The downgrade leaves
the data as it is.
"""

import hashlib
import json
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import rename_codes

revision, down_revision = "0003", "0002"
branch_labels = depends_on = None

RENAMED = {
    "reconversion-de-friches": "friche",
    "transports-et-mobilite": "mobilite",
    "fonds-vert": "transition-ecologique",
}


def _fold(text: str) -> str:
    # tdi_kit.text.fold as it is today, frozen with the migration.
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", " ", ascii_only).strip()


def _etag(body: bytes) -> str:
    # tdi_kit.conditional.etag_for, frozen with the migration.
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


ACTIONS = sa.table(
    "actions",
    sa.column("id", sa.Uuid),
    sa.column("document", sa.Text),
    sa.column("etag", sa.String),
    sa.column("search_text", sa.Text),
)
THEMES = sa.table("action_themes", sa.column("action_id", sa.Uuid), sa.column("theme", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    changed = set(
        connection.scalars(
            sa.select(THEMES.c.action_id).where(THEMES.c.theme.in_(list(RENAMED)))
        ).all()
    )
    rename_codes("action_themes", "action_id", "theme", RENAMED)
    for action_id in changed:
        document, search_text = connection.execute(
            sa.select(ACTIONS.c.document, ACTIONS.c.search_text).where(ACTIONS.c.id == action_id)
        ).one()
        body = json.loads(document or "{}")
        if "themes" in body:
            body["themes"] = sorted({RENAMED.get(t, t) for t in body["themes"]})
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        for old, new in RENAMED.items():
            search_text = (search_text or "").replace(_fold(old), _fold(new))
        connection.execute(
            ACTIONS.update()
            .where(ACTIONS.c.id == action_id)
            .values(document=text, etag=_etag(text.encode()), search_text=search_text)
        )


def downgrade() -> None:
    pass
