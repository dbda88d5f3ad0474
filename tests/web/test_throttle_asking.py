"""The asking limit itself: per resident and per address, a sliding minute."""

from __future__ import annotations

from bot.channels.web.throttle import AskLimiter


def test_limits_hold_per_resident_and_per_address_and_free_up_after_the_window() -> None:
    now = [0.0]
    limiter = AskLimiter(per_resident=3, per_address=5, window_seconds=60, clock=lambda: now[0])
    assert [limiter.hit("anna", "198.51.100.1") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("anna", "198.51.100.1")
    assert wait is not None and 0 < wait <= 60
    # Other residents behind the same address share its larger limit.
    assert limiter.hit("boris", "198.51.100.1") is None
    assert limiter.hit("clara", "198.51.100.1") is None
    assert limiter.hit("dora", "198.51.100.1") is not None  # the address's fifth already counted
    assert limiter.hit("anna", "203.0.113.9") is not None  # anna herself, from anywhere
    now[0] = 61.0
    assert limiter.hit("anna", "198.51.100.1") is None


def test_a_refused_question_is_not_counted() -> None:
    now = [0.0]
    limiter = AskLimiter(per_resident=2, per_address=100, window_seconds=60, clock=lambda: now[0])
    limiter.hit("anna", "a")
    now[0] = 30.0
    limiter.hit("anna", "a")
    for _ in range(10):
        assert limiter.hit("anna", "a") is not None
    now[0] = 60.5  # the first one left the window; the refused ones never entered it
    assert limiter.hit("anna", "a") is None


def test_a_community_has_a_limit_of_its_own() -> None:
    limiter = AskLimiter(per_resident=10, per_address=10, per_community=3, window_seconds=60)
    assert [limiter.hit(f"r{n}", f"a{n}", "gongyuan") for n in range(3)] == [None, None, None]
    assert limiter.hit("r9", "a9", "gongyuan") is not None  # a new resident, a new address: the room is full
    assert limiter.hit("r9", "a9", "hexi") is None  # another community is not held up
