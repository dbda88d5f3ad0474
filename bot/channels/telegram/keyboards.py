"""Inline keyboards. Button labels are plain text (Telegram does not parse HTML in them).

Built as plain InlineKeyboardMarkup rather than with aiogram's InlineKeyboardBuilder: the builder
validates and copies every button again, which cost a fifth of a millisecond per reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram.callbacks import (
    CategoryCb,
    CommunityCb,
    DistrictCb,
    EntryCb,
    EscalationCb,
    HandOverCb,
    HelpfulCb,
    LanguageCb,
    MenuCb,
    NoneOfTheseCb,
    PickCb,
    QueueCb,
    SatisfactionCb,
    SectionCb,
    Signer,
    entry_token,
)
from bot.channels.telegram.markup import shorten
from bot.channels.telegram.texts import Translator
from bot.core.knowledge import KnowledgeBase
from bot.core.models import CATEGORIES, SECTIONS, Entry, EscalationStatus, Satisfaction
from bot.core.replies import Choice, Reply

ENTRIES_PER_PAGE = 8
# The /queue filters (QueueCb.f) and the label of the button that turns each one on.
QUEUE_FILTERS = {"a": "btn_queue_all", "m": "btn_queue_mine", "o": "btn_queue_overdue"}
# Buttons show about 30 characters on a phone before Telegram cuts them with an ellipsis anyway.
LABEL_CHARS = 30
SATISFACTION_ORDER = (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.UNSATISFIED)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def markup(*groups: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for group in groups for row in group if row])


def districts(kb: KnowledgeBase) -> list[str]:
    return sorted({c.district for c in kb.communities.values()})


def district_picker(kb: KnowledgeBase) -> InlineKeyboardMarkup:
    return markup(rows([button(name, DistrictCb(i=i)) for i, name in enumerate(districts(kb))], 3))


def community_picker(kb: KnowledgeBase, district: str, t: Translator) -> InlineKeyboardMarkup:
    places = sorted((c for c in kb.communities.values() if c.district == district), key=lambda c: c.slug)
    choices = [button(place.name, CommunityCb(slug=place.slug)) for place in places]
    return markup(rows(choices, 2), [[button(t.plain("btn_back"), MenuCb(to="community"))]])


def main_menu(t: Translator) -> InlineKeyboardMarkup:
    sections = [button(t.section(name), SectionCb(s=i)) for i, name in enumerate(SECTIONS)]
    return markup(rows(sections, 2), [[button(t.plain("btn_my"), MenuCb(to="my"))]])


def category_picker(t: Translator, section: int, entries: Sequence[Entry]) -> InlineKeyboardMarkup:
    present = {e.category for e in entries if e.section == SECTIONS[section]}
    choices = [
        button(t.category(category), CategoryCb(s=section, c=c))
        for c, category in enumerate(CATEGORIES)
        if category in present
    ]
    return markup(rows(choices, 2), [[button(t.plain("btn_back"), MenuCb(to="menu"))]])


def entry_picker(
    t: Translator, section: int, category: int, entries: Sequence[Entry], page: int
) -> InlineKeyboardMarkup:
    start = page * ENTRIES_PER_PAGE
    shown = entries[start : start + ENTRIES_PER_PAGE]
    choices = [
        button(shorten(e.title, LABEL_CHARS), EntryCb(e=entry_token(e.id), s=section, c=category))
        for e in shown
    ]
    nav = [button(t.plain("btn_back"), SectionCb(s=section))]
    if start + ENTRIES_PER_PAGE < len(entries):
        nav.append(button(t.plain("btn_more"), CategoryCb(s=section, c=category, p=page + 1)))
    return markup(rows(choices, 1), [nav])


def answer_actions(
    t: Translator,
    consultation_id: int | None,
    user_id: int,
    signer: Signer,
    back: tuple[int, int] | None = None,
    full_card: str | None = None,
) -> InlineKeyboardMarkup:
    """Rate the answer, go back or to the menu; `full_card`: the entry whose whole card one tap opens
    (the reply showed only the part asked for)."""
    more = [button(t.plain("btn_full_card"), PickCb(e=entry_token(full_card)))] if full_card else []
    ratings = []
    if consultation_id is not None:
        for value, key in ((1, "btn_useful"), (0, "btn_not_useful")):
            sig = signer.sign(user_id, "u", consultation_id, value)
            ratings.append(button(t.plain(key), HelpfulCb(q=consultation_id, v=value, sig=sig)))
    nav = [button(t.plain("btn_back"), CategoryCb(s=back[0], c=back[1]))] if back is not None else []
    nav.append(button(t.plain("btn_menu"), MenuCb(to="menu")))
    return markup([more], [ratings], [nav])


def clarify_choices(t: Translator, reply: Reply, user_id: int, signer: Signer) -> InlineKeyboardMarkup:
    choices = [_pick_button(c) for c in reply.choices]
    none: list[InlineKeyboardButton] = []
    if reply.consultation_id is not None:
        q = reply.consultation_id
        none.append(button(t.plain("btn_none"), NoneOfTheseCb(q=q, sig=signer.sign(user_id, "n", q))))
    return markup(rows(choices, 1), [none])


def suggested_entry(reply: Reply) -> InlineKeyboardMarkup | None:
    """One tap to the guide an escalated question is likeliest about (Reply.suggestion)."""
    return None if reply.suggestion is None else markup([[_pick_button(reply.suggestion)]])


def _pick_button(choice: Choice) -> InlineKeyboardButton:
    """An entry offered by title, opened with one tap as a pick."""
    return button(shorten(choice.title, LABEL_CHARS), PickCb(e=entry_token(choice.entry_id)))


def satisfaction(t: Translator, escalation_id: int, signer: Signer, user_id: int) -> InlineKeyboardMarkup:
    keys = ("btn_satisfied", "btn_basically", "btn_unsatisfied")
    votes = [
        button(
            t.plain(key),
            SatisfactionCb(x=escalation_id, v=v, sig=signer.sign(user_id, "r", escalation_id, v)),
        )
        for v, key in enumerate(keys)
    ]
    return markup([votes])


def languages() -> InlineKeyboardMarkup:
    return markup([[button("中文", LanguageCb(lang="zh")), button("English", LanguageCb(lang="en"))]])


def escalation_actions(escalation_id: int, status: EscalationStatus | None) -> InlineKeyboardMarkup:
    """Officers' buttons for the state the ticket is in (None: unknown, offer everything).
    存为知识 stays to the end: a closed ticket's answer is still worth keeping."""
    open_ = status in (None, EscalationStatus.OPEN)
    working = open_ or status is EscalationStatus.CLAIMED
    actions = [
        ("c", "认领", open_),
        ("a", "答复", working or status is EscalationStatus.ANSWERED),
        ("h", "转交", working),
        ("z", "办结", status is not EscalationStatus.CLOSED),
        ("k", "存为知识", True),
    ]
    shown = [button(label, EscalationCb(a=action, x=escalation_id)) for action, label, ok in actions if ok]
    return markup(rows(shown[:2], 2), rows(shown[2:], 3)) if open_ else markup(rows(shown, 3))


