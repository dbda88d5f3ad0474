"""The menu: four sections → categories → entries → the whole entry card (a counted view)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery

from bot.channels.telegram import keyboards
from bot.channels.telegram.adapters import EscalationQueries
from bot.channels.telegram.callbacks import (
    CategoryCb,
    EntryCb,
    MenuCb,
    SectionCb,
    resolve_entry_token,
    signer_for,
)
from bot.channels.telegram.handlers.common import TELEGRAM_CONVERSATION, send_chunks, show
from bot.channels.telegram.markup import split_html
from bot.channels.telegram.middlewares import Actor
from bot.channels.telegram.render import entry_card, my_questions
from bot.channels.telegram.texts import Translator
from bot.core.models import CATEGORIES, SECTIONS, Channel, Community, Entry

if TYPE_CHECKING:
    from bot.wiring import Container


def setup() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(main_menu, MenuCb.filter(F.to == "menu"))
    router.callback_query.register(my_list, MenuCb.filter(F.to == "my"))
    router.callback_query.register(section, SectionCb.filter())
    router.callback_query.register(category, CategoryCb.filter())
    router.callback_query.register(entry, EntryCb.filter())
    return router


async def community_of(actor: Actor, container: Container) -> Community | None:
    """The resident's community, if chosen and still in the knowledge base."""
    slug = (await actor.prefs()).community
    return container.kb.communities.get(slug) if slug else None


async def ask_for_community(callback: CallbackQuery, bot: Bot, t: Translator, container: Container) -> None:
    await callback.answer()
    await show(callback, bot, t("community_needed"), keyboards.district_picker(container.kb))


async def main_menu(
    callback: CallbackQuery, bot: Bot, actor: Actor, t: Translator, container: Container
) -> None:
    if await community_of(actor, container) is None:
        await ask_for_community(callback, bot, t, container)
        return
    await callback.answer()
    await show(callback, bot, t("menu"), keyboards.main_menu(t))


async def my_list(
    callback: CallbackQuery, bot: Bot, actor: Actor, t: Translator, escalation_queries: EscalationQueries
) -> None:
    await callback.answer()
    views = await escalation_queries.for_resident(actor.resident)
    await send_chunks(bot, callback.from_user.id, my_questions(views, t))


async def section(
    callback: CallbackQuery,
    callback_data: SectionCb,
    bot: Bot,
    actor: Actor,
    t: Translator,
    container: Container,
) -> None:
    place = await community_of(actor, container)
    if place is None or not 0 <= callback_data.s < len(SECTIONS):
        await ask_for_community(callback, bot, t, container)
        return
    await callback.answer()
    entries = container.kb.entries_for(place.slug)
    name = t.section(SECTIONS[callback_data.s])
    markup = keyboards.category_picker(t, callback_data.s, entries)
    text = t("menu_section", section=name) if len(markup.inline_keyboard) > 1 else t("menu_empty")
    await show(callback, bot, text, markup)


def _in_category(entries: list[Entry], s: int, c: int) -> list[Entry]:
    return [e for e in entries if e.section == SECTIONS[s] and e.category == CATEGORIES[c]]


async def category(
    callback: CallbackQuery,
    callback_data: CategoryCb,
    bot: Bot,
    actor: Actor,
    t: Translator,
    container: Container,
) -> None:
    place = await community_of(actor, container)
    s, c = callback_data.s, callback_data.c
    if place is None or not (0 <= s < len(SECTIONS) and 0 <= c < len(CATEGORIES)):
        await ask_for_community(callback, bot, t, container)
        return
    await callback.answer()
    entries = _in_category(container.kb.entries_for(place.slug), s, c)
    page = max(0, callback_data.p)
    text = t("menu_category", category=t.category(CATEGORIES[c])) if entries else t("menu_empty")
    await show(callback, bot, text, keyboards.entry_picker(t, s, c, entries, page))


async def entry(
    callback: CallbackQuery,
    callback_data: EntryCb,
    bot: Bot,
    actor: Actor,
    t: Translator,
    container: Container,
) -> None:
    place = await community_of(actor, container)
    if place is None:
        await ask_for_community(callback, bot, t, container)
        return
    entry_id = resolve_entry_token(callback_data.e, container.kb.visible_ids(place.slug))
    try:
        if entry_id is None:
            raise KeyError(callback_data.e)
        reply = await container.ask.view_entry(
            place.slug, actor.resident, entry_id, Channel.TELEGRAM, conversation=TELEGRAM_CONVERSATION
        )
    except KeyError:
        await callback.answer(t.plain("entry_gone"), show_alert=True)
        return
    await callback.answer()
    assert reply.entry is not None  # view_entry always returns the entry it counted
    markup = keyboards.answer_actions(
        t,
        reply.consultation_id,
        callback.from_user.id,
        signer_for(bot.token),
        back=(callback_data.s, callback_data.c),
    )
    await send_chunks(bot, callback.from_user.id, split_html(entry_card(reply.entry, t)), markup)
