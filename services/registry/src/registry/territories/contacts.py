"""Who reads the governance's personal contact details (RGPD).

Names and roles of the binôme, the chef de projet and the referents are public: the programme
publishes them. Their e-mail addresses are personal data: they go to authenticated callers
(any valid token) and to everyone only when `REGISTRY_PUBLISH_CONTACTS=true`.

Territories are served as stored JSON documents (the fast path): an authenticated caller gets
the stored bytes and ETag untouched. An anonymous caller gets the same bytes when the document
holds no contact at all (the common case costs one substring search), else a copy with the
contacts set to null, under the ETag of what is actually sent. Answers carry
`Vary: Authorization`, so that a shared cache never hands one variant to the other audience.
"""

from __future__ import annotations

import re

from fastapi import Request

from tdi_kit.auth import Caller
from tdi_kit.conditional import etag_for

# The stored documents are compact JSON (no spaces): a contact present reads exactly so. The
# same characters inside a string value would be escaped (`\"email\":\"`), so this only ever
# matches the key of a contact that is set.
_CONTACT_SET = '"email":"'
# A contact that is set, up to its closing quote (a quote inside the address is escaped).
_CONTACT = re.compile(r'"email":"(?:[^"\\]|\\.)*"')
VARY = {"Vary": "Authorization"}


def sees_contacts(request: Request, caller: Caller | None) -> bool:
    return caller is not None or bool(request.app.state.settings.publish_contacts)


def without_contacts(document: str) -> str | None:
    """The document with every contact set to null; None when it holds none (send it as is).

    Replaced in the text, not decoded and encoded again: the same bytes as the decoded document
    with its contacts nulled and encoded compactly, at a fraction of the cost per document."""
    if _CONTACT_SET not in document:
        return None
    return _CONTACT.sub('"email":null', document)


def for_caller(document: str, etag: str, *, full: bool) -> tuple[str, str]:
    """The document and ETag a caller is sent."""
    if full:
        return document, etag
    stripped = without_contacts(document)
    if stripped is None:
        return document, etag
    return stripped, etag_for(stripped.encode())


def documents_for_caller(documents: list[str], *, full: bool) -> list[str]:
    if full:
        return documents
    return [d if (s := without_contacts(d)) is None else s for d in documents]
