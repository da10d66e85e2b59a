"""Bulk pushes, whole: a JSON array or a CSV file, one allocation or disbursement per row.

A push is read (`parse`), checked and stored by the same service path as a single write
(`allocations.service.create_many`, `disbursements.service.disburse_many`, which answer an
`Outcome`), then settled here: every row stored, or none and a report naming every bad row
with the problem it would have had on its own.

Each row is validated on its own, so that the report names every bad row, not the first.
CSV cells are text: empty cells are absent fields, and the column names are the JSON fields.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from funding.schemas import MAX_BULK_ROWS, BulkResult, RowProblem
from tdi_kit.errors import HTTPProblem, Problem, Unprocessable

Row = TypeVar("Row", bound=BaseModel)
CSV_TYPES = ("text/csv", "application/csv")


@dataclass
class Outcome:
    """What a push did: the ids stored, or the problem of each bad row (then nothing stored)."""

    ids: list[uuid.UUID] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    # What was stored (columns, regions): a single write answers with it, not reading it back.
    stored: list[tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=list)

    def refused(self, rows: list[Any]) -> bool:
        """True when a row is bad (or failed to parse: None): then nothing is to be stored."""
        if self.problems or any(r is None for r in rows):
            self.problems.sort(key=lambda p: p[0])
            return True
        return False


def settle(rows: list[Any], problems: list[RowProblem], outcome: Outcome) -> BulkResult:
    """The answer to a push: what was stored, or 422 with the report of every bad row."""
    problems = sorted(
        [*problems, *(row_problem(i, p) for i, p in outcome.problems)],
        key=lambda p: p.row,
    )
    if problems:
        raise refuse_push(problems, len(rows))
    return BulkResult(created=len(outcome.ids), ids=outcome.ids)


def row_problem(index: int, problem: Problem) -> RowProblem:
    return RowProblem(
        row=index + 1,
        status=problem.status,
        detail=problem.detail or problem.title,
        errors=[
            {"field": e.field, "message": e.message, "type": e.type} for e in problem.errors or []
        ],
    )


def refuse_push(problems: list[RowProblem], total: int) -> Unprocessable:
    return Unprocessable(
        f"{len(problems)} of {total} rows are refused; nothing was stored. Fix them and push "
        "the whole file again.",
        rows=[p.model_dump() for p in problems],
    )


def openapi_body(model: type[Any]) -> dict[str, Any]:
    """The request body of a push, for OpenAPI: a JSON array of `model`, or a CSV file."""
    columns = ", ".join(model.model_fields)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": model.model_json_schema(),
                        "minItems": 1,
                        "maxItems": MAX_BULK_ROWS,
                    }
                },
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": f"A header line naming the columns ({columns}), then "
                        "one row per line; empty cells are absent fields.",
                    }
                },
            },
        }
    }


def parse(
    body: bytes, content_type: str, model: type[Row]
) -> tuple[list[Row | None], list[RowProblem]]:
    """The rows (None where a row is invalid) and the problem of each invalid row."""
    media_type = content_type.split(";")[0].strip().lower()
    strict = True
    if media_type in CSV_TYPES:
        raw = _csv_rows(body, model)
        strict = False  # every CSV cell is text: "120000" is the amount 120000
    elif media_type in ("application/json", ""):
        raw = _json_rows(body)
    else:
        raise HTTPProblem(415, "Push a JSON array (application/json) or a CSV file (text/csv).")
    if not raw:
        raise Unprocessable.field("body", "body", "the push holds no rows")
    if len(raw) > MAX_BULK_ROWS:
        raise Unprocessable.field("body", "body", f"at most {MAX_BULK_ROWS} rows per push")
    rows: list[Row | None] = []
    problems: list[RowProblem] = []
    for index, item in enumerate(raw):
        try:
            rows.append(model.model_validate(item, strict=None if strict else False))
        except ValidationError as exc:
            rows.append(None)
            problems.append(
                RowProblem(
                    row=index + 1,
                    status=422,
                    detail="Invalid row.",
                    errors=[
                        {
                            "field": ".".join(str(p) for p in e["loc"]) or "row",
                            "message": e["msg"],
                            "type": e["type"],
                        }
                        for e in exc.errors()
                    ],
                )
            )
    return rows, problems


def _json_rows(body: bytes) -> list[Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unprocessable.field("body", "body", f"not JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise Unprocessable.field("body", "body", "push a JSON array of rows")
    return doc


def _csv_rows(body: bytes, model: type[BaseModel]) -> list[dict[str, str]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable.field("body", "body", "a CSV push is UTF-8") from exc
    if "\x00" in text:
        raise Unprocessable.field("body", "body", "a CSV push holds no NUL character")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in model.model_fields]
        if unknown or len(set(header)) != len(header):
            raise Unprocessable.field(
                "body",
                "header",
                f"unknown or repeated columns {unknown or header}; "
                f"known: {', '.join(model.model_fields)}",
            )
        rows = []
        for record in reader:
            if None in record:
                raise Unprocessable.field(
                    "body", "body", f"line {reader.line_num} has more cells than the header"
                )
            rows.append({k: v for k, v in record.items() if v not in ("", None)})
        return rows
    except csv.Error as exc:
        raise Unprocessable.field("body", "body", f"not CSV: {exc}") from exc
