"""Every replica runs the reminder pass (`policebot run`): run at the same moment, they still remind
each overdue escalation once."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import text

from bot.core.models import Channel, ResidentRef
from bot.settings import Settings
from bot.wiring import build_container
from tests.web.test_resident import rows

TICKETS = 20


async def test_replicas_reminding_at_once_remind_each_escalation_once(scale_settings: Settings) -> None:
    settings = scale_settings.model_copy(update={"duty_chat_id": -100123})
    a = await build_container(settings)
    b = await build_container(settings)
    try:
        for n in range(TICKETS):
            reply = await a.ask.ask(
                "gongyuan", ResidentRef(Channel.WEB, f"resident-{n}"), "小区下水道堵了找谁", Channel.WEB
            )
            assert reply.ticket is not None
        async with a.engine.begin() as connection:  # all past due, and past the duty deadline too
            await connection.execute(text("UPDATE escalations SET due_at = now() - interval '5 hours'"))

        counts = await asyncio.gather(a.reminders.run_once(), b.reminders.run_once())
        assert sum(counts) == 2 * TICKETS  # each reminded, then passed to the duty group: once each
        assert await asyncio.gather(a.reminders.run_once(), b.reminders.run_once()) == [0, 0]
        handovers = Counter(
            escalation_id
            for (escalation_id,) in await rows(
                a, "select escalation_id from outbox where kind = 'duty_handover'"
            )
        )
        assert len(handovers) == TICKETS and set(handovers.values()) == {1}
        assert await rows(a, "select distinct reminded from escalations") == [(2,)]
    finally:
        await a.close()
        await b.close()
