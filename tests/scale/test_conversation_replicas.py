"""A conversation across replicas: with REDIS_URL its state lives in Redis, so a follow-up answered by
another instance still knows the topic; and it expires there by itself."""

from __future__ import annotations

import redis.asyncio as redis

from bot.adapters.conversations_redis import PREFIX, RedisConversations
from bot.core.models import Channel, Outcome, ResidentRef
from bot.services.conversations import conversation_key


async def test_a_follow_up_on_another_replica_keeps_the_topic(containers) -> None:
    first, second = await containers(), await containers()
    assert isinstance(first.conversations, RedisConversations)
    resident = ResidentRef(Channel.API, "replica-resident-1")
    asked = await first.ask.ask("gongyuan", resident, "身份证丢了怎么补办", Channel.API, "chat-1")
    assert asked.entry_id == "idcard.lost"
    follow = await second.ask.ask("gongyuan", resident, "要多少钱", Channel.API, "chat-1")
    assert (follow.outcome, follow.entry_id, follow.field, follow.from_context) == (
        Outcome.ANSWER,
        "idcard.lost",
        "fees",
        True,
    )
    # Another resident naming the same conversation reaches nothing of it, on either replica.
    other = ResidentRef(Channel.API, "replica-resident-2")
    assert (
        await second.ask.ask("gongyuan", other, "要多少钱", Channel.API, "chat-1")
    ).outcome is not Outcome.ANSWER


async def test_redis_expires_a_conversation_by_itself(containers, redis_url: str) -> None:
    container = await containers()
    resident = ResidentRef(Channel.API, "replica-resident-3")
    await container.ask.ask("gongyuan", resident, "身份证丢了怎么补办", Channel.API, "chat-2")
    client = redis.Redis.from_url(redis_url)
    try:
        ttl = await client.ttl(PREFIX + conversation_key(Channel.API, resident, "chat-2"))
    finally:
        await client.aclose()
    assert 0 < ttl <= 30 * 60
