"""Officers, in their community's group: claim (首问负责), answer, hand over, close, save as knowledge.

Which post belongs to which ticket lives in the database (escalation_posts), so a restart between the
post and the answer loses nothing. Note Telegram's privacy mode: in groups a bot only sees commands
and replies to its own messages, which is why answering is done by *replying* (to the post or to the
"type your answer" prompt, which asks the officer's app to reply by itself via ForceReply).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from bot.channels.telegram import keyboards
from bot.channels.telegram.adapters import EscalationQueries
from bot.channels.telegram.callbacks import EscalationCb, HandOverCb, QueueCb
from bot.channels.telegram.filters import (
    AnonymousAdmin,
    CommandLike,
    GroupChat,
    HasText,
    RepliesToBot,
    StaffOnly,
)
from bot.channels.telegram.markup import Html, escape
from bot.channels.telegram.render import STATUS_ZH, EscalationCard, escalation_post, queue_listing
from bot.channels.telegram.texts import Translator
from bot.core.models import (
    CLOSE_REASON_ZH,
    CloseReason,
    EscalationStatus,
    EscalationView,
    Staff,
    ticket_number,
)
from bot.core.ports import ConflictError, NotFoundError
from bot.services.officers import PermissionDenied, QueuePage

if TYPE_CHECKING:
    from bot.wiring import Container

STAFF_ONLY = "只有名单内的民警可以处理工单。如需开通，请联系管理员。"
ANONYMOUS = "您正以“匿名管理员”身份发言，机器人无法确认您是哪位民警。请在群设置中关闭匿名后再操作。"
# Ten tickets a page: short enough to scan on a phone, and always one message to edit in place.
QUEUE_PAGE_SIZE = 10


class Answering(StatesGroup):
    text = State()  # the officer pressed 答复: their next message is the answer


def setup() -> Router:
    router = Router(name=__name__)
    router.message.filter(GroupChat())
    router.callback_query.filter(GroupChat())
    router.message.register(anonymous_admin, AnonymousAdmin(), or_f(CommandLike(), RepliesToBot()))
    router.my_chat_member.register(added_to_group, GroupChat())

    # The allowlist check comes after the cheap filters, so group chatter costs no database read.
    staff = Router(name=f"{__name__}.staff")
    staff.callback_query.register(on_action, EscalationCb.filter(), StaffOnly())
    staff.callback_query.register(on_hand_over, HandOverCb.filter(), StaffOnly())
    staff.message.register(queue, Command("queue"), StaffOnly())
    staff.callback_query.register(on_queue_page, QueueCb.filter(), StaffOnly())
    staff.message.register(answer_by_reply, RepliesToBot(), StaffOnly())
    staff.message.register(answer_after_button, Answering.text, HasText(), StaffOnly())

    outsiders = Router(name=f"{__name__}.outsiders")
    outsiders.callback_query.register(
        refuse_button, or_f(EscalationCb.filter(), HandOverCb.filter(), QueueCb.filter())
    )
    outsiders.message.register(refuse_message, or_f(Command("queue"), RepliesToBot()))

    router.include_routers(staff, outsiders)
    return router


# ---- buttons on a post -----------------------------------------------------------------------------


async def on_action(
    callback: CallbackQuery,
    callback_data: EscalationCb,
    staff: Staff,
    bot: Bot,
    state: FSMContext,
    container: Container,
    escalation_queries: EscalationQueries,
) -> None:
    x = callback_data.x
    officers = container.officers
    try:
        if callback_data.a == "c":
            await officers.claim(staff, x)
            await callback.answer(f"已认领工单 {ticket_number(x)}，请在时限内答复。")
            await _refresh(callback, await officers.view(staff, x), container)
        elif callback_data.a == "a":
            await _prompt_answer(callback, staff, x, bot, state, container, escalation_queries)
        elif callback_data.a == "h":
            view = await officers.view(staff, x)
            if view.escalation.status in (EscalationStatus.ANSWERED, EscalationStatus.CLOSED):
                await callback.answer(
                    f"工单已{STATUS_ZH[view.escalation.status]}，不能再转交。", show_alert=True
                )
                return
            await callback.answer("请选择要转交的社区")
            await _set_markup(
                callback, keyboards.hand_over_targets(container.kb, x, view.escalation.community)
            )
        elif callback_data.a == "z":
            view = await officers.view(staff, x)
            if view.escalation.answer or view.escalation.status is EscalationStatus.CLOSED:
                await officers.close(staff, x)
                await callback.answer(f"工单 {ticket_number(x)} 已办结。")
                await _refresh(callback, await officers.view(staff, x), container)
                return
            await callback.answer(
                "这个工单还没有答复。请先答复；重复提问或无效信息可直接选下面的原因；"
                "电话答复、其他部门办理请在网页工作台写明后办结。",
                show_alert=True,
            )
            await _set_markup(callback, keyboards.close_reasons(x))
        elif callback_data.a in ("zd", "zs"):
            reason = CloseReason.DUPLICATE if callback_data.a == "zd" else CloseReason.SPAM
            await officers.close(staff, x, reason)
            await callback.answer(f"工单 {ticket_number(x)} 已办结（{CLOSE_REASON_ZH[reason]}）。")
            await _refresh(callback, await officers.view(staff, x), container)
        elif callback_data.a == "zx":
            await callback.answer()
            await _refresh(callback, await officers.view(staff, x), container)
        elif callback_data.a == "k":
            draft = await officers.save_draft(staff, x)
            await callback.answer(f"已存为知识草稿 #{draft.id}，待管理员审核后上线。", show_alert=True)
        else:
            await callback.answer()
    except ConflictError:
        await callback.answer(await _conflict_text(staff, x, container), show_alert=True)
    except (PermissionDenied, NotFoundError, ValueError) as exc:
        await callback.answer(_refusal(exc), show_alert=True)


async def _prompt_answer(
    callback: CallbackQuery,
    staff: Staff,
    x: int,
    bot: Bot,
    state: FSMContext,
    container: Container,
    escalation_queries: EscalationQueries,
) -> None:
    view = await container.officers.view(staff, x)
    e = view.escalation
    if e.status is EscalationStatus.CLOSED:
        await callback.answer("工单已办结，不能再答复。", show_alert=True)
        return
    if e.officer_id is not None and e.officer_id != staff.id:
        await callback.answer(f"该工单由{e.officer}负责（首问负责），请与其联系。", show_alert=True)
        return
    await callback.answer()
    if callback.message is None:
        return
    chat_id = callback.message.chat.id
    mention = f'<a href="tg://user?id={callback.from_user.id}">{escape(staff.name)}</a>'
    prompt = await bot.send_message(
        chat_id,
        f"{mention}：请<b>回复本条消息</b>写下工单 {e.ticket} 的答复，材料、地点、时限请一次写全。",
        reply_parameters=ReplyParameters(
            message_id=callback.message.message_id, allow_sending_without_reply=True
        ),
        reply_markup=ForceReply(selective=True, input_field_placeholder=f"{e.ticket} 的答复"),
    )
    # A reply to the prompt maps to the ticket like a reply to the post, and survives a restart.
    await escalation_queries.remember_post(x, chat_id, prompt.message_id)
    await state.set_state(Answering.text)
    await state.update_data(escalation_id=x)


async def on_hand_over(
    callback: CallbackQuery,
    callback_data: HandOverCb,
    staff: Staff,
    container: Container,
) -> None:
    x = callback_data.x
    officers = container.officers
    try:
        view = await officers.view(staff, x)
        if callback_data.to == "-":
            await callback.answer()
            await _set_markup(callback, keyboards.escalation_actions(x, view.escalation.status))
            return
        target = container.kb.community(callback_data.to)
        await officers.hand_over(staff, x, target.slug)
    except LookupError as exc:  # NotFoundError, or a community no longer in the knowledge base
        await callback.answer(_refusal(exc), show_alert=True)
        return
    except ConflictError:
        await callback.answer(await _conflict_text(staff, x, container), show_alert=True)
        return
    except PermissionDenied as exc:
        await callback.answer(_refusal(exc), show_alert=True)
        return
    posted = target.officer_chat_id is not None  # the service queued the post with the hand-over
    await callback.answer(f"已转交给{target.name}。")
    where = "已推送到该社区民警群" if posted else "该社区未配置民警群，请在网页后台处理"
    note = f"\n\n↪️ 由{escape(staff.name)}转交给<b>{escape(target.name)}</b>（{where}）。"
    card = _card(view, container)
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_text(escalation_post(card) + note, reply_markup=None)


# ---- answers -----------------------------------------------------------------------------------


async def answer_by_reply(
    message: Message,
    staff: Staff,
    state: FSMContext,
    container: Container,
    escalation_queries: EscalationQueries,
) -> None:
    assert message.reply_to_message is not None  # RepliesToBot
    x = await escalation_queries.by_post(message.chat.id, message.reply_to_message.message_id)
    if x is None:
        x = (await state.get_data()).get("escalation_id")
    if x is None:
        await message.reply("这条消息不对应任何工单。答复请回复工单原帖，或先点帖子下的“答复”。")
        return
    post = message.reply_to_message if message.reply_to_message.reply_markup else None
    await _answer(message, staff, int(x), state, container, post)


async def answer_after_button(
    message: Message, staff: Staff, state: FSMContext, container: Container
) -> None:
    x = (await state.get_data()).get("escalation_id")
    if x is None:
        await state.clear()
        return
    await _answer(message, staff, int(x), state, container, None)


async def _answer(
    message: Message, staff: Staff, x: int, state: FSMContext, container: Container, post: Message | None
) -> None:
    text = message.text or ""
    if not text.strip():
        await message.reply("请用文字答复（图片、语音等群众可能无法查看）。")
        return
    try:
        escalation = await container.officers.answer(staff, x, text)
    except ConflictError:
        await message.reply(await _conflict_text(staff, x, container))
        return
    except (PermissionDenied, NotFoundError, ValueError) as exc:
        await message.reply(_refusal(exc))
        return
    await state.clear()
    cut = "（超长部分已截去）" if len(text.strip()) > len(escalation.answer or "") else ""
    await message.reply(f"✅ 已答复工单 {escalation.ticket}{cut}，答复会尽快发送给群众，并请其评价。")
    if post is not None:
        with contextlib.suppress(PermissionDenied, NotFoundError):
            view = await container.officers.view(staff, x)
            with contextlib.suppress(TelegramBadRequest):
                markup = keyboards.escalation_actions(x, view.escalation.status)
                await post.edit_text(escalation_post(_card(view, container)), reply_markup=markup)


async def queue(message: Message, staff: Staff, t: Translator, container: Container) -> None:
    """The first page of what waits in the officer's communities, in the web console's order."""
    _, text, markup = await _queue_page(staff, 1, "a", t, container)
    if markup is None:
        await message.reply(text)
        return
    await message.answer(text, reply_markup=markup)


async def on_queue_page(
    callback: CallbackQuery,
    callback_data: QueueCb,
    staff: Staff,
    bot: Bot,
    t: Translator,
    container: Container,
) -> None:
    """Another page (or filter) of /queue, edited into the same message. Whoever presses sees their
    own communities: the allowlist decides again on every press, as for the ticket buttons."""
    shown = callback_data.f if callback_data.f in keyboards.QUEUE_FILTERS else "a"
    page, text, markup = await _queue_page(staff, callback_data.p, shown, t, container)
    moved = bool(page.views) and page.page < callback_data.p  # tickets were closed since the buttons
    await callback.answer(t.plain("queue_last_page") if moved else None)
    message = callback.message
    if isinstance(message, Message):
        with contextlib.suppress(TelegramBadRequest):  # "not modified": the page is as it was
            await message.edit_text(text, reply_markup=markup)
    elif message is not None:  # too old for Telegram to edit: a fresh listing in the same chat
        await bot.send_message(message.chat.id, text, reply_markup=markup)


async def _queue_page(
    staff: Staff, number: int, shown: str, t: Translator, container: Container
) -> tuple[QueuePage, Html, InlineKeyboardMarkup | None]:
    page = await container.officers.queue_page(
        staff, number, QUEUE_PAGE_SIZE, mine=shown == "m", overdue=shown == "o"
    )
    names = {slug: c.name for slug, c in container.kb.communities.items()}
    scope = _queue_scope(shown, staff, t)
    text = queue_listing(page, names, t, container.settings.timezone, container.clock.now(), scope)
    # Nothing waits at all: no buttons to press. Under a filter they lead back to the rest.
    empty = page.total == 0 and shown == "a"
    markup = None if empty else keyboards.queue_pages(t, page.page, page.pages, shown)
    return page, text, markup


def _queue_scope(shown: str, staff: Staff, t: Translator) -> Html:
    if shown == "m":
        return t("queue_scope_mine", officer=staff.name)
    if shown == "o":
        return t("queue_scope_overdue")
    return Html("")


async def added_to_group(event: ChatMemberUpdated, bot: Bot) -> None:
    """Say the group's chat id when the bot joins: that is what officer_chat_id in the community's
    knowledge file needs. Nothing else happens until the file says this group is the officers'."""
    if event.new_chat_member.status not in ("member", "administrator"):
        return
    if event.old_chat_member.status in ("member", "administrator"):
        return  # a change of rights, not an arrival
    await bot.send_message(
        event.chat.id,
        f"您好，我是网上警务室机器人。本群的 chat id 是 <code>{event.chat.id}</code>，"
        "请管理员在社区知识文件中设置 officer_chat_id，并把民警加入名单（policebot officers add）。"
        "提示：在群里请“回复”工单帖子来答复，机器人只看得到命令和对它的回复。",
    )


