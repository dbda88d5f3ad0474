"""The outgoing rate limiter on a fake clock: no test sleeps."""

from __future__ import annotations

from bot.channels.telegram.limiter import Limits, RateLimiter
from bot.channels.telegram.middlewares import InFlight, ResidentThrottle

PRIVATE, GROUP = 1001, -100200


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def limiter(clock: Clock, limits: Limits | None = None) -> RateLimiter:
    return RateLimiter(limits, clock=clock, sleep=clock.sleep)


def test_one_message_per_second_per_chat() -> None:
    clock = Clock()
    rl = limiter(clock)
    assert rl.delay(PRIVATE) == 0
    rl.record(PRIVATE)
    assert rl.delay(PRIVATE) == 1.0
    assert rl.delay(PRIVATE + 1) == 0  # another chat is not held up
    clock.t = 0.4
    assert abs(rl.delay(PRIVATE) - 0.6) < 1e-9
    clock.t = 1.0
    assert rl.delay(PRIVATE) == 0


def test_twenty_per_minute_per_group() -> None:
    clock = Clock()
    rl = limiter(clock)
    for i in range(20):
        clock.t = i * 1.0
        assert rl.delay(GROUP) == 0
        rl.record(GROUP)
    clock.t = 20.0
    assert rl.delay(GROUP) == 40.0  # the first of the 20 leaves the minute window at t=60
    clock.t = 60.0
    assert rl.delay(GROUP) == 0
    # Private chats have no per-minute cap.
    for i in range(30):
        clock.t = 100 + i * 1.0
        assert rl.delay(PRIVATE) == 0
        rl.record(PRIVATE)


def test_overall_cap_per_second() -> None:
    clock = Clock()
    rl = limiter(clock, Limits(overall_per_second=25))
    for chat in range(1, 26):
        assert rl.delay(chat) == 0
        rl.record(chat)
    assert rl.delay(26) == 1.0
    clock.t = 0.5
    assert rl.delay(26) == 0.5


async def test_acquire_waits_on_the_clock_and_counts() -> None:
    clock = Clock()
    rl = limiter(clock)
    await rl.acquire(PRIVATE)
    await rl.acquire(PRIVATE)
    await rl.acquire(PRIVATE)
    assert clock.slept == [1.0, 1.0] and clock.t == 2.0


async def test_retry_after_pauses_the_chat() -> None:
    clock = Clock()
    rl = limiter(clock)
    rl.pause(GROUP, 30)
    assert rl.delay(GROUP) == 30
    assert rl.delay(PRIVATE) == 0
    await rl.acquire(GROUP)
    assert clock.t == 30


def test_idle_chats_are_forgotten() -> None:
    clock = Clock()
    rl = limiter(clock, Limits(overall_per_second=10_000))
    for chat in range(1, 1025):
        rl.record(-chat)
    clock.t = 61
    for chat in range(2000, 3024):
        rl.record(chat)
    assert len(rl._last_by_chat) <= 1024 and len(rl._group_windows) == 0


def test_resident_throttle_window_and_single_warning() -> None:
    clock = Clock()
    throttle = ResidentThrottle(rate=3, per=10.0, clock=clock)
    assert [throttle.allow(7) for _ in range(4)] == [True, True, True, False]
    assert throttle.should_warn(7) and not throttle.should_warn(7)
    assert throttle.allow(8)  # someone else is not affected
    clock.t = 10.5
    assert throttle.allow(7)


def test_in_flight_confirms_only_finished_updates() -> None:
    tracker = InFlight()
    assert tracker.confirmable() is None
    tracker.last_done = 12
    assert tracker.confirmable() == 12
    tracker._running[10] = None  # type: ignore[assignment]
    assert tracker.confirmable() == 9
