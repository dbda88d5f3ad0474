"""The limits on asking, shared by replicas through Redis, and kept in the process when Redis is away."""

from __future__ import annotations

import uuid

from bot.channels.web.limits_redis import RedisAskLimiter
from bot.channels.web.throttle import AskLimiter


def _limits() -> AskLimiter:
    return AskLimiter(per_resident=3, per_address=100, per_community=5, window_seconds=60)


async def test_two_replicas_count_one_residents_questions_together(redis_url: str) -> None:
    one, two = RedisAskLimiter(redis_url, _limits()), RedisAskLimiter(redis_url, _limits())
    anna, address = f"anna-{uuid.uuid4().hex}", f"198.51.100.{uuid.uuid4().int % 250}"
    try:
        assert await one.allow(anna, address) is None
        assert await two.allow(anna, address) is None
        assert await one.allow(anna, address) is None
        wait = await two.allow(anna, address)  # the fourth, on the other replica
        assert wait is not None and 0 < wait <= 60
        # Refused questions are not counted: still three in the window, not four or five.
        assert await one.allow(anna, address) is not None
        assert await one.allow(f"boris-{uuid.uuid4().hex}", address) is None  # others are not held up
    finally:
        await one.close()
        await two.close()


async def test_a_community_has_a_limit_of_its_own_across_replicas(redis_url: str) -> None:
    one, two = RedisAskLimiter(redis_url, _limits()), RedisAskLimiter(redis_url, _limits())
    community = f"room-{uuid.uuid4().hex}"
    try:
        for n in range(5):
            limiter = one if n % 2 else two
            assert await limiter.allow(f"r{n}-{uuid.uuid4().hex}", f"a{n}", community) is None
        assert await one.allow(f"late-{uuid.uuid4().hex}", "elsewhere", community) is not None
        assert await one.allow(f"late-{uuid.uuid4().hex}", "elsewhere", None) is None
    finally:
        await one.close()
        await two.close()


async def test_without_redis_the_limits_hold_in_the_process_and_nothing_raises() -> None:
    limiter = RedisAskLimiter("redis://127.0.0.1:1/0", _limits())  # nothing listens there
    tried = 0
    script = limiter._script

    async def counted(*args, **kwargs):
        nonlocal tried
        tried += 1
        return await script(*args, **kwargs)

    limiter._script = counted
    try:
        assert [await limiter.allow("anna", "a") for _ in range(3)] == [None, None, None]
        assert await limiter.allow("anna", "a") is not None
        assert tried == 1  # after a failure Redis is left alone for a while: no timeout per question
    finally:
        await limiter.close()


async def test_failed_sign_ins_on_several_replicas_add_up_and_lock_the_account(redis_url: str) -> None:
    from bot.channels.web.limits_redis import RedisLoginThrottle
    from bot.channels.web.throttle import LoginThrottle

    def limits() -> LoginThrottle:
        return LoginThrottle(per_user=100, per_address=100, per_account=4, window_seconds=60)

    replicas = [RedisLoginThrottle(redis_url, limits()) for _ in range(3)]
    name = f"li-{uuid.uuid4().hex}"
    try:
        for n in range(4):  # four guesses from four addresses, each at another replica
            replica = replicas[n % 3]
            assert await replica.wait(name, f"198.51.100.{n}") is None
            await replica.failure(name, f"198.51.100.{n}")
        for replica in replicas:  # no replica has seen four alone; together they lock the account
            wait = await replica.wait(name, "203.0.113.7")
            assert wait is not None and 0 < wait <= 60
        # The right password (a success) clears the account's count everywhere.
        await replicas[0].success(name, "198.51.100.0")
        assert await replicas[2].wait(name, "203.0.113.7") is None
    finally:
        for replica in replicas:
            await replica.close()
