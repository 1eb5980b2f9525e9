"""IB's historical-data parameters: durations, bar sizes, bar times and the chunk plan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from platform_adapter.adapters.market.historical_params import (
    BAR_SIZES,
    MAX_DURATION_SECONDS,
    MAX_STEP_SECONDS,
    check_bar_size,
    check_end,
    parse_bar_time,
    parse_duration,
    plan_chunks,
)
from platform_adapter.errors import ValidationError

UTC = timezone.utc


END = datetime(2026, 1, 7, 21, 0, tzinfo=UTC)  # a Wednesday, bar-aligned


def test_duration_and_bar_size_parsing() -> None:
    assert parse_duration("2 D").seconds == 172800
    assert parse_duration(" 30 s ").ib_text == "30 S"
    assert not parse_duration("86401 S").ib_valid and parse_duration("365 D").ib_valid
    for text in ("1X", "1 X", "D 1", "0 D", "-1 D", "1.5 D", ""):
        with pytest.raises(ValidationError) as info:
            parse_duration(text)
        assert info.value.field == "duration"
    assert list(BAR_SIZES) == list(MAX_STEP_SECONDS)
    assert len(BAR_SIZES) == 21
    with pytest.raises(ValidationError, match="did you mean '1 min'"):
        check_bar_size("1 mins")


def test_bar_times_are_utc() -> None:
    assert parse_bar_time("1767819600") == datetime(2026, 1, 7, 21, 0, tzinfo=UTC)
    assert parse_bar_time("20260107") == datetime(2026, 1, 7, tzinfo=UTC)
    assert parse_bar_time("20260107 16:00:00 US/Eastern") == datetime(2026, 1, 7, 21, 0, tzinfo=UTC)
    assert parse_bar_time("20260107 16:00:00", "America/New_York") == datetime(2026, 1, 7, 21, 0, tzinfo=UTC)


def test_plan_single_request_when_the_step_table_allows_it() -> None:
    chunks = plan_chunks(parse_duration("1 W"), "5 mins", None, now=END)
    assert [(c.end_text, c.duration) for c in chunks] == [("", "1 W")]
    assert len(plan_chunks(parse_duration("1 Y"), "1 day", END, now=END)) == 1


def test_plan_chunks_walk_backwards_without_gaps() -> None:
    end = END + timedelta(seconds=30)  # not on a minute boundary
    chunks = plan_chunks(parse_duration("3 D"), "1 min", end, now=END)
    assert chunks[0].end == end
    covered = end
    for chunk in chunks:
        assert chunk.end == covered
        seconds = parse_duration(chunk.duration).seconds
        assert seconds <= MAX_STEP_SECONDS["1 min"]
        covered = chunk.end - timedelta(seconds=seconds)
        if chunk is not chunks[-1]:
            assert covered.timestamp() % 60 == 0  # inner boundaries never split a bar
    assert covered == end - timedelta(days=3)
    assert [c.duration for c in plan_chunks(parse_duration("2 Y"), "1 day", END, now=END)] == ["365 D", "365 D"]
    assert [c.duration for c in plan_chunks(parse_duration("3 D"), "2 mins", None, now=END,
                                            max_chunk=parse_duration("1 D"))] == ["86400 S"] * 3


def test_a_duration_past_100_years_and_an_end_before_1900_are_refused() -> None:
    """They overflowed datetime arithmetic (OverflowError) or made an end text IB cannot read."""
    for text in ("99999999999999999999 D", "3000 Y", "36501 D"):
        with pytest.raises(ValidationError, match="100 years"):
            parse_duration(text)
    assert parse_duration("100 Y").seconds == MAX_DURATION_SECONDS
    for end in (datetime(1, 1, 1, 5, tzinfo=UTC), datetime(1899, 12, 31, tzinfo=UTC),
                datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))):
        with pytest.raises(ValidationError) as info:
            check_end(end)
        assert info.value.field == "end"
    assert check_end(datetime(1900, 1, 1, tzinfo=UTC)) == datetime(1900, 1, 1, tzinfo=UTC)
