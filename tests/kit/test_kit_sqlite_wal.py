"""A fresh SQLite database opened by two processes at once: the one whose switch to WAL SQLite
refuses at once ("database is locked", no busy wait: it would deadlock) asks again."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tdi_kit.db import _switch_to_wal


class Refusing:
    """A cursor whose switch to WAL is refused `times` times, as SQLite refuses the second of
    two concurrent switches."""

    def __init__(self, times: int, message: str = "database is locked") -> None:
        self.times, self.message, self.asked = times, message, 0

    def execute(self, statement: str) -> None:
        assert statement == "PRAGMA journal_mode=WAL"
        self.asked += 1
        if self.asked <= self.times:
            raise sqlite3.OperationalError(self.message)


def test_a_refused_switch_is_asked_again_until_it_succeeds() -> None:
    cursor = Refusing(times=3)
    _switch_to_wal(cursor, deadline=time.monotonic() + 5)
    assert cursor.asked == 4


def test_another_error_or_a_lock_past_the_deadline_is_raised() -> None:
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _switch_to_wal(Refusing(times=1, message="disk I/O error"), deadline=time.monotonic() + 5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _switch_to_wal(Refusing(times=1_000), deadline=time.monotonic() + 0.1)


def test_two_connections_switching_a_fresh_file_both_end_in_wal(tmp_path) -> None:
    path = tmp_path / "fresh.db"
    first, second = sqlite3.connect(path, timeout=0.1), sqlite3.connect(path, timeout=0.1)
    try:
        _switch_to_wal(first.cursor(), deadline=time.monotonic() + 5)
        _switch_to_wal(second.cursor(), deadline=time.monotonic() + 5)
        assert second.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        first.close()
        second.close()
