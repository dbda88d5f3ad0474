"""FollowUpReader.related: which entry a brief follow-up ("临时的呢", "港澳的呢") moves to."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import picking
from bot.core.models import Candidate, MatchResult, Outcome
from bot.services.follow_ups import FollowUpReader


@dataclass(frozen=True)
class _Entry:
    title: str
    keywords: tuple[str, ...] = ()


class _Knowledge:
    """The little of a knowledge base the reader reads: which entries a community sees, their titles."""

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries
        self.entries = entries  # the titles and keywords that name topics (FollowUpReader.topic_words)
        self.referrals: dict[str, _Entry] = {}

    def visible_ids(self, community: str) -> set[str]:
        return set(self._entries)

    def entry_for(self, community: str, entry_id: str) -> _Entry:
        return self._entries[entry_id]


ENTRIES = {
    "exit.passport": _Entry("普通护照申领", ("护照",)),
    "exit.hkmo": _Entry("往来港澳通行证及签注", ("港澳通行证",)),
    "exit.taiwan": _Entry("往来台湾通行证及签注", ("台湾通行证",)),
    "residence.hmt-permit": _Entry("港澳台居民居住证", ("港澳居民居住证",)),
    "residence.permit": _Entry("居住证申领", ("居住证",)),
}


def _listed(*entry_ids: str) -> MatchResult:
    candidates = tuple(Candidate(e, 50.0, "", "title") for e in entry_ids)
    return MatchResult(Outcome.CLARIFY, 50.0, candidates, False, "", "key words not explained")


def _reader(ruled_out: set[tuple[str, str]] = frozenset()) -> FollowUpReader:
    return FollowUpReader(
        _Knowledge(ENTRIES),  # type: ignore[arg-type]
        lambda text, community: _listed(),
        lambda text, entry_id: (text, entry_id) in ruled_out,
    )


def test_a_sibling_wins_a_tie_with_an_entry_of_another_family() -> None:
    # 港澳 is in the titles of the 港澳 pass and of the 港澳 residents' permit: after the passport, the
    # conversation is about travel documents.
    offered = _listed("exit.hkmo", "residence.hmt-permit")
    assert _reader().related("c", "exit.passport", "港澳", offered) == "exit.hkmo"
    # After the residence permit it is the other way round.
    assert _reader().related("c", "residence.permit", "港澳", offered) == "residence.hmt-permit"


def test_words_no_title_tells_apart_move_nowhere() -> None:
    # 通行证 names both passes, siblings alike: as the matcher reads it.
    assert _reader().related("c", "exit.passport", "通行证", _listed()) is None


def test_an_entry_whose_not_covered_list_rules_the_words_out_is_not_moved_to() -> None:
    reader = _reader({("台湾", "exit.taiwan")})
    assert reader.related("c", "exit.hkmo", "台湾", _listed()) is None
    assert _reader().related("c", "exit.hkmo", "台湾", _listed()) == "exit.taiwan"


def _answered(entry_id: str) -> MatchResult:
    return MatchResult(Outcome.ANSWER, 90.0, (Candidate(entry_id, 90.0, "", "question"),), False, "", "")


CASES = {
    "report.crime": _Entry("报警与报案", ("报案",)),
    "report.case-progress": _Entry("案件办理进度查询", ("案件进度",)),
    "idcard.progress": _Entry("身份证办理进度查询", ("身份证进度",)),
}


def _case_reader(second_read: MatchResult, ruled_out: set[tuple[str, str]] = frozenset()) -> FollowUpReader:
    readings = {
        "报案要带什么": _answered("report.crime"),
        "报完咋查进度": _listed("report.case-progress", "idcard.progress"),
        "报案报完咋查进度": second_read,
    }
    return FollowUpReader(
        _Knowledge(CASES),  # type: ignore[arg-type]
        lambda text, community: readings.get(text, _listed()),
        lambda text, entry_id: (text, entry_id) in ruled_out,
    )


def test_a_question_only_listed_alone_is_read_with_the_matter_asked_before_it() -> None:
    reader = _case_reader(_answered("report.case-progress"))
    pieces = reader.several_questions("报案要带什么？报完咋查进度", "c")
    assert [(text, r.best.entry_id if r.best else None) for text, r in pieces] == [
        ("报案要带什么", "report.crime"),
        ("报完咋查进度", "report.case-progress"),
    ]


def test_the_reading_with_the_matter_before_stands_only_for_another_listed_entry() -> None:
    # Read as the matter before it, as an entry the list did not offer, or as one its knowledge rules
    # out: the piece stays a list, and the message is read whole.
    for second in (_answered("report.crime"), _answered("exit.passport")):
        assert _case_reader(second).several_questions("报案要带什么？报完咋查进度", "c") == []
    ruled_out = {("报完咋查进度", "report.case-progress")}
    reader = _case_reader(_answered("report.case-progress"), ruled_out)
    assert reader.several_questions("报案要带什么？报完咋查进度", "c") == []


def _passport_reader() -> FollowUpReader:
    readings = {"那护照呢": _answered("exit.passport"), "护照怎么办": _answered("exit.passport")}
    return FollowUpReader(
        _Knowledge(ENTRIES),  # type: ignore[arg-type]
        lambda text, community: readings.get(text, _listed()),
        lambda text, entry_id: False,
    )


def test_a_piece_that_only_names_the_matter_and_a_part_asked_of_it_are_one_question() -> None:
    # "那护照呢" asks nothing of its own: with "办一本多少钱" it is the passport's fee, read whole.
    assert _passport_reader().several_questions("那护照呢，办一本多少钱", "c") == []
    # "护照怎么办" asks the whole procedure: that and the fee are two questions.
    pieces = _passport_reader().several_questions("护照怎么办，办一本多少钱", "c")
    assert [text for text, _ in pieces] == ["护照怎么办", "办一本多少钱"]


@dataclass(frozen=True)
class _Answer:
    summary: str = ""
    who: str = ""
    materials: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    where: str = ""
    tips: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Card:
    id: str
    title: str
    keywords: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    answer: _Answer = _Answer()


class _Cards(_Knowledge):
    """Entries with their words, as `tells_situation` reads them."""

    def __init__(self, cards: list[_Card]) -> None:
        super().__init__({c.id: c for c in cards})  # type: ignore[misc]
        self.entries = {c.id: c for c in cards}
        self.referrals: dict[str, _Card] = {}


def _situation_reader(ruled_out: set[tuple[str, str]] = frozenset()) -> FollowUpReader:
    cards = [
        _Card("idcard.first", "首次申领居民身份证", ("身份证",), answer=_Answer(materials=("户口本",))),
        _Card("hukou.booklet", "户口本补领", ("户口本",)),
        _Card("hukou.birth", "新生儿出生登记", ("新生儿", "报户口")),
    ]
    return FollowUpReader(
        _Cards(cards),  # type: ignore[arg-type]
        lambda text, community: _listed(),
        lambda text, entry_id: (text, entry_id) in ruled_out,
    )


def test_a_situation_the_entry_speaks_of_is_a_condition_of_it() -> None:
    reader = _situation_reader()
    # The first ID card's materials name the household register: the teller's situation is its.
    assert reader.tells_situation("c", "idcard.first", "我跟孩子不在一个户口本上 要带什么")
    assert reader.tells_situation("c", "idcard.first", "我老公是外地的，要带什么")  # no topic word at all
    # A topic the entry does not speak of is a matter of its own.
    assert not reader.tells_situation("c", "idcard.first", "我是新生儿的妈妈 要带什么")
    # Something that happened, a question of its own, or no part asked: not a situation told.
    assert not reader.tells_situation("c", "idcard.first", "我户口本丢了 要带什么")
    assert not reader.tells_situation("c", "idcard.first", "我户口本在哪 要带什么")
    assert not reader.tells_situation("c", "idcard.first", "我跟孩子不在一个户口本上")
    # What the entry's knowledge rules out is never its.
    ruled_out = {("我跟孩子不在一个户口本上 要带什么", "idcard.first")}
    assert not _situation_reader(ruled_out).tells_situation(
        "c", "idcard.first", "我跟孩子不在一个户口本上 要带什么"
    )


def test_beyond_its_family_a_keyword_sharing_part_of_the_words_moves_nowhere() -> None:
    entries = {
        "permit.guard": _Entry("保安员证考试与发证", ("保安员证",)),
        "exit.hkmo": _Entry("往来港澳通行证及签注", ("港澳通行证", "一次有效签注")),
    }
    reader = FollowUpReader(
        _Knowledge(entries),  # type: ignore[arg-type]
        lambda text, community: _listed(),
        lambda text, entry_id: False,
    )
    # 一次 of "考一次" is in the pass's keywords, 考一 is not: no move to another family's entry.
    assert reader.related("c", "permit.guard", "考一次", _listed("exit.hkmo")) is None
    # All of the words in its keywords, or one in its title, still move there.
    assert reader.related("c", "permit.guard", "一次有效", _listed("exit.hkmo")) == "exit.hkmo"
    assert reader.related("c", "permit.guard", "港澳", _listed("exit.hkmo")) == "exit.hkmo"


def _escalated(*scored: tuple[str, float]) -> MatchResult:
    candidates = tuple(Candidate(e, s, "", "question") for e, s in scored)
    return MatchResult(Outcome.ESCALATE, scored[0][1], candidates, False, "", "no confident match")


RESIDENCE = {
    "residence.register": _Entry("居住登记", ("居住登记",)),
    "residence.permit": _Entry("居住证申领", ("居住证",)),
    "exit.passport": _Entry("普通护照申领", ("护照",)),
}


def test_a_neighbour_likelier_than_not_is_the_one_meant_in_a_conversation_about_its_family() -> None:
    reader = FollowUpReader(
        _Knowledge(RESIDENCE),  # type: ignore[arg-type]
        lambda text, community: _listed(),
        lambda text, entry_id: (text, entry_id) == ("那个证能办不", "residence.permit"),
    )
    likely = _escalated(("residence.permit", 70.0), ("exit.passport", 3.0))
    asked = "住满半年了能办那个证不"
    assert reader.sibling_in_view("c", "residence.register", asked, likely) == "residence.permit"
    # Not likelier than not, of another family, not a question, or ruled out by its knowledge: none.
    assert (
        reader.sibling_in_view("c", "residence.register", asked, _escalated(("residence.permit", 40.0)))
        is None
    )
    assert reader.sibling_in_view("c", "exit.passport", asked, likely) is None
    assert reader.sibling_in_view("c", "residence.register", "住满半年了", likely) is None
    assert reader.sibling_in_view("c", "residence.register", "那个证能办不", likely) is None
    # What the matcher answers alone is its own business.
    assert reader.sibling_in_view("c", "residence.register", asked, _answered("residence.permit")) is None


def test_after_a_list_a_message_that_narrows_its_question_is_read_with_that_question() -> None:
    entries = {
        "exit.hkmo": _Entry("往来港澳通行证及签注", ("港澳通行证",)),
        "exit.taiwan": _Entry("往来台湾通行证及签注", ("台湾通行证",)),
        "traffic.restricted-pass": _Entry("货车通行证", ("通行证",)),
        "residence.hmt-permit": _Entry("港澳台居民居住证", ("台湾居民居住证",)),
    }
    readings = {
        "台湾那个": _listed("exit.taiwan", "residence.hmt-permit"),
        "通行证 台湾那个": _answered("exit.taiwan"),
        "通行证 台胞那个": _answered("residence.hmt-permit"),
    }
    reader = FollowUpReader(
        _Knowledge(entries),  # type: ignore[arg-type]
        lambda text, community: readings.get(text, _listed()),
        lambda text, entry_id: False,
    )
    offered = ("traffic.restricted-pass", "exit.hkmo")
    alone = readings["台湾那个"]
    assert reader.refined("c", offered, "通行证", "台湾那个", alone) == "exit.taiwan"
    # An entry of a family the list did not offer, a reading that is no answer, a message the matcher
    # answers alone, or one with nothing of its own: not narrowed.
    assert reader.refined("c", offered, "通行证", "台胞那个", _listed()) is None
    assert reader.refined("c", offered, "通行证", "香港那个", _listed()) is None
    assert reader.refined("c", offered, "通行证", "台湾那个", _answered("exit.taiwan")) is None
    assert reader.refined("c", offered, "通行证", "要多少钱", alone) is None


def test_after_a_list_the_one_offered_entry_among_those_the_message_could_be_is_picked() -> None:
    offered = ("hukou.move-in", "hukou.move-out")
    both = _listed("hukou.move-out", "exit.passport")
    assert FollowUpReader.one_listed(offered, "往外迁的", both) == picking.Pick(
        1, "hukou.move-out", named=True
    )
    # Not answered alone (another city named), yet the likeliest entry, likelier than not, is offered.
    elsewhere = _escalated(("hukou.move-out", 58.0), ("hukou.move-in", 1.4))
    picked = FollowUpReader.one_listed(offered, "往外迁 我要迁去广州", elsewhere)
    assert picked == picking.Pick(1, "hukou.move-out", named=True)
    # Less likely than not, not the likeliest, or answered alone (the matcher's own answer): no pick.
    for unsure in (
        _escalated(("hukou.move-out", 40.0)),
        _escalated(("refer.social-security", 90.0), ("hukou.move-out", 60.0)),
        _answered("hukou.move-out"),
    ):
        assert FollowUpReader.one_listed(offered, "往外迁 我要迁去广州", unsure) is None
