"""Residents end to end: real Bot and Dispatcher, polling a fake Bot API over HTTP, real Container."""

from __future__ import annotations

from bot.core.models import Channel, Outcome, ResidentRef, StatsQuery
from tests.telegram.harness import OFFICERS_CHAT, RESIDENT, Harness, buttons


async def choose_gongyuan(tg: Harness) -> None:
    after = len(tg.api.calls)
    await tg.send(RESIDENT, "/start")
    picker = tg.message_of(await tg.api.next_call("sendMessage", RESIDENT.id, after=after))
    while not buttons(picker):  # the welcome text comes first, the district picker after it
        after = tg.api.calls.index(next(c for c in tg.api.calls[after:] if c.result is picker)) + 1
        picker = tg.message_of(await tg.api.next_call("sendMessage", RESIDENT.id, after=after))
    after = len(tg.api.calls)
    await tg.click(RESIDENT, picker, "城中区")
    edited = await tg.api.next_call("editMessageText", RESIDENT.id, after=after)
    assert "公园社区" in [text for text, _ in buttons(edited.result)]
    after = len(tg.api.calls)
    await tg.click(RESIDENT, edited.result, "公园社区")
    chosen = await tg.api.next_call("editMessageText", RESIDENT.id, after=after)
    assert "公园社区" in chosen.params["text"]


async def test_start_pick_community_and_ask_gets_the_whole_card(tg: Harness) -> None:
    await choose_gongyuan(tg)
    async with tg.c.uow_factory() as uow:
        prefs = await uow.residents.prefs(ResidentRef(Channel.TELEGRAM, str(RESIDENT.id)))
    assert prefs.community == "gongyuan"

    card = await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    text = card["text"]
    assert "<b>【居民身份证丢失补领】</b>" in text
    assert "居民户口簿" in text and "每证40元" in text  # materials and fees, all at once (一次性告知)
    assert "公园派出所户籍窗口" in text  # the community's own placeholders filled in
    labels = [label for label, _ in buttons(card)]
    assert any("有用" in label for label in labels) and any("没用" in label for label in labels)

    after = len(tg.api.calls)
    callback = await tg.click(RESIDENT, card, "有用")
    answered = await tg.callback_answer(callback)
    assert "谢谢" in answered.get("text", "")
    await tg.api.next_call("editMessageReplyMarkup", RESIDENT.id, after=after)
    snapshot = await tg.c.stats.snapshot(StatsQuery())
    assert snapshot.feedback.get("useful") == 1


async def test_deep_link_and_clarify_by_button(tg: Harness) -> None:
    after = len(tg.api.calls)
    await tg.start_in(RESIDENT)
    welcome = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "公园社区" in welcome.params["text"]

    question = await tg.reply_to(RESIDENT, "身份证")
    labels = [label for label, _ in buttons(question)]
    assert "居民身份证丢失补领" in labels and "居民身份证有效期满换领" in labels
    assert any("都不是" in label for label in labels)

    after = len(tg.api.calls)
    await tg.click(RESIDENT, question, "有效期满换领")
    card = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "【居民身份证有效期满换领】" in card.params["text"]
    assert "公园社区警务室代收材料" in card.params["text"]  # gongyuan's override of `where`


