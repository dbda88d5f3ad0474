"""Renderers as plain functions: escaping, splitting at 4,096 characters, callback sizes, texts."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.telegram import keyboards
from bot.channels.telegram.callbacks import (
    MAX_CALLBACK_BYTES,
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
    SatisfactionCb,
    SectionCb,
    Signer,
    entry_token,
    resolve_entry_token,
)
from bot.channels.telegram.markup import MESSAGE_LIMIT, escape, split_html, utf16_len
from bot.channels.telegram.render import (
    EscalationCard,
    entry_card,
    escalation_post,
    my_questions,
    officer_answer,
    reply_messages,
)
from bot.channels.telegram.texts import CATALOGUE, LANGUAGES, Translator
from bot.core.knowledge import KnowledgeBase
from bot.core.models import (
    Answer,
    Channel,
    Escalation,
    EscalationStatus,
    EscalationView,
    Outcome,
    ResidentRef,
)
from bot.core.replies import Reply

ZH, EN = Translator("zh"), Translator("en")
TAG_RE = re.compile(r"</?(\w+)[^>]*>")


def balanced(html: str) -> bool:
    stack: list[str] = []
    for match in TAG_RE.finditer(html):
        name = match.group(1)
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def visible(html: str) -> str:
    return TAG_RE.sub("", html)


# ---- escaping


def test_user_text_is_escaped_in_every_template(small_kb: KnowledgeBase) -> None:
    nasty = '<script>alert("x")</script> & <b>'
    now = datetime.now(UTC)
    view = EscalationView(
        escalation=Escalation(
            1, 1, "gongyuan", EscalationStatus.ANSWERED, now, now, officer="李<i>", officer_id=1, answer=nasty
        ),
        question=nasty,
        channel=Channel.TELEGRAM,
        resident=ResidentRef(Channel.TELEGRAM, "1"),
        urgent=False,
    )
    card = EscalationCard.from_view(view, {"gongyuan": "公园社区"}, {}, "Asia/Shanghai")
    payload = {
        "ticket": "WJ000001",
        "community": "gongyuan",
        "question": nasty,
        "answer": nasty,
        "officer": nasty,
    }
    for html in (
        escalation_post(card),
        officer_answer(payload, {}, ZH),
        "".join(my_questions([view], ZH)),
        ZH("pick_community", district=nasty),
    ):
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "&amp;" in html
        assert balanced(html)


def test_html_marker_is_not_escaped_twice() -> None:
    assert ZH("ticket", ticket=escape("<1>")) == "工单号：<b>&lt;1&gt;</b>"
    assert ZH("ticket", ticket="<1>") == "工单号：<b>&lt;1&gt;</b>"


def test_entry_card_shows_every_field(small_kb: KnowledgeBase) -> None:
    entry = small_kb.entry_for("gongyuan", "idcard.lost")
    entry = replace(
        entry,
        answer=Answer(
            summary="概要<1>",
            who="本人",
            materials=("户口簿",),
            steps=("取号", "拍照"),
            where="窗口",
            fees="40元",
            time_limit="20天",
            legal_basis="第十一条",
            tips=("带齐",),
        ),
    )
    card = entry_card(entry, ZH)
    expected = ("概要&lt;1&gt;", "本人", "户口簿", "1. 取号", "2. 拍照", "窗口", "40元", "20天")
    for text in (*expected, "第十一条", "带齐"):
        assert text in card
    assert "信息核对日期" in card and balanced(card)
    assert "What to bring" in entry_card(entry, EN)


# ---- splitting


def test_long_entry_card_splits_between_paragraphs(small_kb: KnowledgeBase) -> None:
    entry = small_kb.entry_for("gongyuan", "idcard.lost")
    steps = tuple(f"第{i}步：" + "请按窗口工作人员的指引填写申请表并核对信息。" * 3 for i in range(120))
    entry = replace(entry, answer=replace(entry.answer, steps=steps, tips=("最后一条提示",)))
    reply = Reply(Outcome.ANSWER, small_kb.community("gongyuan"), 90.0, False, 1, entry=entry)
    chunks = reply_messages(reply, ZH, "Asia/Shanghai")
    assert len(chunks) > 1
    assert all(utf16_len(c) <= MESSAGE_LIMIT for c in chunks)
    assert all(balanced(c) for c in chunks)
    # Every chunk ends at a line break of the original: no step is cut in the middle.
    whole = visible("\n\n".join(reply_messages(replace(reply), ZH, "Asia/Shanghai")))
    for chunk in chunks:
        assert visible(chunk) in whole
    assert "最后一条提示" in chunks[-1]


def test_short_text_is_one_chunk() -> None:
    assert split_html("<b>x</b>") == ["<b>x</b>"]


def test_a_paragraph_longer_than_a_message_is_cut_with_tags_reopened() -> None:
    text = "<b>" + "警" * 5000 + "</b>\n\n" + "尾"
    chunks = split_html(text)
    assert len(chunks) >= 2
    assert all(utf16_len(c) <= MESSAGE_LIMIT and balanced(c) for c in chunks)
    assert "".join(visible(c) for c in chunks).replace("\n", "") == "警" * 5000 + "尾"


def test_entities_are_never_cut() -> None:
    text = "&amp;" * 2000
    chunks = split_html(text, limit=101)
    assert all(re.fullmatch(r"(&amp;)+", c) for c in chunks)
    assert "".join(chunks) == text


def test_emoji_count_twice() -> None:
    chunks = split_html("😀" * 3000)
    assert all(utf16_len(c) <= MESSAGE_LIMIT for c in chunks)
    assert len(chunks) == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(), st.text(alphabet=string.ascii_letters + "警务 &<>\n", min_size=0, max_size=300)
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=60, max_value=600),
)
def test_split_keeps_text_and_limits(parts: list[tuple[bool, str]], limit: int) -> None:
    html = "\n\n".join(f"<b>{escape(t)}</b>" if bold else escape(t) for bold, t in parts)
    chunks = split_html(html, limit)
    assert all(utf16_len(c) <= limit for c in chunks)
    assert all(balanced(c) for c in chunks)
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", "".join(visible(c) for c in chunks)) == squeeze.sub("", visible(html))


# ---- callback data


def test_every_callback_fits_in_64_bytes(small_kb: KnowledgeBase, shipped_kb: KnowledgeBase) -> None:
    signer = Signer("secret")
    big = 2**63 - 1
    sig = signer.sign(big, "r", big, 2)
    samples = [
        DistrictCb(i=999),
        SectionCb(s=3),
        CategoryCb(s=3, c=13, p=99),
        MenuCb(to="community"),
        LanguageCb(lang="zh"),
        NoneOfTheseCb(q=big, sig=sig),
        HelpfulCb(q=big, v=1, sig=sig),
        SatisfactionCb(x=big, v=2, sig=sig),
        EscalationCb(a="k", x=big),
    ]
    for kb in (small_kb, shipped_kb):
        samples += [CommunityCb(slug=slug) for slug in kb.communities]
        samples += [HandOverCb(x=big, to=slug) for slug in kb.communities]
        samples += [EntryCb(e=entry_token(eid), s=3, c=13) for eid in kb.entries]
        samples += [PickCb(e=entry_token(eid)) for eid in kb.entries]
    for data in samples:
        assert len(data.pack().encode()) <= MAX_CALLBACK_BYTES, data


def test_long_entry_ids_become_tokens() -> None:
    long_id = "chengzhong-gongyuan.d" + "9" * 40
    token = entry_token(long_id)
    assert token.startswith("~") and len(EntryCb(e=token, s=3, c=13).pack().encode()) <= MAX_CALLBACK_BYTES
    assert resolve_entry_token(token, ["idcard.lost", long_id]) == long_id
    assert resolve_entry_token(token, ["idcard.lost"]) is None
    assert entry_token("idcard.lost") == "idcard.lost"


def test_keyboards_built_for_the_shipped_knowledge_pack(shipped_kb: KnowledgeBase) -> None:
    # pack() raises for data over 64 bytes, so building every keyboard is itself the check.
    for district in keyboards.districts(shipped_kb):
        keyboards.community_picker(shipped_kb, district, ZH)
    slug = next(iter(shipped_kb.communities))
    entries = shipped_kb.entries_for(slug)
    for s in range(4):
        keyboards.category_picker(EN, s, entries)
        for c in range(14):
            keyboards.entry_picker(ZH, s, c, entries, 0)
    keyboards.hand_over_targets(shipped_kb, 2**31, slug)


def test_signatures_bind_user_and_values() -> None:
    signer = Signer("secret")
    sig = signer.sign(1001, "u", 5, 1)
    assert len(sig) == 8 and ":" not in sig
    assert signer.valid(sig, 1001, "u", 5, 1)
    assert not signer.valid(sig, 1002, "u", 5, 1)
    assert not signer.valid(sig, 1001, "u", 6, 1)
    assert not Signer("other").valid(sig, 1001, "u", 5, 1)


def test_forged_signatures_of_any_text_are_simply_invalid() -> None:
    signer = Signer("secret")
    for forged in ("签名签名签名签名", "é" * 8, "\ud800" * 8, "", signer.sign(1001, "u", 5, 1) + "é"):
        assert not signer.valid(forged, 1001, "u", 5, 1), forged


# ---- texts


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_text_has_both_languages_with_the_same_placeholders(key: str) -> None:
    field_names = [
        {name for _, name, _, _ in string.Formatter().parse(CATALOGUE[key][lang]) if name}
        for lang in LANGUAGES
    ]
    assert all(lang in CATALOGUE[key] for lang in LANGUAGES)
    assert all(names == field_names[0] for names in field_names)
    for lang in LANGUAGES:
        assert balanced(CATALOGUE[key][lang])


def test_unknown_language_falls_back_to_chinese() -> None:
    assert Translator("fr").language == "zh"


def test_officers_post_shows_candidate_probabilities_and_reads_old_payloads() -> None:
    from bot.channels.telegram.render import EscalationCard, escalation_post

    new = EscalationCard.from_payload(
        {
            "ticket": "WJ000007",
            "community": "gongyuan",
            "question": "<b>问</b>",
            "urgent": True,
            "urgent_kind": "fraud",
            "candidates": [{"title": "反诈<提示>", "score": 61.4}, {"title": "无分数", "score": None}],
        },
        {"gongyuan": "公园社区"},
    )
    text = escalation_post(new)
    assert "紧急 · 正在被骗/刚转账" in text and "反诈&lt;提示&gt;（61%）" in text and "2. 无分数" in text
    assert "&lt;b&gt;问&lt;/b&gt;" in text
    old = EscalationCard.from_payload({"ticket": "WJ1", "candidates": ["居民身份证丢失补领"]}, {})
    assert "1. 居民身份证丢失补领" in escalation_post(old)


def test_officers_post_shows_the_conversation_before_the_question_escaped() -> None:
    from bot.channels.telegram.render import EARLIER_SHOWN, EscalationCard, escalation_post

    earlier = [f"第{n}句" for n in range(6)] + ["<i>护照</i>怎么办"]
    card = EscalationCard.from_payload(
        {"ticket": "WJ000008", "community": "gongyuan", "question": "那在哪办", "earlier": earlier}, {}
    )
    text = escalation_post(card)
    assert text.index("此前的对话") < text.index("那在哪办")
    assert "&lt;i&gt;护照&lt;/i&gt;怎么办" in text and "第0句" not in text  # only the last few
    assert len(card.earlier) == EARLIER_SHOWN
    assert "此前的对话" not in escalation_post(EscalationCard.from_payload({"ticket": "WJ1"}, {}))


def test_an_escalation_points_to_its_likeliest_guide_with_one_button(small_kb: KnowledgeBase) -> None:
    from bot.core.replies import Choice

    place = small_kb.communities["gongyuan"]
    guide = Choice("idcard.lost", "居民身份证<丢失>补领", 64.0)
    reply = Reply(Outcome.ESCALATE, place, 64.0, False, 1, ticket="WJ000001", suggestion=guide)
    html = "".join(reply_messages(reply, ZH, "Asia/Shanghai"))
    assert "居民身份证&lt;丢失&gt;补领" in html and "WJ000001" in html and balanced(html)
    markup = keyboards.suggested_entry(reply)
    assert markup is not None
    (only,) = [b for row in markup.inline_keyboard for b in row]
    assert PickCb.unpack(only.callback_data).e == entry_token("idcard.lost")
    assert keyboards.suggested_entry(replace(reply, suggestion=None)) is None
