"""What the bot says, in Chinese (the default) and English.

A dictionary catalogue rather than gettext: aiogram's i18n needs Babel, which the project does not
depend on. Every key has both languages (a test checks that, and that the placeholders agree), so
moving to .po files later is a mechanical export. Templates are HTML; arguments are escaped when
filled in unless they are `Html` already, so user text can never inject markup.

Knowledge entries stay in Chinese: they are the bureau's official wording. English covers the
bot's own words, the menu and the labels around the entries.
"""

from __future__ import annotations

import html
from typing import Any

from bot.channels.telegram.markup import Html

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

SECTION_EN = {
    "警务公开": "Police affairs",
    "法律法规": "Laws",
    "防范指南": "Safety guides",
    "为您服务": "Services",
}
CATEGORY_EN = {
    "户政": "Household registration",
    "身份证": "ID card",
    "居住证": "Residence permit",
    "出入境": "Exit & entry",
    "车驾管": "Vehicles & licences",
    "交通管理": "Traffic",
    "治安": "Public order",
    "消防": "Fire safety",
    "网安": "Cyber security",
    "禁毒": "Drug control",
    "反诈": "Anti-fraud",
    "报警求助": "Emergencies",
    "政务公开": "Disclosure",
    "社区警务": "Community policing",
}

