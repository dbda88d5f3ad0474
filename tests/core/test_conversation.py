"""The text side of a conversation: the part asked for, a follow-up's own words, picks, splits, state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import conversation as talk
from bot.core import picking
from bot.core.conversation import (
    ConversationState,
    asked_field,
    clause_questions,
    is_bare_follow_up,
    own_words,
    run_on_questions,
    split_questions,
    tells_then_asks,
    without_also,
)
from bot.core.picking import read_pick


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("护照办理要多少钱", "fees"),
        ("補辦要幾塊錢", "fees"),
        ("得带啥", "materials"),
        ("需要准备哪些材料", "materials"),
        ("在哪里办", "where"),
        ("去哪个窗口", "where"),
        ("大概几天能拿到", "time_limit"),
        ("孩子能办吗", "who"),
        ("可以让家人代办吗", "who"),
        ("可以找人帮我开吗", "who"),
        ("我老婆能帮我去交材料不", "who"),
        ("要开啥证明", "materials"),
        ("几耐可以攞到", "time_limit"),
        ("逾期没去处理有什么后果", "time_limit"),  # what a missed deadline costs
        ("超过期限了还可以去吗", "time_limit"),
        ("社区警务室开在哪条路上", "where"),
        ("我走不开 托人去领行不行", "who"),
        ("流程是怎样的", "steps"),
        ("依据哪条法律", "legal_basis"),
        ("根据的是哪个文件", "legal_basis"),  # the text it rests on, not a document to bring
        ("跑一趟能拿回来不", "time_limit"),  # in one visit: how soon it is in hand
        ("要找区里还是市里批", "where"),  # which level's office
        ("朋友来住几天要登记吗", None),  # the stay's length is the story, not a time asked
        ("外国人来住几天的话几天内要登记", "time_limit"),
        ("网上能弄吗", "online"),
        ("手机上交钱可以吗", "online"),
        ("换一本要几个钱", "fees"),
        ("港澳通行证又要多少", "fees"),  # 多少 closing the question asks the fee
        ("寄这个要付邮费不", "fees"),
        ("要多少天", "time_limit"),
        ("上户口要啥", "materials"),  # what it takes: the documents, told at once
        ("签注得拿些啥", "materials"),
        ("要带么子证明", "materials"),
        ("啥时候能下来", "time_limit"),
        ("证下来了没", "time_limit"),
        ("居住证要怎么弄下来", None),  # 弄下来: to get it done, not how long it takes
        ("要啥条件", "who"),
        ("派出所能办不", "where"),  # whether that place handles it
        ("去派出所要带什么", "materials"),
        ("卖家要跟着一起去不", "who"),
        ("下了班还能找他不", "time_limit"),
        # The question before a remark that asks nothing; the story before a question is skipped.
        ("咱社区警务室在哪儿啊 想过去问点事", "where"),
        ("早上捡了个钱包 里面几百块钱 交哪去好", "where"),
        ("五一想去澳门耍几天，那个通行证咋办", None),
        ("有个美国同学要来我家住几天 需要跟派出所说一声不", None),
        ("身份证丢了", None),
        ("护照", None),
        # How far a case or a parcel has got is no question of where to go.
        ("我报的那个案子办到哪一步了", None),
        ("补的驾照寄到哪了 咋查", None),
        ("寄到哪里去领", "where"),
    ],
)
def test_the_part_of_an_answer_a_message_asks_for(text: str, field: str | None) -> None:
    assert asked_field(text) == field


@pytest.mark.parametrize(
    "text", ["要多少钱", "在哪里办呢", "那这个呢", "孩子能办吗", "得带啥？", "多久能好啊"]
)
def test_a_bare_follow_up_has_no_words_of_its_own(text: str) -> None:
    assert is_bare_follow_up(text), own_words(text)


@pytest.mark.parametrize(
    ("text", "own"), [("临时的呢", "临时"), ("那台湾的呢", "台湾"), ("社保卡丢了怎么补", "社保卡丢补")]
)
def test_a_follow_up_naming_something_keeps_those_words(text: str, own: str) -> None:
    assert own_words(text) == own and not is_bare_follow_up(text)


CHOICES = ("exit.passport", "exit.hkmo", "exit.taiwan")
TITLES = {
    "exit.passport": "普通护照申领",
    "exit.hkmo": "往来港澳通行证及签注",
    "exit.taiwan": "往来台湾通行证及签注",
}


@pytest.mark.parametrize(
    ("text", "position"),
    [("第二个", 1), ("2", 1), ("选1", 0), ("第三项吧", 2), ("最后那个", 2), ("港澳那个", 1), ("护照的", 0)],
)
def test_a_list_is_picked_by_words(text: str, position: int) -> None:
    pick = read_pick(text, CHOICES, TITLES)
    assert pick is not None and pick.position == position and pick.entry_id == CHOICES[position]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        # Agreement, hedges and thanks around the place: "嗯 第二个吧 谢谢".
        ("嗯第二个吧", 1),
        ("就第一个", 0),
        ("那就第三个吧", 2),
        ("应该是第二个", 1),
        ("第二个，谢谢", 1),
        ("对 第一个", 0),
        ("第二个选项", 1),
        ("选项3", 2),
        ("第二种情况", 1),
        ("我点第一个", 0),
        ("揀第二個", 1),
        # The first and the last by other names; counting from the end.
        ("头一个", 0),
        ("最上面那个", 0),
        ("最下边那个", 2),
        ("倒数第二个", 1),
    ],
)
def test_a_place_in_the_list_is_read_in_the_words_residents_wrap_it_in(text: str, position: int) -> None:
    pick = read_pick(text, CHOICES, TITLES)
    assert pick is not None and pick.position == position and not pick.named


@pytest.mark.parametrize(
    "text", ["以上都不是", "这些都不是", "三个都不对", "都唔系", "一个也不是", "不是这个", "全都不对哦"]
)
def test_none_of_these_is_understood_in_residents_words(text: str) -> None:
    assert read_pick(text, CHOICES, TITLES) == picking.Pick(None)


def test_a_refusal_that_goes_on_keeps_what_was_meant_and_a_pick_after_no_is_still_a_pick() -> None:
    pick = read_pick("以上都不是，我问的是驾照丢了怎么补", CHOICES, TITLES)
    assert pick is not None and pick.position is None and "驾照丢了" in pick.rest
    pick = read_pick("不是这个，是第二个", CHOICES, TITLES)
    assert pick is not None and pick.position == 1


@pytest.mark.parametrize(
    ("text", "position"), [("1要多少钱", 0), ("第二个要带什么", 1), ("第一个的材料", 0), ("3在哪办", 2)]
)
def test_a_place_in_the_list_may_come_with_the_part_asked(text: str, position: int) -> None:
    pick = read_pick(text, CHOICES, TITLES)
    assert pick is not None and pick.position == position and not pick.named


@pytest.mark.parametrize("text", ["两个孩子要多少钱", "一个人能办吗", "三天能拿到吗"])
def test_numbers_of_people_or_days_are_no_place_in_the_list(text: str) -> None:
    assert read_pick(text, CHOICES, TITLES) is None


@pytest.mark.parametrize("text", ["都不是", "0", "没有我要的", "都不对"])
def test_none_of_these_is_understood(text: str) -> None:
    pick = read_pick(text, CHOICES, TITLES)
    assert pick is not None and pick.position is None and pick.entry_id is None


def test_none_of_these_then_what_was_meant_keeps_the_question() -> None:
    pick = read_pick("都不是，我问的是驾照丢了怎么补", CHOICES, TITLES)
    assert pick is not None and pick.position is None and "驾照丢了" in pick.rest
    # Nothing of its own after the refusal: no question left over.
    assert read_pick("都不是啊", CHOICES, TITLES) == picking.Pick(None)
    assert read_pick("都不是 谢谢", CHOICES, TITLES) == picking.Pick(None)


@pytest.mark.parametrize("text", ["通行证", "身份证丢了怎么补办", ""])
def test_what_picks_nothing_is_not_a_pick(text: str) -> None:
    # 通行证 is in two titles: ambiguous, so not a pick.
    assert read_pick(text, CHOICES, TITLES) is None


@pytest.mark.parametrize("text", ["第五个", "选4", "5"])
def test_a_place_the_list_does_not_have_picks_nothing(text: str) -> None:
    assert read_pick(text, CHOICES, TITLES) == picking.Pick(None, beyond=True)


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("身份证丢了怎么补，顺便问下护照多少钱", ["身份证丢了怎么补", "护照多少钱"]),
        ("户口怎么迁？另外居住证在哪办", ["户口怎么迁", "居住证在哪办"]),
        ("驾照到期怎么换；电动车上牌要什么", ["驾照到期怎么换", "电动车上牌要什么"]),
        ("身份证丢了，怎么补", ["身份证丢了，怎么补"]),
        ("身份证和户口本都丢了", ["身份证和户口本都丢了"]),
        ("护照怎么办？谢谢", ["护照怎么办，谢谢"]),
        # A question closed by its particle, and another joined on.
        ("电动车上牌要钱吗和电动车防盗有啥好办法", ["电动车上牌要钱吗", "电动车防盗有啥好办法"]),
        ("护照能加急吗，还有港澳通行证在哪办", ["护照能加急吗", "港澳通行证在哪办"]),
        ("我和老婆能一起去吗", ["我和老婆能一起去吗"]),
    ],
)
def test_where_a_message_may_hold_several_questions(text: str, pieces: list[str]) -> None:
    assert split_questions(text) == pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("台湾通行证跟港澳通行证各多少钱", ["台湾通行证多少钱", "港澳通行证多少钱"]),
        ("上户口和办身份证分别要带什么？", ["上户口要带什么", "办身份证要带什么"]),
        ("身份证和户口本都丢了", ["身份证丢了", "户口本丢了"]),
        # No matter named on one side, or no part asked of both: one question.
        ("我和老婆都要办护照", []),
        ("身份证和户口本", []),
        ("身份证丢了，户口本和护照都在", []),
    ],
)
def test_one_part_asked_of_two_matters_is_two_questions(text: str, pieces: list[str]) -> None:
    assert talk.shared_questions(text) == pieces


def test_a_state_is_fresh_for_its_community_for_half_an_hour() -> None:
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    state = ConversationState("gongyuan", at, "idcard.lost")
    assert state.fresh("gongyuan", at + timedelta(minutes=30))
    assert not state.fresh("gongyuan", at + timedelta(minutes=31))
    assert not state.fresh("hexi", at + timedelta(minutes=1))


def test_a_state_survives_json_and_a_corrupt_one_is_ignored() -> None:
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    state = ConversationState("gongyuan", at, None, ("idcard.lost", "idcard.renew"), 7, ("身份证",))
    assert ConversationState.from_json(state.to_json()) == state
    for corrupt in (
        None,
        [],
        "x",
        {"community": "gongyuan"},
        {"community": "g", "at": "yesterday"},
        {"at": 5},
    ):
        assert ConversationState.from_json(corrupt) is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        # People in the story are not the question ...
        ("结婚了想把户口落到老公家那边", None),
        ("孩子13岁，想给他办第一张身份证", None),
        ("单位要我开个和我妈的亲属关系证明", None),
        # ... unless the message asks whether they may or must ("who may apply").
        ("她才8岁，小孩也能办？", "who"),
        ("大人必须跟着一起去吗", "who"),
        ("我上班走不开，叫我老公去领行不行", "who"),
        ("谁可以代办", "who"),
        # Whether the fee may be waived asks about the fee.
        ("家里吃低保的，那20块能免么", "fees"),
        # An age is the story too, unless asked whether one of that age may ...
        ("孩子今年13岁了，想办身份证", None),
        ("我60岁了身份证还要换吗", None),
        ("我今年61了还能考不", "who"),
        ("16岁能办身份证吗", "who"),
        ("七十岁了还可以开车吗", "who"),
        ("年纪大了还能考驾照吗", "who"),
        # ... and another part asked with it is that part.
        ("小孩5岁办护照要带啥", "materials"),
        ("65岁以上身份证有效期多久", "time_limit"),
    ],
)
def test_people_of_the_story_do_not_ask_who_may_apply(text: str, field: str | None) -> None:
    assert asked_field(text, whole=True) == field


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("无犯罪记录证明要几天，护照在哪里办", ["无犯罪记录证明要几天", "护照在哪里办"]),
        ("护照多少钱、港澳通行证多少钱", ["护照多少钱", "港澳通行证多少钱"]),
        # A comma that joins a story to its question does not split it.
        ("身份证丢了，怎么补", []),
        ("我户口在湖南，身份证过期了能在柳州换吗", []),
        ("她才8岁，小孩也能办？", []),
        # The teller's own situation, asking nothing, is the story of the question after it.
        ("我人在外地 能让我爸帮我开么", []),
        ("在外地能办吗 要多少钱", ["在外地能办吗", "要多少钱"]),
        # The matter named first, then parts of it asked: the matter goes with the first of them.
        ("良民证 上哪开 收不收钱", ["良民证，上哪开", "收不收钱"]),
        ("身份证丢了 在哪补 要多少钱", ["身份证丢了，在哪补", "要多少钱"]),
        # A clause that names a part without asking it ("想免工本费") is the story, not a question.
        ("我们家吃低保 到期换证想免工本费 得去开个啥证明", []),
        ("良民证 上哪开", []),  # one question
        ("捡了个钱包 里面几百块钱 交哪去好", []),  # 几百: a number told loosely, not a question
    ],
)
def test_clauses_that_each_ask_are_several_questions(text: str, pieces: list[str]) -> None:
    assert clause_questions(text) == pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("护照要多少钱多久能拿到", ["护照要多少钱", "多久能拿到"]),
        ("办护照需要什么材料在哪里办", ["办护照需要什么材料", "在哪里办"]),
        ("补的话要拿什么去多少天能拿到手", ["补的话要拿什么去", "多少天能拿到手"]),
        # One question: what the fee is for (加急), or a part with a word too few to ask on its own.
        ("护照加急要多少钱", []),
        ("网上交钱", []),
        ("在哪交钱", []),
        # Who is asked about is a condition of the question, never a question of its own.
        ("外地人办居住证要啥", []),
        ("孩子办护照要多少钱多久能拿到", ["孩子办护照要多少钱", "多久能拿到"]),
        ("身份证丢了在派出所能补吗", []),
        # Commas and spaces are clause_questions' matter.
        ("护照要多少钱，多久能拿到", []),
    ],
)
def test_two_parts_asked_in_one_breath_are_cut_where_the_second_begins(text: str, pieces: list[str]) -> None:
    assert run_on_questions(text) == pieces


def test_a_standard_is_a_part_asked_not_a_topic() -> None:
    # "收费标准是多少" after a visa's answer asks that visa's fee, not the bureau's fee list.
    assert own_words("收费标准是多少") == "" and is_bare_follow_up("收费标准是多少")


def test_a_count_says_how_many_not_what() -> None:
    assert all(talk.is_count(w) for w in ("一次", "两本", "几张", "3次", "半年"))
    assert not any(talk.is_count(w) for w in ("次数", "身份", "一本正经", "本人"))


def test_documents_named_by_a_message_and_the_bare_document_of_a_title() -> None:
    assert talk.names_document("临时身份证几天能拿") and talk.names_document("電動車上牌要帶啥")
    assert not talk.names_document("要是丢了呢") and not talk.names_document("这个证明网上能开吗")
    assert talk.topic_noun("往来港澳通行证及签注") == "通行证"  # not 港澳: "台湾的呢" goes in front of it
    assert talk.topic_noun("居民身份证有效期满换领") == "身份证"
    assert talk.topic_noun("机动车驾驶证期满换证") == "驾驶证"
    assert talk.topic_noun("依申请公开政府信息") is None


def test_variants_questions_and_pointing_back_are_read_from_the_words() -> None:
    assert talk.is_elliptical("要是丢了呢") and talk.is_elliptical("那过期的，怎么换")
    assert not talk.is_elliptical("身份证丢了怎么补")
    assert talk.asks_something("我今年61了还能考不") and talk.asks_something("能代办吗")
    assert not talk.asks_something("我人在外地")
    assert talk.pointed_at("这个证明网上能开吗") == ["证明"]
    assert talk.pointed_at("那身份证到期呢") == []  # 那 alone is "then", not "that"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("身份证也一起丢了咋办", "身份证丢了咋办"),
        ("护照也丢了", "护照丢了"),
        ("社保卡一并补办", "社保卡补办"),
        ("也许是丢在车上了", "也许是丢在车上了"),  # "maybe", not a pointer
    ],
)
def test_a_later_question_drops_the_words_that_point_back(text: str, read: str) -> None:
    assert without_also(text) == read


@pytest.mark.parametrize(
    ("text", "tells"),
    [
        ("我跟孩子不在一个户口本上 要带什么", True),
        ("我老公是外地户口，要多少钱", True),
        ("我身份证丢了 要带啥", False),  # something happened: a matter of its own
        ("身份证在老家 要带啥", False),  # not the teller's own situation
        ("我想办护照 要带啥", False),
        ("我在外地 能办吗 要多少钱", False),  # asks twice
        ("我跟孩子户口不在一起", False),  # asks nothing
    ],
)
def test_the_tellers_situation_before_a_part_asked(text: str, tells: bool) -> None:
    assert tells_then_asks(text) is tells


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("这证要年年签注不", True),
        ("那证一次能用几回", True),
        ("那个证能办吗", True),
        ("这个证明网上能开吗", False),
        ("证件丢了", False),
    ],
)
def test_this_document_points_at_the_conversations_matter(text: str, points: bool) -> None:
    assert talk.points_at_a_document(text) is points