# ---- refusals ------------------------------------------------------------------------------------


async def anonymous_admin(message: Message) -> None:
    await message.reply(ANONYMOUS)


async def refuse_button(callback: CallbackQuery) -> None:
    await callback.answer(STAFF_ONLY, show_alert=True)


async def refuse_message(message: Message) -> None:
    await message.reply(STAFF_ONLY)


# ---- helpers ---------------------------------------------------------------------------------------


def _card(view: EscalationView, container: Container) -> EscalationCard:
    kb = container.kb
    names = {slug: c.name for slug, c in kb.communities.items()}
    titles = {c: kb.entries[c].title for c in view.candidates if c in kb.entries}
    return EscalationCard.from_view(view, names, titles, container.settings.timezone)


async def _refresh(callback: CallbackQuery, view: EscalationView, container: Container) -> None:
    if isinstance(callback.message, Message):
        markup = keyboards.escalation_actions(view.escalation.id, view.escalation.status)
        with contextlib.suppress(TelegramBadRequest):  # "not modified" on a double tap
            await callback.message.edit_text(escalation_post(_card(view, container)), reply_markup=markup)


async def _set_markup(callback: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=markup)


async def _conflict_text(staff: Staff, x: int, container: Container) -> str:
    """Who owns the ticket now, politely: the loser of a claim race learns whom to talk to."""
    try:
        e = (await container.officers.view(staff, x)).escalation
    except (PermissionDenied, NotFoundError):
        return "工单状态已变化，请刷新后再试。"
    if e.status is EscalationStatus.CLOSED:
        return f"工单 {e.ticket} 已办结。"
    if e.officer and e.officer_id != staff.id:
        return f"工单 {e.ticket} 已由{e.officer}认领（首问负责），如需协助请与其联系。"
    return f"工单 {e.ticket} 当前状态：{STATUS_ZH[e.status]}。"


def _refusal(exc: BaseException) -> str:
    if isinstance(exc, PermissionDenied):
        return "您不负责这个社区的工单。"
    if isinstance(exc, NotFoundError):
        return "工单不存在或已被删除。"
    if isinstance(exc, LookupError):
        return "没有这个社区。"
    return str(exc) or "操作未完成。"