async def test_none_of_these_escalates_with_ticket_and_officers(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    question = await tg.reply_to(RESIDENT, "身份证")
    after = len(tg.api.calls)
    await tg.click(RESIDENT, question, "都不是")
    notice = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    text = notice.params["text"]
    assert "WJ000001" in text and "李警官" in text and "预计答复时间" in text

    await tg.deliver()
    post = await tg.api.next_call("sendMessage", OFFICERS_CHAT)
    assert "WJ000001" in post.params["text"] and "身份证" in post.params["text"]


async def test_escalation_and_urgent(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    reply = await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert "工单号" in reply["text"] and "WJ000001" in reply["text"]
    assert "李警官" in reply["text"] and "预计答复时间" in reply["text"]

    urgent = await tg.reply_to(RESIDENT, "有人拿刀砍人")
    assert urgent["text"].startswith("🚨") and "110" in urgent["text"]
    assert "WJ000002" in urgent["text"]
    await tg.deliver()
    posts = tg.api.sent("sendMessage", OFFICERS_CHAT)
    assert any("紧急" in p.params["text"] and "WJ000002" in p.params["text"] for p in posts)


async def test_question_before_choosing_a_community_asks_for_one(tg: Harness) -> None:
    reply = await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    assert "请先选择" in reply["text"]
    assert [label for label, _ in buttons(reply)] == ["城中区", "柳南区"]


async def test_menu_browse_to_an_entry_counts_a_view(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    menu = tg.message_of(await tg.api.next_call("sendMessage", RESIDENT.id))
    assert [label for label, _ in buttons(menu)][:4] == ["警务公开", "法律法规", "防范指南", "为您服务"]
    after = len(tg.api.calls)
    await tg.click(RESIDENT, menu, "为您服务")
    categories = (await tg.api.next_call("editMessageText", RESIDENT.id, after=after)).result
    after = len(tg.api.calls)
    await tg.click(RESIDENT, categories, "身份证")
    entries = (await tg.api.next_call("editMessageText", RESIDENT.id, after=after)).result
    after = len(tg.api.calls)
    await tg.click(RESIDENT, entries, "丢失补领")
    card = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "【居民身份证丢失补领】" in card.params["text"]
    snapshot = await tg.c.stats.snapshot(StatsQuery())
    assert snapshot.menu_views == 1
    assert snapshot.by_outcome.get(Outcome.ANSWER.value) == 1


async def test_language_switch_to_english(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    picker = await tg.reply_to(RESIDENT, "/lang")
    after = len(tg.api.calls)
    await tg.click(RESIDENT, picker, "English")
    switched = await tg.api.next_call("editMessageText", RESIDENT.id, after=after)
    assert "Switched to English" in switched.params["text"]
    reply = await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert "Ticket" in reply["text"] and "officers" in reply["text"]


async def test_my_lists_open_and_answered_questions(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    mine = await tg.reply_to(RESIDENT, "/my")
    assert "WJ000001" in mine["text"] and "待认领" in mine["text"] and "装修" in mine["text"]


async def test_a_follow_up_in_the_chat_gets_the_part_asked_for_and_the_card_one_tap_away(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    fee = await tg.reply_to(RESIDENT, "要多少钱")
    assert fee["text"].startswith("<b>【居民身份证丢失补领 · 收费】</b>") and "每证40元" in fee["text"]
    assert "居民户口簿" not in fee["text"]  # only the part asked for
    after = len(tg.api.calls)
    await tg.click(RESIDENT, fee, "查看完整办事指南")
    card = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "【居民身份证丢失补领】" in card.params["text"] and "居民户口簿" in card.params["text"]
    # A picked card is the topic too; /start begins afresh.
    assert "每证20元" in (await tg.reply_to(RESIDENT, "身份证到期了怎么换"))["text"]
    after = len(tg.api.calls)
    await tg.send(RESIDENT, "/start")
    await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    again = await tg.reply_to(RESIDENT, "要多少钱")
    assert "每证20元" not in again["text"]


async def test_several_questions_in_one_message_get_one_reply_each(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    after = len(tg.api.calls)
    await tg.send(RESIDENT, "身份证丢了怎么补办？另外身份证到期了怎么换")
    first = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    second = await tg.api.next_call("sendMessage", RESIDENT.id, after=tg.api.calls.index(first) + 1)
    assert first.params["text"].startswith("（1）") and "丢失补领" in first.params["text"]
    assert second.params["text"].startswith("（2）") and "有效期满换领" in second.params["text"]


async def test_an_escalation_points_to_its_likeliest_guide_one_tap_away(tg: Harness, monkeypatch) -> None:
    from bot.core.models import Candidate, MatchResult

    def unsure(text: str, community: str) -> MatchResult:
        candidates = (Candidate("idcard.lost", 64.0, "身份证丢了", "question"),)
        return MatchResult(Outcome.ESCALATE, 64.0, candidates, False, text, "no confident match")

    await tg.start_in(RESIDENT)
    monkeypatch.setattr(tg.c.ask._matcher, "match", unsure)
    reply = await tg.reply_to(RESIDENT, "钱包和证件一起没了咋整")
    assert "WJ000001" in reply["text"] and "居民身份证丢失补领" in reply["text"]
    after = len(tg.api.calls)
    await tg.click(RESIDENT, reply, "居民身份证丢失补领")
    card = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "【居民身份证丢失补领】" in card.params["text"] and "每证40元" in card.params["text"]
