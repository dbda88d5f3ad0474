"""A resident's own words: answer, "did you mean", hand over to the officers; ratings; /my."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.channels.telegram import keyboards
from bot.channels.telegram.adapters import EscalationQueries
from bot.channels.telegram.callbacks import (
    HelpfulCb,
    NoneOfTheseCb,
    PickCb,
    SatisfactionCb,
    resolve_entry_token,
    signer_for,
)
from bot.channels.telegram.filters import CommandLike, HasText
from bot.channels.telegram.handlers.common import TELEGRAM_CONVERSATION, drop_keyboard, send_chunks
from bot.channels.telegram.handlers.residents.browse import community_of
from bot.channels.telegram.markup import split_html
from bot.channels.telegram.middlewares import Actor
from bot.channels.telegram.render import entry_card, escalation_notice, my_questions, reply_messages
from bot.channels.telegram.texts import Translator
from bot.core.knowledge import UnknownCommunityError
from bot.core.models import Channel, Helpfulness, Outcome
from bot.core.ports import NotFoundError
from bot.core.replies import Notice

if TYPE_CHECKING:
    from bot.wiring import Container

log = logging.getLogger(__name__)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(my_questions_command, Command("my"))
    # Any other text that is not a command is a question. Unknown commands get the help text.
    router.message.register(unknown_command, CommandLike())
    router.message.register(ask, HasText())
    router.callback_query.register(pick, PickCb.filter())
    router.callback_query.register(none_of_these, NoneOfTheseCb.filter())
    router.callback_query.register(rate_answer, HelpfulCb.filter())
    router.callback_query.register(rate_officer_answer, SatisfactionCb.filter())
    return router


async def ask(message: Message, bot: Bot, actor: Actor, t: Translator, container: Container) -> None:
    assert message.text is not None and message.from_user is not None  # F.text and a private chat
    place = await community_of(actor, container)
    if place is None:
        await message.answer(t("community_needed"), reply_markup=keyboards.district_picker(container.kb))
        return
    try:
        reply = await container.ask.ask(
            place.slug, actor.resident, message.text, Channel.TELEGRAM, conversation=TELEGRAM_CONVERSATION
        )
    except UnknownCommunityError:
        await message.answer(t("community_needed"), reply_markup=keyboards.district_picker(container.kb))
        return
    user_id = message.from_user.id
    signer = signer_for(bot.token)
    # Several questions in one message: one reply each, in order, each with its own buttons.
    for n, one in enumerate(reply.parts or (reply,), 1):
        markup: InlineKeyboardMarkup | None = None
        if one.notice is Notice.EMPTY:
            markup = None
        elif one.outcome is Outcome.ANSWER:
            full = one.entry_id if one.field is not None else None
            markup = keyboards.answer_actions(t, one.consultation_id, user_id, signer, full_card=full)
        elif one.outcome is Outcome.CLARIFY and one.choices:
            markup = keyboards.clarify_choices(t, one, user_id, signer)
        elif one.outcome is Outcome.ESCALATE:
            markup = keyboards.suggested_entry(one)
        messages = reply_messages(one, t, container.settings.timezone)
        if reply.parts:
            messages[0] = f"（{n}）{messages[0]}"
        await send_chunks(bot, message.chat.id, messages, markup)


async def unknown_command(message: Message, t: Translator) -> None:
    await message.answer(t("help"))


async def pick(
    callback: CallbackQuery,
    callback_data: PickCb,
    bot: Bot,
    actor: Actor,
    t: Translator,
    container: Container,
) -> None:
    place = await community_of(actor, container)
    entry_id = resolve_entry_token(callback_data.e, container.kb.visible_ids(place.slug)) if place else None
    if place is None or entry_id is None:
        await callback.answer(t.plain("entry_gone"), show_alert=True)
        return
    try:
        reply = await container.ask.view_entry(
            place.slug, actor.resident, entry_id, Channel.TELEGRAM, conversation=TELEGRAM_CONVERSATION
        )
    except KeyError:
        await callback.answer(t.plain("entry_gone"), show_alert=True)
        return
    await callback.answer()
    await drop_keyboard(callback)
    assert reply.entry is not None
    markup = keyboards.answer_actions(t, reply.consultation_id, callback.from_user.id, signer_for(bot.token))
    await send_chunks(bot, callback.from_user.id, split_html(entry_card(reply.entry, t)), markup)


async def none_of_these(
    callback: CallbackQuery, callback_data: NoneOfTheseCb, bot: Bot, t: Translator, container: Container
) -> None:
    user_id = callback.from_user.id
    if not signer_for(bot.token).valid(callback_data.sig, user_id, "n", callback_data.q):
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    try:
        reply = await container.ask.escalate_consultation(callback_data.q)
    except (KeyError, NotFoundError):
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    await callback.answer()
    await drop_keyboard(callback)
    await send_chunks(bot, user_id, split_html(escalation_notice(reply, t, container.settings.timezone)))


async def rate_answer(
    callback: CallbackQuery, callback_data: HelpfulCb, bot: Bot, t: Translator, container: Container
) -> None:
    q, v = callback_data.q, callback_data.v
    if v not in (0, 1) or not signer_for(bot.token).valid(
        callback_data.sig, callback.from_user.id, "u", q, v
    ):
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    try:
        await container.feedback.rate_answer(q, Helpfulness.USEFUL if v else Helpfulness.NOT_USEFUL)
    except NotFoundError:
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    await callback.answer(t.plain("thanks_rating"))
    await drop_keyboard(callback)
    if not v:
        await bot.send_message(callback.from_user.id, t("rating_not_useful"))


async def rate_officer_answer(
    callback: CallbackQuery, callback_data: SatisfactionCb, bot: Bot, t: Translator, container: Container
) -> None:
    x, v = callback_data.x, callback_data.v
    valid = 0 <= v < len(keyboards.SATISFACTION_ORDER)
    if not valid or not signer_for(bot.token).valid(callback_data.sig, callback.from_user.id, "r", x, v):
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    try:
        await container.feedback.rate_officer_answer(x, keyboards.SATISFACTION_ORDER[v])
    except NotFoundError:
        await callback.answer(t.plain("stale_button"), show_alert=True)
        return
    await callback.answer(t.plain("thanks_rating"))
    await drop_keyboard(callback)


async def my_questions_command(
    message: Message, bot: Bot, actor: Actor, t: Translator, escalation_queries: EscalationQueries
) -> None:
    views = await escalation_queries.for_resident(actor.resident)
    await send_chunks(bot, message.chat.id, my_questions(views, t))
