from datetime import UTC, datetime

import pytest

from bot.core.policy import answer_due


def test_one_working_day_on_a_weekday() -> None:
    asked = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Liuzhou
    assert answer_due(asked, 1) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_friday_question_is_due_on_monday() -> None:
    asked = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday
    assert answer_due(asked, 1) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_weekend_question_counts_from_monday_morning() -> None:
    asked = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Saturday 20:00 local
    # Monday 09:00 local starts the clock; one working day later is Tuesday 09:00 local = 01:00 UTC.
    assert answer_due(asked, 1) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        answer_due(datetime(2026, 11, 25, 2, 0), 1)
