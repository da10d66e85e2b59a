"""The programme's phases and dated milestones, transcribed from `shared/data/programme_facts.md`.

That file is prose and tables written for people, so the facts are transcribed by hand, one row
per figure, into `transcription/phases.csv` and `transcription/milestones.csv`: each row with
its date, what it measures, its source as the file names it and any caveat. The build checks the
transcription against the file: every row quotes the words of the file it rests on
(`evidence`), and a quote the file does not contain stops the build. A figure the file does not
give is not here: the file is the whole of the public record we hold.

Sources are named as the file names them. The file gives no web address for the press and
ministry pages, so `source_url` is empty for them rather than guessed; the two open-data
datasets have the addresses stated in `shared/data/SOURCES.md`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

# How a territory's official Région was found (territories.csv `region_source`).
REGION_ANCT = "anct"
REGION_DERIVED = "derived-majority-population"

PHASE_COLUMNS = ("phase", "name", "starts_on", "ends_on", "source_title", "source_url", "caveat")
MILESTONE_COLUMNS = (
    "code",
    "date",
    "date_precision",
    "phase",
    "kind",
    "measure",
    "value",
    "amount_cents",
    "organisation_code",
    "description",
    "source_title",
    "source_url",
    "caveat",
)
TRANSCRIPTION = Path(__file__).resolve().parent / "transcription"


def _transcribed(name: str, columns: Sequence[str]) -> Sequence[tuple[str, ...]]:
    """The rows of `transcription/<name>`, in its order: `columns`, then `evidence` (quotes of
    programme_facts.md, "|" between quotes that must all be in it)."""
    with (TRANSCRIPTION / name).open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        if tuple(next(rows)) != (*columns, "evidence"):
            raise TranscriptionError(f"{name}: the columns are not {(*columns, 'evidence')}")
        return tuple(tuple(row) for row in rows)


class TranscriptionError(Exception):
    """A transcribed fact quotes words that programme_facts.md does not contain."""


def check_transcription(facts: str) -> None:
    """Every phase and milestone rests on words of programme_facts.md, quoted exactly."""
    # The file wraps its prose: compare with every run of whitespace made one space.
    facts = " ".join(facts.split())
    codes = [m[0] for m in MILESTONES]
    if len(codes) != len(set(codes)):
        raise TranscriptionError("programme milestones: duplicate code")
    for row in (*PHASES, *MILESTONES):
        for quote in row[-1].split("|"):
            quote = " ".join(quote.split())
            if quote and quote not in facts:
                raise TranscriptionError(f"{row[0]}: programme_facts.md does not say {quote!r}")


# One row a phase; one row a milestone (amounts in cents).
PHASES = _transcribed("phases.csv", PHASE_COLUMNS)
MILESTONES = _transcribed("milestones.csv", MILESTONE_COLUMNS)
