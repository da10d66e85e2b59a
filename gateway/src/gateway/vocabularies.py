"""`GET /api/v1/vocabularies`: every code of the API with its French label and description.

The vocabularies are the programme's reference data, kept once in the kit
(`tdi_kit/vocabulary/vocabularies.json`) and read by every service that labels its codes; the
gateway serves them whole, with no service to ask: they change only with a release, so the
answer is built once and revalidated by its ETag.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from tdi_kit.conditional import etag_for
from tdi_kit.documents import conditional_document
from tdi_kit.errors import NotFound
from tdi_kit.vocabulary import vocabularies

router = APIRouter(tags=["vocabularies"])
# Changes only with a release: a browser may keep it for an hour, then revalidates by ETag.
CACHE_CONTROL = "public, max-age=3600"


class TermRead(BaseModel):
    code: str = Field(description="The code as the API writes it (phases as text: `1`, `2`).")
    label: str = Field(description="Its French label, in lowercase as in running text.")
    description: str
    replaced_by: str | None = Field(
        description="A retired code: the one to use instead (writes refuse the retired one)."
    )


class VocabularyRead(BaseModel):
    name: str = Field(examples=["themes"])
    label: str
    description: str = Field(description="Which fields of the API use it.")
    terms: list[TermRead]


class VocabulariesRead(BaseModel):
    vocabularies: list[VocabularyRead]


@cache
def _documents() -> dict[str | None, tuple[str, str]]:
    """The JSON of every vocabulary (key None: all of them), with its ETag."""
    each = {
        name: VocabularyRead(
            name=name,
            label=v.label,
            description=v.description,
            terms=[TermRead(**t.__dict__) for t in v.terms],
        )
        for name, v in vocabularies().items()
    }
    bodies: dict[str | None, str] = {name: model.model_dump_json() for name, model in each.items()}
    bodies[None] = VocabulariesRead(vocabularies=list(each.values())).model_dump_json()
    return {name: (body, etag_for(body.encode())) for name, body in bodies.items()}


def _answer(request: Request, name: str | None) -> Response:
    body, etag = _documents()[name]
    response = conditional_document(request, body, etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@router.get(
    "/vocabularies",
    response_model=VocabulariesRead,
    responses={304: {"description": "Not modified (If-None-Match)."}},
)
async def list_vocabularies(request: Request) -> Response:
    """Every vocabulary of the API: themes, phases, statuses, kinds, roles... with labels."""
    return _answer(request, None)


@router.get(
    "/vocabularies/{name}",
    response_model=VocabularyRead,
    responses={304: {"description": "Not modified (If-None-Match)."}},
)
async def get_vocabulary(
    request: Request,
    name: Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", examples=["themes"])],
) -> Response:
    """One vocabulary (`themes`, `contract_statuses`, ...)."""
    if name not in vocabularies():
        raise NotFound("vocabulary", name)
    return _answer(request, name)
