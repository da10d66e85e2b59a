"""Lists as CSV files: every row streamed, spelt as the JSON spells it, safe in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from tdi_kit import clock

CSV_MEDIA_TYPE = "text/csv"
# What a list route documents beside its JSON page (`responses=CSV_RESPONSE`).
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}
}


def csv_response(
    rows: Iterable[Mapping[str, Any]], *, columns: Sequence[str], filename: str
) -> StreamingResponse:
    """Stream rows as CSV (UTF-8, with a BOM so spreadsheet software reads the accents)."""

    def lines() -> Iterable[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
        buffer.write("\ufeff")
        writer.writeheader()
        for i, row in enumerate(rows, 1):
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
            if i % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`,
# `@SUM(...)`, `-2+3`, and tab or carriage return before them); OWASP's advice is to prefix such
# a cell with a single quote, which the spreadsheet shows as text. Only text cells are touched:
# numbers (a negative amount of cents) stay numbers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spelt(value: Any) -> Any:
    # As in JSON, so that both exports of a list agree: `true`/`false` (not Python's `True`),
    # timestamps in RFC 3339 UTC with `Z` (not `2024-03-18 09:30:00+00:00`).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return clock.rfc3339(value)
    return value


def _csv_cell(value: Any) -> Any:
    value = _spelt(value)
    if isinstance(value, list | tuple):
        value = "|".join(str(_spelt(v)) for v in value)
    elif isinstance(value, dict):
        value = orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
