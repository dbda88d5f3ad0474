"""A question that arrives while a dependency is down is answered once it is back: no apology and
no dropped question, neither in long polling nor through the webhook's inbox."""

from __future__ import annotations

from typing import Any

import pytest
import redis.exceptions

from bot.channels.telegram.retry import RetryingDispatcher
from bot.core.models import StatsQuery
from tests.telegram.harness import RESIDENT, Harness


async def test_a_question_during_an_outage_is_answered_when_it_is_over(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RetryingDispatcher, "retry_delays", (0.2,))
    await tg.start_in(RESIDENT)
    real_ask = tg.c.ask.ask
    failures = {"left": 2}

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise redis.exceptions.ConnectionError("Redis is restarting")
        return await real_ask(*args, **kwargs)

    monkeypatch.setattr(tg.c.ask, "ask", flaky)
    reply = await tg.reply_to(RESIDENT, "身份证丢了怎么补办", timeout=10)
    assert "居民身份证丢失补领" in reply["text"]
    assert failures["left"] == 0
    sent = [c.params["text"] for c in tg.api.sent("sendMessage", RESIDENT.id)]
    assert not any("系统暂时出了点问题" in text for text in sent)  # no apology on the way
    report = await tg.c.reports.report(StatsQuery())
    assert report.asked == 1  # recorded once, when it was answered


async def test_a_bug_still_gets_the_apology(tg: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await tg.start_in(RESIDENT)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr(tg.c.ask, "ask", broken)
    reply = await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    assert "系统暂时出了点问题" in reply["text"]
