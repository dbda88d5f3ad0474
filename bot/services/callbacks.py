"""A call-back number left on an urgent ticket: kept with the ticket and told to the duty officers."""

from __future__ import annotations

from datetime import datetime

from bot.core.knowledge import KnowledgeBase
from bot.core.models import NewEscalation
from bot.core.ports import NotFoundError, UnitOfWorkFactory
from bot.core.privacy import mask_phone, normalize_phone
from bot.services.posting import raise_alarm


class NotUrgentError(ValueError):
    """A call-back number is taken for urgent tickets only."""


async def leave_callback(
    uow_factory: UnitOfWorkFactory,
    kb: KnowledgeBase,
    now: datetime,
    duty_chat_id: int | None,
    consultation_id: int,
    phone: str,
) -> str:
    """The resident of an urgent ticket leaves a number to be called back on. Returns it masked.

    ValueError for something that is not a phone number; NotUrgentError for a routine ticket."""
    number = normalize_phone(phone)
    if number is None:
        raise ValueError("请填写正确的手机号或座机号")
    async with uow_factory() as uow:
        consultation = await uow.consultations.get(consultation_id)
        if consultation is None:
            raise NotFoundError(f"consultation {consultation_id} not found")
        if not consultation.urgent:
            raise NotUrgentError("only urgent tickets take a call-back number")
        # open() hands back the ticket the urgent consultation already has.
        escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=now))
        await uow.escalations.set_callback_phone(escalation.id, number)
        await raise_alarm(
            uow,
            kb,
            escalation_id=escalation.id,
            community=escalation.community,
            question=consultation.text_masked,
            urgent_kind=consultation.urgent_kind or "",
            due_at=escalation.due_at,
            now=now,
            duty_chat_id=duty_chat_id,
            note=f"群众留了回拨电话 {mask_phone(number)}（完整号码见网页工单）",
        )
        await uow.commit()
    return mask_phone(number)
