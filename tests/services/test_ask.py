"""AskService on real storage: what the resident gets back and what is recorded."""

from __future__ import annotations

import pytest

from bot.core.knowledge import UnknownCommunityError
from bot.core.models import Channel, Helpfulness, Outcome, ResidentRef, Satisfaction, StatsQuery
from bot.core.replies import Notice, render_plain
from bot.wiring import Container

RESIDENT = ResidentRef(Channel.WEB, "resident-token-1")


async def _consultations(container: Container) -> list[tuple]:
    from sqlalchemy import text

    async with container.engine.connect() as conn:
        rows = await conn.execute(
            text("select outcome, entry_id, text_masked, urgent, via_menu from consultations order by id")
        )
        return [tuple(r) for r in rows]


async def test_a_clear_question_is_answered_and_recorded(container: Container) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "身份证丢了怎么补办", Channel.WEB)
    assert reply.outcome is Outcome.ANSWER
    assert reply.entry is not None and reply.entry.id == "idcard.lost"
    # the answer is rendered for the asking community
    assert reply.entry.answer.where == "公园派出所户籍窗口"
    assert reply.consultation_id is not None
    assert await _consultations(container) == [("answer", "idcard.lost", "身份证丢了怎么补办", False, False)]


async def test_clarify_offers_titles(container: Container) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "身份证", Channel.WEB)
    assert reply.outcome is Outcome.CLARIFY
    assert {c.entry_id for c in reply.choices} >= {"idcard.lost", "idcard.renew"}
    assert all(c.title for c in reply.choices)
    text = render_plain(reply)
    assert "居民身份证丢失补领" in text and "都不是" in text


async def test_escalation_gets_a_ticket_and_a_promised_time(container: Container) -> None:
    reply = await container.ask.ask("hexi", RESIDENT, "我家楼下的路灯坏了好几天了没人修", Channel.WEB)
    assert reply.outcome is Outcome.ESCALATE
    assert reply.ticket is not None and reply.ticket.startswith("WJ")
    assert reply.due_at is not None
    text = render_plain(reply)
    assert reply.ticket in text and "王警官" in text
    async with container.engine.connect() as conn:
        from sqlalchemy import text as sql

        (status,) = (await conn.execute(sql("select status from escalations"))).one()
    assert status == "open"


async def test_urgent_message_gets_110_and_reaches_officers(container: Container) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "救命！有人在撬我家门", Channel.WEB)
    assert reply.urgent
    assert reply.outcome is Outcome.ESCALATE and reply.ticket
    assert render_plain(reply).startswith("【紧急求助】请立即拨打 110")


async def test_personal_numbers_are_masked_before_storage(container: Container) -> None:
    await container.ask.ask(
        "gongyuan", RESIDENT, "我的身份证11010519491231002X丢了，电话13812345678", Channel.WEB
    )
    ((_, _, stored, _, _),) = await _consultations(container)
    assert "11010519491231002X" not in stored and "13812345678" not in stored
    assert "138****5678" in stored


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😀😀😀",
        "\x00\x01\x02",
        "？？！！",
        "你好，谢谢！",
        "asdfghjkl",
        "aaaaaaaaaaaa",
        "哈哈哈哈",
    ],
)
async def test_empty_symbol_only_or_mashed_messages_get_a_polite_prompt_and_no_ticket(
    container: Container, text: str
) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
    assert reply.notice is Notice.EMPTY
    assert reply.ticket is None
    assert "请用一两句话描述" in render_plain(reply)
    assert len(await _consultations(container)) == 1


async def test_huge_message_is_answered_and_stored_bounded(container: Container) -> None:
    text = "身份证丢了怎么补办" + "啊" * 100_000
    reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
    assert reply.notice is Notice.TRUNCATED
    ((_, _, stored, _, _),) = await _consultations(container)
    assert len(stored) <= 2000


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE consultations; --",
        "<script>alert(1)</script>身份证",
        "Robert'); DELETE FROM residents;",
    ],
)
async def test_hostile_text_is_stored_verbatim_and_harmless(container: Container, text: str) -> None:
    await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
    ((_, _, stored, _, _),) = await _consultations(container)
    assert stored == text


async def test_unknown_community_is_a_clear_error(container: Container) -> None:
    with pytest.raises(UnknownCommunityError):
        await container.ask.ask("atlantis", RESIDENT, "身份证丢了", Channel.WEB)


async def test_menu_views_and_clarify_escalation(container: Container) -> None:
    view = await container.ask.view_entry("gongyuan", RESIDENT, "idcard.renew", Channel.TELEGRAM)
    assert view.entry is not None and view.entry.answer.where == "公园社区警务室代收材料"
    clarify = await container.ask.ask("gongyuan", RESIDENT, "身份证", Channel.WEB)
    escalated = await container.ask.escalate_consultation(clarify.consultation_id)
    assert escalated.ticket and escalated.outcome is Outcome.ESCALATE
    with pytest.raises(KeyError):
        await container.ask.view_entry("hexi", RESIDENT, "gongyuan.patrol", Channel.WEB)


