"""The small helpers the services share: a lookup's 404, and the tally of a seed load."""

from __future__ import annotations

import pytest

from tdi_kit.errors import NotFound, or_not_found
from tdi_kit.seeding import Counts


def test_a_missing_record_is_the_404_problem_naming_it() -> None:
    assert or_not_found("found", "region", "84") == "found"
    with pytest.raises(NotFound, match=r"No region 84\."):
        or_not_found(None, "region", "84")


def test_a_seed_load_says_what_it_added_changed_and_skipped() -> None:
    counts = Counts()
    counts.count(new=True, changed=False)
    counts.count(new=False, changed=True)
    counts.count(new=False, changed=False)
    assert str(counts) == "1 added, 1 changed, 1 left as they were"
    counts.skipped.append("ti-0000: unknown territory")
    assert str(counts).endswith(", 1 skipped")
