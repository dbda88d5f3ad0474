"""限时办结: when an escalated question is promised an answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def answer_due(created_at: datetime, working_days: int, timezone: str = "Asia/Shanghai") -> datetime:
    """`working_days` working days after `created_at`, skipping Saturdays and Sundays in local time.

    A question asked at the weekend starts counting on Monday morning. Public holidays and the
    make-up working weekends of the Chinese calendar are not modelled; the bureau's duty roster rules.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    tz = ZoneInfo(timezone)
    local = created_at.astimezone(tz)
    if local.weekday() >= 5:  # Saturday or Sunday: the clock starts on Monday 09:00
        local = (local + timedelta(days=7 - local.weekday())).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
    remaining = working_days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local.astimezone(created_at.tzinfo)