async def test_statistics_follow_what_happened(container: Container) -> None:
    answered = await container.ask.ask("gongyuan", RESIDENT, "身份证丢了怎么补办", Channel.WEB)
    await container.ask.ask("gongyuan", RESIDENT, "身份证", Channel.WEB)
    escalated = await container.ask.ask("hexi", RESIDENT, "路灯坏了没人修", Channel.TELEGRAM)
    await container.ask.view_entry("hexi", RESIDENT, "idcard.renew", Channel.TELEGRAM)
    await container.feedback.rate_answer(answered.consultation_id, Helpfulness.USEFUL)
    escalation_id = int(escalated.ticket.removeprefix("WJ"))
    await container.feedback.rate_officer_answer(escalation_id, Satisfaction.SATISFIED)

    snap = await container.stats.snapshot(StatsQuery())
    assert snap.total == 4
    assert snap.by_outcome == {"answer": 2, "clarify": 1, "escalate": 1}
    assert snap.menu_views == 1
    assert {r.key: r.count for r in snap.by_community} == {"gongyuan": 2, "hexi": 2}
    assert snap.escalations == {"open": 1, "claimed": 0, "answered": 0, "closed": 0}
    assert snap.feedback == {"useful": 1, "not_useful": 0}
    assert snap.satisfaction == {"satisfied": 1, "basically": 0, "unsatisfied": 0}
    only_hexi = await container.stats.snapshot(StatsQuery(community="hexi"))
    assert only_hexi.total == 2


async def test_matters_for_other_bodies_are_escalated_with_a_pointer(container: Container) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "家里停电了找谁", Channel.WEB)
    assert reply.outcome is Outcome.ESCALATE
    assert reply.referral is not None and reply.referral.id == "refer.utilities"
    text = render_plain(reply)
    assert "供电" in text and reply.ticket in text


async def test_the_matchers_confidence_and_evidence_reach_the_reply_and_the_officers(
    container: Container,
) -> None:
    from bot.core.models import Candidate, Evidence, MatchResult
    from bot.services.ask import AskService

    evidence = Evidence(
        "classifier", "身份证丢了怎么办", (("lexical", 0.41), ("classifier", 0.88)), ("宠物",)
    )

    class StubMatcher:
        def match(self, text: str, community: str) -> MatchResult:
            candidates = (Candidate("idcard.lost", 62.5, "身份证丢了", "question"),)
            return MatchResult(Outcome.ESCALATE, 62.5, candidates, False, text, "stub", 0.625, evidence)

    ask = AskService(container.kb, StubMatcher(), container.uow_factory, container.clock)  # type: ignore[arg-type]
    reply = await ask.ask("gongyuan", RESIDENT, "身份证和宠物", Channel.WEB)
    assert (reply.confidence, reply.evidence) == (0.625, evidence)
    from bot.core.reply_json import reply_json

    data = reply_json(reply, "Asia/Shanghai")
    assert data["confidence"] == 0.625
    assert data["evidence"] == {
        "scorer": "classifier",
        "phrasing": "身份证丢了怎么办",
        "scores": {"lexical": 0.41, "classifier": 0.88},
        "uncovered": ["宠物"],
    }
    async with container.uow_factory() as uow:
        view = await uow.escalations.view(int(reply.ticket.removeprefix("WJ")))
    assert view.scored_candidates == (("idcard.lost", 62.5),)


def test_the_guide_pointed_to_beside_a_ticket_is_likelier_right_than_wrong() -> None:
    from bot.core.models import Candidate, MatchResult
    from bot.services.guides import suggestion_of

    def escalated(score: float, reason: str = "no confident match") -> MatchResult:
        candidates = (
            Candidate("idcard.lost", score, "", "question"),
            Candidate("idcard.renew", 3.0, "", "question"),
        )
        return MatchResult(Outcome.ESCALATE, score, candidates, False, "身份证", reason)

    visible = {"idcard.lost", "idcard.renew"}
    assert suggestion_of(escalated(62.5), visible) == escalated(62.5).candidates[0]
    assert suggestion_of(escalated(50.0), visible) is not None
    # Less likely right than wrong, hidden in the community, another body's matter or place: none.
    assert suggestion_of(escalated(49.9), visible) is None
    assert suggestion_of(escalated(62.5), {"idcard.renew"}) is None
    assert suggestion_of(escalated(62.5, "outside police services"), visible) is None
    assert suggestion_of(escalated(62.5, "another place's rules"), visible) is None
    # What is answered or offered as "did you mean" is not pointed to beside a ticket.
    answered = MatchResult(Outcome.ANSWER, 97.0, escalated(97.0).candidates, False, "身份证", "clear match")
    assert suggestion_of(answered, visible) is None


async def test_an_escalated_question_points_to_its_likeliest_guide_in_every_rendering(
    container: Container,
) -> None:
    from bot.core.models import Candidate, MatchResult
    from bot.core.reply_json import reply_json
    from bot.services.ask import AskService

    class Unsure:
        def __init__(self, score: float) -> None:
            self.score = score

        def match(self, text: str, community: str) -> MatchResult:
            candidates = (Candidate("idcard.lost", self.score, "身份证丢了", "question"),)
            return MatchResult(Outcome.ESCALATE, self.score, candidates, False, text, "no confident match")

    likely = AskService(container.kb, Unsure(64.0), container.uow_factory, container.clock)  # type: ignore[arg-type]
    reply = await likely.ask("gongyuan", RESIDENT, "钱包和证件一起没了咋整", Channel.WEB)
    assert reply.outcome is Outcome.ESCALATE and reply.ticket  # the officers still get the question
    assert reply.suggestion is not None and reply.suggestion.entry_id == "idcard.lost"
    assert "居民身份证丢失补领" in render_plain(reply) and reply.ticket in render_plain(reply)
    data = reply_json(reply, "Asia/Shanghai")
    assert data["suggestion"] == {"entry_id": "idcard.lost", "title": "居民身份证丢失补领", "score": 64.0}

    unlikely = AskService(container.kb, Unsure(30.0), container.uow_factory, container.clock)  # type: ignore[arg-type]
    plain = await unlikely.ask("gongyuan", RESIDENT, "钱包和证件一起没了咋整", Channel.WEB)
    assert plain.suggestion is None and reply_json(plain, "Asia/Shanghai")["suggestion"] is None
    assert "可能相关" not in render_plain(plain)
