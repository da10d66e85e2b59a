"""Reading a bulk push: a JSON array or a CSV file, one allocation or disbursement per row.

Each row is validated on its own, so that the report names every bad row, not the first.
CSV cells are text: empty cells are absent fields, and the column names are the JSON fields.
"""

from __future__ import annotations

import csv
import io
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from funding.schemas import MAX_BULK_ROWS, RowProblem
from tdi_kit.errors import HTTPProblem, Unprocessable

Row = TypeVar("Row", bound=BaseModel)
CSV_TYPES = ("text/csv", "application/csv")


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
