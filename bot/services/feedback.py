"""Residents rate answers: 有用/没用 on a bot answer, 满意/基本满意/不满意 on an officer's answer."""

from __future__ import annotations

from bot.core.models import Helpfulness, Satisfaction
from bot.core.ports import Clock, UnitOfWorkFactory


class FeedbackService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def rate_answer(self, consultation_id: int, value: Helpfulness) -> None:
        async with self._uow() as uow:
            await uow.feedback.add_helpfulness(consultation_id, value, self._clock.now())
            await uow.commit()

    async def rate_officer_answer(self, escalation_id: int, value: Satisfaction) -> None:
        async with self._uow() as uow:
            await uow.feedback.add_satisfaction(escalation_id, value, self._clock.now())
            await uow.commit()