CATALOGUE: dict[str, dict[str, str]] = {
    # ---- onboarding and settings
    "welcome": {
        "zh": "您好，欢迎来到<b>网上警务室</b>。请先选择您所在的城区和社区，我会按您社区的实际情况解答。",
        "en": "Welcome to the <b>online police room</b>. Please choose your district and community first, "
        "so that answers fit where you live.",
    },
    "pick_district": {"zh": "请选择您所在的城区：", "en": "Choose your district:"},
    "pick_community": {"zh": "{district}：请选择您的社区：", "en": "{district}: choose your community:"},
    "community_set": {
        "zh": "已为您选择<b>{community}</b>。直接输入您的问题，或从下面的栏目查找。",
        "en": "Your community is now <b>{community}</b>. Type your question, or browse the sections below.",
    },
    "community_current": {
        "zh": "您当前的社区：<b>{community}</b>（发送 /community 可更换）。\n"
        "请直接输入问题，或从下面的栏目查找。",
        "en": "Your community: <b>{community}</b> (send /community to change it).\n"
        "Type your question, or browse the sections below.",
    },
    "community_needed": {
        "zh": "请先选择您所在的社区，我才能按社区的实际情况回答。",
        "en": "Please choose your community first, so that I can answer for where you live.",
    },
    "community_unknown": {
        "zh": "这个社区暂未开通网上警务室，请重新选择。",
        "en": "That community has no online police room yet. Please choose again.",
    },
    "lang_pick": {"zh": "请选择语言 / Choose a language:", "en": "Choose a language / 请选择语言:"},
    "lang_set": {
        "zh": "已切换为中文。办事指南内容以中文为准。",
        "en": "Switched to English. Guides stay in Chinese, the bureau's official wording.",
    },
    "help": {
        "zh": "直接输入您想咨询的问题，例如“身份证丢了怎么补办”。\n"
        "/start 主菜单　/community 更换社区　/my 我的咨询　/lang 语言\n"
        "紧急情况请立即拨打 110。",
        "en": "Type your question, e.g. “I lost my ID card”.\n"
        "/start menu  /community change community  /my my questions  /lang language\n"
        "In an emergency call 110 at once.",
    },
    # ---- menu
    "menu": {"zh": "请选择栏目：", "en": "Choose a section:"},
    "menu_section": {"zh": "<b>{section}</b>：请选择分类：", "en": "<b>{section}</b>: choose a category:"},
    "menu_category": {"zh": "<b>{category}</b>：请选择事项：", "en": "<b>{category}</b>: choose a topic:"},
    "menu_empty": {"zh": "这个栏目暂时没有内容。", "en": "Nothing here yet."},
    "btn_back": {"zh": "« 返回", "en": "« Back"},
    "btn_menu": {"zh": "主菜单", "en": "Menu"},
    "btn_full_card": {"zh": "查看完整办事指南", "en": "The whole guide"},
    "btn_more": {"zh": "更多 »", "en": "More »"},
    "btn_my": {"zh": "我的咨询", "en": "My questions"},
    "entry_gone": {
        "zh": "这条内容已更新或不适用于您的社区，请从菜单重新查找。",
        "en": "That item has changed or does not apply to your community. Please look it up again.",
    },
    # ---- answers
    "urgent": {
        "zh": "🚨 <b>紧急情况</b>：如果您或他人正面临危险，请<b>立即拨打 110</b>"
        "（不方便通话可发短信到 12110），火警拨 119，急救拨 120。请先确保自身安全，说清地点和情况。",
        "en": "🚨 <b>Emergency</b>: if you or someone else is in danger, <b>call 110 now</b> "
        "(text 12110 if you cannot speak), fire 119, ambulance 120. Get safe first, then say where and what.",
    },
    "urgent_kind": {"zh": "🚨 <b>{guidance}</b>", "en": "🚨 <b>{guidance}</b>"},
    "urgent_alerted": {
        "zh": "已同时通知<b>{community}</b>的民警（{officers}）和值班民警，他们会尽快与您联系。"
        "请先按上面的提示拨打电话求助。",
        "en": "The officers of <b>{community}</b> ({officers}) and the duty officers have been alerted "
        "and will contact you. Please call the number above first.",
    },
    "empty": {
        "zh": "没有看懂您的消息。请用一两句话描述您想咨询的事情，例如：“身份证丢了怎么补办？”",
        "en": "I could not find words in that. Please describe what you need in a sentence or two, "
        "e.g. “How do I replace a lost ID card?”",
    },
    "truncated": {
        "zh": "您的消息很长，我先按开头部分为您解答；细节可以转给社区民警。",
        "en": "Your message is long: I answered from its beginning. The details can go to the officers.",
    },
    "clarify": {"zh": "您想问的是下面哪一项？请点选：", "en": "Which of these do you mean? Tap one:"},
    "btn_none": {"zh": "都不是，转民警", "en": "None of these: ask an officer"},
    "escalated": {
        "zh": "这个问题我暂时答不好，已转给<b>{community}</b>的民警（{officers}）。",
        "en": "I cannot answer this well, so I passed it to the officers of <b>{community}</b> ({officers}).",
    },
    "held": {
        "zh": "您近期的几条留言已被民警标记为无效信息，这个问题暂时不转交民警。"
        "确有事情要办，请到<b>{community}</b>警务室当面或电话咨询{phone}；遇到紧急情况请直接拨打 110。",
        "en": "Several of your recent messages were marked as not genuine by the officers, so this question "
        "is not passed on for now. If you do need help, contact the <b>{community}</b> police room{phone}; "
        "in an emergency call 110.",
    },
    "escalated_referral": {
        "zh": "您问的“{title}”一般不属于公安业务，通常由{handled_by}办理。"
        "按首问负责制，我也已把问题转给<b>{community}</b>的民警（{officers}），他们会帮您确认去向。",
        "en": "“{title}” is usually handled by {handled_by}, not the police. "
        "I also passed it to the officers of <b>{community}</b> ({officers}); "
        "they will tell you where to go.",
    },
    "ticket": {"zh": "工单号：<b>{ticket}</b>", "en": "Ticket: <b>{ticket}</b>"},
    "suggestion": {
        "zh": "等待答复时，您可以先看看可能相关的办事指南：“{title}”",
        "en": "While you wait, this guide may already help: “{title}”",
    },
    "due": {
        "zh": "预计答复时间：{due} 前（首问负责、限时办结）。答复会发到这里。",
        "en": "Expected answer by {due} (local time). The answer will arrive in this chat.",
    },
    "officers_default": {"zh": "社区民警", "en": "community officers"},
    "btn_useful": {"zh": "👍 有用", "en": "👍 Useful"},
    "btn_not_useful": {"zh": "👎 没用", "en": "👎 Not useful"},
    "thanks_rating": {"zh": "谢谢您的评价！", "en": "Thank you for your feedback!"},
    "rating_not_useful": {
        "zh": "抱歉没能帮到您。可以换个说法再问，或直接说明情况，我会转给社区民警。",
        "en": "Sorry that did not help. Try other words, or describe your situation and I will pass it on.",
    },
    "stale_button": {
        "zh": "这个按钮已失效，请重新提问。",
        "en": "This button has expired. Please ask again.",
    },
    # ---- officer answers to residents
    "officer_answer": {
        "zh": "📮 <b>民警答复</b>（工单 {ticket}）\n您的问题：{question}\n\n{answer}\n\n"
        "—— {officer}，{community}",
        "en": "📮 <b>Officer's answer</b> (ticket {ticket})\nYour question: {question}\n\n{answer}\n\n"
        "— {officer}, {community}",
    },
    "rate_officer": {
        "zh": "请您对这次答复作出评价：",
        "en": "Please rate this answer:",
    },
    "btn_satisfied": {"zh": "满意", "en": "Satisfied"},
    "btn_basically": {"zh": "基本满意", "en": "Mostly satisfied"},
    "btn_unsatisfied": {"zh": "不满意", "en": "Unsatisfied"},
    # ---- /my
    "my_none": {"zh": "您还没有转给民警的咨询。", "en": "You have no questions with the officers."},
    "my_heading": {
        "zh": "<b>我的咨询</b>（最近 {count} 条）：",
        "en": "<b>My questions</b> (latest {count}):",
    },
    "my_item": {
        "zh": "<b>{ticket}</b> · {status}\n问：{question}",
        "en": "<b>{ticket}</b> · {status}\nQ: {question}",
    },
    "my_answer": {"zh": "答：{answer}", "en": "A: {answer}"},
    "status_open": {"zh": "待认领", "en": "waiting"},
    "status_claimed": {"zh": "办理中", "en": "in progress"},
    "status_answered": {"zh": "已答复", "en": "answered"},
    "status_closed": {"zh": "已办结", "en": "closed"},
    # ---- inputs the bot cannot read
    "only_text": {
        "zh": "抱歉，我目前只能阅读文字消息。请用文字描述您的问题；如需提交材料，请到社区警务室办理。",
        "en": "Sorry, I can only read text. Please describe your question in words; "
        "documents are handled at the community police office.",
    },
    "edited": {
        "zh": "我看到您修改了消息。修改不会重新提问，请把修改后的问题再发一次。",
        "en": "I saw you edited a message. Edits are not re-asked: please send the new question again.",
    },
    "slow_down": {
        "zh": "您发送得太快了，请稍等几秒再发。紧急情况请直接拨打 110。",
        "en": "You are sending too fast; please wait a few seconds. In an emergency call 110.",
    },
    "error": {
        "zh": "抱歉，系统暂时出了点问题，请稍后再试。紧急情况请直接拨打 110。",
        "en": "Sorry, something went wrong. Please try again later. In an emergency call 110.",
    },
    # ---- officers' /queue (the groups work in Chinese; English keeps the catalogue whole)
    "queue_empty": {"zh": "没有待办工单。", "en": "No tickets are waiting."},
    "queue_heading": {
        "zh": "<b>待办工单</b>{scope}：共 {total} 件，第 {page}/{pages} 页",
        "en": "<b>Waiting tickets</b>{scope}: {total} in all, page {page}/{pages}",
    },
    "queue_scope_mine": {"zh": "（{officer}认领的）", "en": " (claimed by {officer})"},
    "queue_scope_overdue": {"zh": "（已超时）", "en": " (overdue)"},
    "queue_item": {
        "zh": "{urgent}<b>{ticket}</b> · {community} · {status}{officer} · 限时 {due}{overdue}\n{question}",
        "en": "{urgent}<b>{ticket}</b> · {community} · {status}{officer} · due {due}{overdue}\n{question}",
    },
    "queue_urgent": {"zh": "🚨<b>紧急·{kind}</b> ", "en": "🚨<b>Urgent·{kind}</b> "},
    "queue_officer": {"zh": "（{officer}）", "en": " ({officer})"},
    "queue_overdue": {"zh": " ⏰<b>已超时</b>", "en": " ⏰<b>overdue</b>"},
    "queue_last_page": {
        "zh": "工单已有变化，显示的是最后一页。",
        "en": "Tickets have changed: this is the last page now.",
    },
    "btn_previous": {"zh": "« 上一页", "en": "« Previous"},
    "btn_next": {"zh": "下一页 »", "en": "Next »"},
    "btn_page": {"zh": "第 {page}/{pages} 页", "en": "Page {page}/{pages}"},
    "btn_queue_all": {"zh": "全部待办", "en": "All waiting"},
    "btn_queue_mine": {"zh": "只看我的", "en": "Mine only"},
    "btn_queue_overdue": {"zh": "只看超时", "en": "Overdue only"},
    "staff_only": {
        "zh": "这个功能仅限名单内的民警和管理员使用。",
        "en": "This is for listed officers and admins only.",
    },
}

