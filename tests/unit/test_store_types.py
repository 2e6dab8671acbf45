"""store/types.py: UtcDateTime's SQLite text is the text SQLAlchemy's DATETIME stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from ordergate.store.types import UtcDateTime

SQLITE = sqlite.dialect()
ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
# Hypothesis bounds are naive; a day inside each end keeps every zone's moment in range.
MOMENTS = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=ZONES)  # noqa: DTZ001


def bound(dialect):
    """The processor a statement uses for a UtcDateTime parameter on ``dialect``."""
    process = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    return process


@given(MOMENTS)
def test_the_sqlite_text_is_the_datetime_text_of_the_moment_in_utc(moment: datetime) -> None:
    ours = bound(SQLITE)
    theirs = sqlite.DATETIME().bind_processor(SQLITE)
    assert theirs is not None
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


def test_the_sqlite_text_reads_back_as_the_same_moment() -> None:
    moment = datetime(2026, 11, 21, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    process = bound(SQLITE)
    text = process(moment)
    assert text == "2026-11-21 14:30:00.000000"
    assert UtcDateTime().process_result_value(text, SQLITE) == moment
    assert process(None) is None


@pytest.mark.parametrize("dialect", [SQLITE, postgresql.asyncpg.dialect()])
def test_a_naive_datetime_is_refused(dialect) -> None:
    process = bound(dialect)
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 11, 21, 9, 30))  # noqa: DTZ001 - naive on purpose


@given(st.lists(MOMENTS, min_size=1, max_size=6))
def test_one_processor_gives_each_moment_its_own_text_in_any_sequence(moments) -> None:
    """The processor keeps its last text for the same datetime object: repeated objects,
    equal moments in other zones and alternations all get their own moment's text."""
    process = bound(SQLITE)
    theirs = sqlite.DATETIME().bind_processor(SQLITE)
    assert theirs is not None
    again = [m for moment in moments for m in (moment, moment)] + moments[::-1]
    for moment in again:
        assert process(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        process(moments[-1].replace(tzinfo=None))