def close_reasons(escalation_id: int) -> InlineKeyboardMarkup:
    """Closing a ticket without an answer: the reasons that need no note (the others need words,
    given in the web console or as an answer)."""
    return markup(
        [
            [
                button("重复提问", EscalationCb(a="zd", x=escalation_id)),
                button("无效信息", EscalationCb(a="zs", x=escalation_id)),
            ],
            [button("返回", EscalationCb(a="zx", x=escalation_id))],
        ]
    )


def hand_over_targets(kb: KnowledgeBase, escalation_id: int, current: str) -> InlineKeyboardMarkup:
    places = sorted(kb.communities.values(), key=lambda c: (c.district, c.slug))
    targets = [
        button(f"{place.district}·{place.name}", HandOverCb(x=escalation_id, to=place.slug))
        for place in places
        if place.slug != current
    ]
    return markup(rows(targets, 2), [[button("取消", HandOverCb(x=escalation_id, to="-"))]])


def queue_pages(t: Translator, page: int, pages: int, shown: str) -> InlineKeyboardMarkup:
    """Paging under a /queue listing: « 上一页 · 第 n/m 页 · 下一页 », then the other filters. The page
    button reloads the page shown, so an officer can refresh without typing /queue again."""
    nav = [button(t.plain("btn_page", page=page, pages=pages), QueueCb(p=page, f=shown))]
    if page > 1:
        nav.insert(0, button(t.plain("btn_previous"), QueueCb(p=page - 1, f=shown)))
    if page < pages:
        nav.append(button(t.plain("btn_next"), QueueCb(p=page + 1, f=shown)))
    # Another filter starts again at its first page: page n of one list is unrelated to page n of another.
    others = [
        button(t.plain(label), QueueCb(p=1, f=code)) for code, label in QUEUE_FILTERS.items() if code != shown
    ]
    return markup([nav], [others])