LABELS_EN = {
    "谁可以办": "Who can apply",
    "需要带的材料（请一次备齐）": "What to bring (all at once)",
    "办理步骤": "Steps",
    "办理地点": "Where",
    "收费": "Fees",
    "办理时限": "Time limit",
    "法律依据": "Legal basis",
    "温馨提示": "Tips",
    "信息核对日期：{date}，具体以当地公安最新公布为准": (
        "Checked on {date}; the local police's latest notice prevails"
    ),
}


class Translator:
    """`t("key", name=value)`: the template in this language, arguments escaped unless `Html`."""

    __slots__ = ("language",)

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: Any) -> Html:
        template = CATALOGUE[key].get(self.language) or CATALOGUE[key][DEFAULT_LANGUAGE]
        if not values:
            return Html(template)
        safe = {k: v if isinstance(v, Html) else html.escape(str(v), quote=False) for k, v in values.items()}
        return Html(template.format(**safe))

    def plain(self, key: str, **values: Any) -> str:
        """For button labels and callback answers, which Telegram shows as plain text."""
        template = CATALOGUE[key].get(self.language) or CATALOGUE[key][DEFAULT_LANGUAGE]
        return template.format(**values) if values else template

    def section(self, name: str) -> str:
        return SECTION_EN.get(name, name) if self.language == "en" else name

    def category(self, name: str) -> str:
        return CATEGORY_EN.get(name, name) if self.language == "en" else name

    def label(self, name: str) -> str:
        return LABELS_EN.get(name, name) if self.language == "en" else name


ZH = Translator("zh")
