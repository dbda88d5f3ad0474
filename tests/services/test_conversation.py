"""A resident's conversation through the ask service: follow-ups, picks, several questions, and the
context staying with its own resident, community and half hour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.models import Channel, Outcome, ResidentRef
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def container(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Container]:
    settings = Settings(database_url=database_url, knowledge_dir=FIXTURE_KB, data_dir=tmp_path / "data")
    container = await build_container(settings, clock=clock)
    yield container
    await container.close()


ANNA = ResidentRef(Channel.WEB, "anna")
BORIS = ResidentRef(Channel.WEB, "boris")


async def say(
    container: Container,
    text: str,
    *,
    who: ResidentRef = ANNA,
    community: str = "gongyuan",
    conversation: str | None = "page-1",
):
    return await container.ask.ask(community, who, text, Channel.WEB, conversation)


async def test_a_follow_up_asks_about_the_entry_in_the_conversation(container: Container) -> None:
    first = await say(container, "身份证丢了怎么补办")
    assert (first.outcome, first.entry_id, first.from_context) == (Outcome.ANSWER, "idcard.lost", False)
    fee = await say(container, "要多少钱")
    assert (fee.outcome, fee.entry_id, fee.field, fee.from_context) == (
        Outcome.ANSWER,
        "idcard.lost",
        "fees",
        True,
    )
    where = await say(container, "在哪里办呢")
    assert (where.entry_id, where.field) == ("idcard.lost", "where")


async def test_the_part_asked_for_comes_first_then_the_whole_card(container: Container) -> None:
    from bot.core.replies import render_plain

    await say(container, "身份证丢了怎么补办")
    text = render_plain(await say(container, "要多少钱"))
    assert text.index("每证40元") < text.index("完整的办事指南")
    assert text.startswith("【居民身份证丢失补领 · 收费】")


async def test_without_a_conversation_or_context_a_follow_up_is_never_guessed(container: Container) -> None:
    await say(container, "身份证丢了怎么补办", conversation=None)
    alone = await say(container, "要多少钱", conversation=None)
    assert alone.outcome is not Outcome.ANSWER and not alone.from_context
    fresh = await say(container, "要多少钱", conversation="page-2")
    assert fresh.outcome is not Outcome.ANSWER


async def test_context_stays_with_its_resident_and_community(container: Container) -> None:
    await say(container, "身份证丢了怎么补办")
    other = await say(container, "要多少钱", who=BORIS)  # the same conversation id, another resident
    assert other.outcome is not Outcome.ANSWER
    elsewhere = await say(container, "要多少钱", community="hexi")
    assert elsewhere.outcome is not Outcome.ANSWER


async def test_context_expires_after_half_an_hour_of_silence(container: Container, clock: Clock) -> None:
    await say(container, "身份证丢了怎么补办")
    clock.at += timedelta(minutes=31)
    assert (await say(container, "要多少钱")).outcome is not Outcome.ANSWER


async def test_a_follow_up_after_a_list_asks_about_the_list_not_the_earlier_answer(
    container: Container,
) -> None:
    assert (await say(container, "身份证到期了怎么换")).entry_id == "idcard.renew"
    listed = await say(container, "身份证")
    assert listed.outcome is Outcome.CLARIFY
    fee = await say(container, "要多少钱")
    assert fee.outcome is Outcome.CLARIFY and fee.entry_id is None
    assert [c.entry_id for c in fee.choices] == [c.entry_id for c in listed.choices]


async def test_a_detail_handed_to_the_officers_keeps_the_matter_a_new_matter_does_not(
    container: Container,
) -> None:
    assert (await say(container, "身份证到期了怎么换")).entry_id == "idcard.renew"
    detail = await say(container, "我在外省上学 一时半会回不去")
    assert detail.outcome is Outcome.ESCALATE
    fee = await say(container, "要多少钱")
    assert (fee.outcome, fee.entry_id, fee.field, fee.from_context) == (
        Outcome.ANSWER,
        "idcard.renew",
        "fees",
        True,
    )
    # Another matter handed over (another body's): the old one is no longer in reach.
    await say(container, "身份证到期了怎么换", conversation="new-matter")
    assert (await say(container, "家里停电了找谁", conversation="new-matter")).outcome is Outcome.ESCALATE
    assert (await say(container, "要多少钱", conversation="new-matter")).outcome is not Outcome.ANSWER


async def test_a_topic_of_its_own_wins_over_the_context(container: Container) -> None:
    await say(container, "身份证丢了怎么补办")
    switched = await say(container, "身份证到期了怎么换")
    assert (switched.entry_id, switched.from_context) == ("idcard.renew", False)


async def test_a_demonstrative_after_a_topic_named_points_at_that_topic(container: Container) -> None:
    # "到期那个证" is the document of the matter the message names, not "that document" of the card
    # before: the named topic wins over the demonstrative.
    await say(container, "身份证丢了怎么补办")
    named = await say(container, "还有身份证到期那个证怎么换")
    assert (named.outcome, named.entry_id, named.from_context) == (Outcome.ANSWER, "idcard.renew", False)
    # With no topic of its own, the same demonstrative still points back.
    back = await say(container, "那个证要多少钱")
    assert (back.entry_id, back.field, back.from_context) == ("idcard.renew", "fees", True)


async def test_a_did_you_mean_list_is_answered_by_words(container: Container) -> None:
    listed = await say(container, "身份证")
    assert listed.outcome is Outcome.CLARIFY and len(listed.choices) >= 2
    # A place the list does not have: the same list again, no ticket for the officers.
    beyond = await say(container, f"选{len(listed.choices) + 1}")
    assert (beyond.outcome, beyond.ticket) == (Outcome.CLARIFY, None)
    assert [c.entry_id for c in beyond.choices] == [c.entry_id for c in listed.choices]
    picked = await say(container, "第二个")
    assert (picked.outcome, picked.entry_id) == (Outcome.ANSWER, listed.choices[1].entry_id)

    # A pick that asks its own thing gets that part of the entry it names.
    listed = await say(container, "身份证", conversation="page-2")
    named = next(c for c in listed.choices if c.entry_id == "idcard.lost")
    asked = await say(container, "丢失补领的要带哪些材料", conversation="page-2")
    assert (asked.outcome, asked.entry_id, asked.field) == (Outcome.ANSWER, named.entry_id, "materials")
    assert not asked.from_context  # it names the matter itself
    assert (await say(container, "身份证", conversation="page-4")).outcome is Outcome.CLARIFY
    short = await say(container, "补领要多少钱", conversation="page-4")
    assert (short.entry_id, short.field, short.from_context) == ("idcard.lost", "fees", True)

    again = await say(container, "身份证", conversation="page-3")
    assert again.outcome is Outcome.CLARIFY
    none = await say(container, "都不是", conversation="page-3")
    assert none.outcome is Outcome.ESCALATE and none.ticket is not None
    # The ticket is the listed question's own: the officers read what the resident first asked.
    assert none.consultation_id == again.consultation_id

    # Refusing the list and saying what was meant: that is answered, no ticket for the list.
    await say(container, "身份证", conversation="page-5")
    meant = await say(container, "都不是，我问的是身份证丢了怎么补办", conversation="page-5")
    assert (meant.outcome, meant.entry_id, meant.ticket) == (Outcome.ANSWER, "idcard.lost", None)


async def test_several_questions_in_one_message_are_each_answered(container: Container) -> None:
    reply = await say(container, "身份证丢了怎么补办，顺便问下身份证到期了怎么换")
    assert [(p.outcome, p.entry_id) for p in reply.parts] == [
        (Outcome.ANSWER, "idcard.lost"),
        (Outcome.ANSWER, "idcard.renew"),
    ]
    assert reply.entry_id == "idcard.lost"  # the top level is the first part
    # The conversation continues from the last one.
    assert (await say(container, "要带什么")).entry_id == "idcard.renew"
    # A part handed to the officers leaves the answered matter in the conversation.
    beside = await say(container, "身份证丢了怎么补办，顺便问下公积金咋提取", conversation="page-2")
    assert [p.outcome for p in beside.parts] == [Outcome.ANSWER, Outcome.ESCALATE]
    fee = await say(container, "要多少钱", conversation="page-2")
    assert (fee.entry_id, fee.field, fee.from_context) == ("idcard.lost", "fees", True)
    # Commas part questions too when every clause asks one of its own.
    clauses = await say(container, "身份证丢了怎么补办，身份证到期了怎么换")
    assert [p.entry_id for p in clauses.parts] == ["idcard.lost", "idcard.renew"]


async def test_a_later_question_is_read_without_the_words_that_point_back(container: Container) -> None:
    # 也 and 一起 only point back at the question before: the clause asks about a matter of its own,
    # not about the entry the first one was answered with.
    reply = await say(container, "身份证到期了怎么换 也一起丢了怎么补")
    assert [(p.outcome, p.entry_id) for p in reply.parts] == [
        (Outcome.ANSWER, "idcard.renew"),
        (Outcome.ANSWER, "idcard.lost"),
    ]


async def test_one_part_asked_of_two_matters_is_answered_for_each(container: Container) -> None:
    reply = await say(container, "身份证丢了和身份证到期分别要带什么")
    assert [(p.entry_id, p.field) for p in reply.parts] == [
        ("idcard.lost", "materials"),
        ("idcard.renew", "materials"),
    ]
    # Both sides naming one matter: one question, one answer.
    same = await say(container, "我和我老婆的身份证都丢了要带什么", conversation="other")
    assert not same.parts and same.entry_id == "idcard.lost"


async def test_parts_of_the_matter_in_reach_asked_together_are_each_answered(container: Container) -> None:
    await say(container, "身份证到期了怎么换")
    reply = await say(container, "在哪办 要多少钱 多久能拿到")
    assert [(p.entry_id, p.field, p.from_context) for p in reply.parts] == [
        ("idcard.renew", "where", True),
        ("idcard.renew", "fees", True),
        ("idcard.renew", "time_limit", True),
    ]
    # Without a matter in reach, the same message is no set of questions.
    alone = await say(container, "在哪办 要多少钱 多久能拿到", conversation="new")
    assert not alone.parts and alone.outcome is not Outcome.ANSWER


async def test_a_question_no_entry_answers_goes_to_the_officers_beside_the_answered_one(
    container: Container,
) -> None:
    reply = await say(container, "身份证丢了怎么补办？顺便问下家里停电了找谁")
    assert [(p.outcome, p.entry_id) for p in reply.parts] == [
        (Outcome.ANSWER, "idcard.lost"),
        (Outcome.ESCALATE, None),
    ]
    # A clause that adds a matter of its own with 也 is a question of its own too.
    also = await say(container, "身份证丢了怎么补办 家里也停电了找谁", conversation="also")
    assert [(p.outcome, p.entry_id) for p in also.parts] == [
        (Outcome.ANSWER, "idcard.lost"),
        (Outcome.ESCALATE, None),
    ]
    # Without it, clauses between spaces are one question unless each is answered.
    one = await say(container, "身份证丢了怎么补办 家里停电了找谁", conversation="one")
    assert not one.parts


async def test_a_broken_or_slow_store_costs_the_context_never_the_answer(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.conversations as conversations_module

    class Broken:
        async def load(self, key):
            raise ConnectionError("store down")

        async def save(self, key, state, ttl_seconds):
            await asyncio.sleep(10)

        async def forget(self, key):
            raise ConnectionError("store down")

    monkeypatch.setattr(conversations_module, "CONVERSATION_TIMEOUT", 0.05)
    monkeypatch.setattr(container.ask._memory, "_store", Broken())
    reply = await say(container, "身份证丢了怎么补办")
    assert reply.entry_id == "idcard.lost"
    assert (await say(container, "要多少钱")).outcome is not Outcome.ANSWER


async def test_a_corrupt_state_record_is_ignored(container: Container) -> None:
    import bot.services.conversations as conversations_module

    await say(container, "身份证丢了怎么补办")
    key = conversations_module.conversation_key(Channel.WEB, ANNA, "page-1")
    await container.conversations.save(key, {"community": "gongyuan", "at": "not a time"}, 60)
    assert (await say(container, "要多少钱")).outcome is not Outcome.ANSWER


async def test_officers_see_what_the_resident_said_before_masked(container: Container) -> None:
    await say(container, "身份证丢了怎么补办")
    await say(container, "我的手机号是13812345678，能不能打给我")
    ticket = await say(container, "邻居家的狗天天半夜叫，吵得睡不着")
    assert ticket.outcome is Outcome.ESCALATE and ticket.ticket is not None
    async with container.uow_factory() as uow:
        (view,) = [
            v
            for v in await uow.escalations.for_resident(ANNA, limit=5)
            if v.escalation.ticket == ticket.ticket
        ]
    assert view.earlier[0] == "身份证丢了怎么补办"
    assert "13812345678" not in " ".join(view.earlier) and "138" in view.earlier[1]
    # A question asked alone carries nothing from before.
    alone = await say(container, "邻居家的狗天天半夜叫，吵得睡不着", who=BORIS, conversation=None)
    async with container.uow_factory() as uow:
        (view,) = [
            v
            for v in await uow.escalations.for_resident(BORIS, limit=5)
            if v.escalation.ticket == alone.ticket
        ]
    assert view.earlier == ()


async def test_a_new_matter_told_briefly_is_not_taken_for_a_follow_up(container: Container) -> None:
    await say(container, "身份证丢了怎么补办")
    # Words the knowledge base does not know, a story rather than a question about the card.
    reply = await say(container, "我家楼下的路灯坏了好几天了没人修")
    assert reply.entry_id != "idcard.lost" and not reply.from_context


async def test_the_part_asked_for_carries_through_a_did_you_mean_list(container: Container) -> None:
    listed = await say(container, "身份证")
    assert listed.outcome is Outcome.CLARIFY
    again = await say(container, "要多少钱")  # which one's fee? the same list, the fee remembered
    assert again.outcome is Outcome.CLARIFY and [c.entry_id for c in again.choices] == [
        c.entry_id for c in listed.choices
    ]
    picked = await say(container, "第一个")
    assert (picked.entry_id, picked.field) == (listed.choices[0].entry_id, "fees")
    # Tapping an entry of such a list does the same.
    await say(container, "身份证", conversation="page-9")
    await say(container, "多少钱", conversation="page-9")
    tapped = await container.ask.view_entry(
        "gongyuan", ANNA, listed.choices[1].entry_id, Channel.WEB, "page-9"
    )
    assert tapped.field == "fees"


async def test_a_follow_up_the_matcher_also_reads_as_the_same_entry_comes_from_the_context(
    container: Container,
) -> None:
    await say(container, "身份证丢了怎么补办")
    alone = await say(container, "补办要带什么材料", conversation=None)
    assert (alone.outcome, alone.entry_id) == (Outcome.ANSWER, "idcard.lost")  # the words alone say it
    follow = await say(container, "补办要带什么材料")
    assert (follow.entry_id, follow.field, follow.from_context) == ("idcard.lost", "materials", True)


@pytest.mark.parametrize(
    ("text", "alone", "field"),
    [
        # Generic words only: a follow-up, whatever they match alone.
        ("材料能邮寄吗", "community.office", "materials"),
        # A demonstrative with words of the entry's own title ("这个补领") points back at it.
        ("这个补领网上能办吗", "idcard.renew", "online"),
    ],
)
async def test_a_follow_up_stays_with_the_conversation_whatever_its_words_match_alone(
    container: Container, monkeypatch: pytest.MonkeyPatch, text: str, alone: str, field: str
) -> None:
    await say(container, "身份证丢了怎么补办")
    _reads(monkeypatch, container, {text: alone})
    reply = await say(container, text)
    assert (reply.entry_id, reply.field, reply.from_context) == ("idcard.lost", field, True)


async def test_a_variant_told_briefly_moves_to_the_entry_its_document_and_words_name(
    container: Container,
) -> None:
    first = await say(container, "身份证到期了怎么换")
    assert first.entry_id == "idcard.renew"
    # "要是丢了呢" names no document; read with the card's (身份证) it is the lost-ID entry, a move
    # the conversation made.
    moved = await say(container, "要是丢了呢")
    assert (moved.outcome, moved.entry_id, moved.from_context) == (Outcome.ANSWER, "idcard.lost", True)


async def test_another_bodys_matter_is_not_pulled_into_the_conversation(container: Container) -> None:
    await say(container, "身份证到期了怎么换")
    alone = await say(container, "家里停电了电费在哪交", conversation=None)
    assert alone.reason == "outside police services"
    reply = await say(container, "家里停电了电费在哪交")
    assert reply.outcome is Outcome.ESCALATE and not reply.from_context


async def test_a_follow_up_naming_its_document_is_its_own_question_even_on_the_same_entry(
    container: Container,
) -> None:
    await say(container, "身份证丢了怎么补办")
    detail = await say(container, "补办要带什么材料")  # a part of the matter: from the conversation
    assert (detail.entry_id, detail.from_context) == ("idcard.lost", True)
    named = await say(container, "补领身份证多少钱")  # the matter named again in full
    assert (named.entry_id, named.field, named.from_context) == ("idcard.lost", "fees", False)


def _reads(
    monkeypatch: pytest.MonkeyPatch,
    container: Container,
    answers: dict[str, str],
    offers: dict[str, tuple[str, ...]] | None = None,
    weak: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """The matcher answering exactly `answers` (text → entry), offering `offers` (text → entries, a
    "did you mean"), or `weak` (the same, only the first entry likely) and nothing for anything else."""
    from bot.core.models import Candidate, MatchResult
    from bot.core.understanding.fusion import WEAK_MATCH

    def match(text: str, community: str | None = None) -> MatchResult:
        if text in answers:
            best = Candidate(answers[text], 95.0, text, "question")
            return MatchResult(Outcome.ANSWER, 95.0, (best,), False, text, "clear match")
        if offers and text in offers:
            offered = tuple(Candidate(e, 40.0, e, "title") for e in offers[text])
            return MatchResult(Outcome.CLARIFY, 40.0, offered, False, text, "several close matches")
        if weak and text in weak:
            offered = tuple(
                Candidate(e, 90.0 if n == 0 else 1.0, e, "title") for n, e in enumerate(weak[text])
            )
            return MatchResult(Outcome.CLARIFY, 90.0, offered, False, text, WEAK_MATCH)
        return MatchResult(Outcome.ESCALATE, 0.0, (), False, text, "no confident match")

    monkeypatch.setattr(container.ask._matcher, "match", match)


async def test_a_part_of_the_matter_in_words_of_its_own_is_read_with_the_entrys_name(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await say(container, "身份证到期了怎么换")
    renew = container.kb.entries["idcard.renew"].keywords[0]
    asked, other = "我今年七十了还能自己去不", "小区门禁卡还能补办不"
    _reads(
        monkeypatch,
        container,
        {f"{renew}{asked}": "idcard.renew", f"{renew}{other}": "idcard.renew"},
        {asked: ("idcard.renew", "idcard.lost")},
    )
    reply = await say(container, asked)
    assert (reply.outcome, reply.entry_id, reply.from_context) == (Outcome.ANSWER, "idcard.renew", True)
    # Alone the matcher gives the entry no chance: the name in front must not pull a new matter in.
    outside = await say(container, other)
    assert outside.outcome is Outcome.ESCALATE and not outside.urgent and not outside.from_context
    # Read with the name, another entry is no answer to it either.
    _reads(monkeypatch, container, {f"{renew}{asked}": "idcard.lost"}, {asked: ("idcard.renew",)})
    again = await say(container, asked)
    assert again.outcome is not Outcome.ANSWER and not again.from_context


async def test_after_a_list_a_message_its_entries_tell_apart_picks_the_listed_one(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = await say(container, "身份证", conversation="list")
    assert listed.outcome is Outcome.CLARIFY and "idcard.renew" in [c.entry_id for c in listed.choices]
    # Alone, "到期换证" could be the ID card's renewal or another's; only one of them was just listed.
    _reads(monkeypatch, container, {}, {"到期换证": ("idcard.renew", "prevent.telecom-fraud")})
    picked = await say(container, "到期换证", conversation="list")
    assert (picked.outcome, picked.entry_id, picked.from_context) == (Outcome.ANSWER, "idcard.renew", True)
    # Without a list before it, the same reading stays a "did you mean".
    alone = await say(container, "到期换证", conversation="fresh")
    assert alone.outcome is Outcome.CLARIFY


async def test_a_place_in_the_list_with_the_part_asked_gets_that_part(container: Container) -> None:
    listed = await say(container, "身份证", conversation="place")
    assert listed.outcome is Outcome.CLARIFY
    picked = await say(container, "第二个要带什么", conversation="place")
    assert (picked.outcome, picked.entry_id, picked.field, picked.from_context) == (
        Outcome.ANSWER,
        listed.choices[1].entry_id,
        "materials",
        True,
    )


async def test_parts_of_one_matter_asked_in_a_first_message_come_from_the_message(
    container: Container,
) -> None:
    reply = await say(container, "身份证丢了 在哪补 要多少钱", conversation="first")
    assert [(p.entry_id, p.field, p.from_context) for p in reply.parts] == [
        ("idcard.lost", "where", False),
        ("idcard.lost", "fees", False),
    ]
    # The conversation then goes on from that matter.
    later = await say(container, "多久能拿到", conversation="first")
    assert (later.entry_id, later.field, later.from_context) == ("idcard.lost", "time_limit", True)


async def test_a_part_asked_with_a_word_no_topic_has_is_the_matters_in_reach(container: Container) -> None:
    await say(container, "身份证到期了怎么换", conversation="card")
    reply = await say(container, "要多少钱 当天能拿卡不", conversation="card")
    assert [(p.entry_id, p.field, p.from_context) for p in reply.parts] == [
        ("idcard.renew", "fees", True),
        ("idcard.renew", "time_limit", True),
    ]


async def test_a_later_question_the_one_before_settles_is_answered_as_a_part(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "报案要带啥？报完咋查进度": alone the second question could be either listed entry; read with the
    # first question's matter in front, only one of those is likely. That settles it, among the listed.
    first, later = "身份证丢了怎么补办", "补完咋查进度"
    lost = container.kb.entries["idcard.lost"].keywords[0]
    listed = ("hukou.birth", "idcard.renew")
    _reads(monkeypatch, container, {first: "idcard.lost"}, {later: listed}, {f"{lost}{later}": listed})
    reply = await say(container, f"{first}？{later}")
    assert [(p.outcome, p.entry_id) for p in reply.parts] == [
        (Outcome.ANSWER, "idcard.lost"),
        (Outcome.ANSWER, "hukou.birth"),
    ]
    # Several entries still close with the matter in front: no part is settled, the message is one.
    _reads(monkeypatch, container, {first: "idcard.lost"}, {later: listed, f"{lost}{later}": listed})
    assert not (await say(container, f"{first}？{later}", conversation="page-2")).parts
    # Nor does a likely entry the list did not offer settle it.
    _reads(
        monkeypatch,
        container,
        {first: "idcard.lost"},
        {later: listed},
        {f"{lost}{later}": ("community.office", "hukou.birth")},
    )
    assert not (await say(container, f"{first}？{later}", conversation="page-3")).parts
