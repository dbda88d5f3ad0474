from bot.core.matcher import Matcher
from bot.core.models import Outcome


def test_answers_a_known_question(small_matcher: Matcher) -> None:
    result = small_matcher.match("身份证丢了怎么补办", "gongyuan")
    assert result.outcome is Outcome.ANSWER
    assert result.best is not None and result.best.entry_id == "idcard.lost"


def test_explains_itself_with_the_phrasing_that_matched(small_matcher: Matcher) -> None:
    best = small_matcher.match("身份证到期了怎么换", "gongyuan").best
    assert best is not None
    assert best.entry_id == "idcard.renew"
    assert best.matched == "身份证到期了怎么换"
    assert best.field == "question"
    assert 0 < best.score <= 100


def test_homophone_typos_are_repaired(small_matcher: Matcher) -> None:
    # 身分证 is a synonym; 身份正 is only repaired through pinyin.
    for text in ("身分证丢了怎么补办", "身份正丢了怎么补办"):
        result = small_matcher.match(text, "gongyuan")
        assert result.best is not None and result.best.entry_id == "idcard.lost", text


def test_traditional_and_full_width_input(small_matcher: Matcher) -> None:
    result = small_matcher.match("身份證丟了怎麼補辦？", "gongyuan")
    assert result.best is not None and result.best.entry_id == "idcard.lost"


def test_a_bare_word_shared_by_entries_asks_which_one(small_matcher: Matcher) -> None:
    result = small_matcher.match("身份证", "gongyuan")
    assert result.outcome is Outcome.CLARIFY
    ids = {c.entry_id for c in result.candidates}
    assert {"idcard.lost", "idcard.renew"} <= ids
    assert 2 <= len(result.candidates) <= 4


def test_unrelated_questions_are_escalated(small_matcher: Matcher) -> None:
    for text in ("柳州哪家餐厅好吃", "明天会下雨吗", "股票怎么买"):
        assert small_matcher.match(text, "gongyuan").outcome is Outcome.ESCALATE, text


def test_referral_topics_escalate_instead_of_answering(small_matcher: Matcher) -> None:
    result = small_matcher.match("家里停电了找谁", "gongyuan")
    assert result.outcome is Outcome.ESCALATE
    assert result.reason == "outside police services"
    assert result.best is not None and result.best.entry_id == "refer.utilities"


def test_hidden_entries_are_not_offered_in_that_community(small_matcher: Matcher) -> None:
    asked = "孩子出生了怎么报户口"
    elsewhere = small_matcher.match(asked, "hexi")
    assert elsewhere.outcome is Outcome.ANSWER and elsewhere.best.entry_id == "hukou.birth"
    hidden = small_matcher.match(asked, "gongyuan")
    assert all(c.entry_id != "hukou.birth" for c in hidden.candidates)


def test_local_entries_only_in_their_community(small_matcher: Matcher) -> None:
    asked = "夜间巡逻志愿者怎么报名"
    assert small_matcher.match(asked, "gongyuan").best.entry_id == "gongyuan.patrol"
    assert all(c.entry_id != "gongyuan.patrol" for c in small_matcher.match(asked, "hexi").candidates)


def test_emergencies_are_left_to_triage(small_matcher: Matcher) -> None:
    # Triage runs before matching (bot/core/triage); the matcher only says what the words are about.
    assert not small_matcher.match("救命！有人在撬门", "gongyuan").urgent


def test_empty_and_symbol_only_input(small_matcher: Matcher) -> None:
    for text in ("", "   ", "😀😀", "？？？", "\x00\x01"):
        result = small_matcher.match(text, "gongyuan")
        assert result.outcome is Outcome.ESCALATE
        assert result.candidates == ()


def test_same_input_same_result(small_matcher: Matcher) -> None:
    first = small_matcher.match("补办身份证要带什么", "gongyuan")
    for _ in range(3):
        assert small_matcher.match("补办身份证要带什么", "gongyuan") == first


def test_domain_words_are_learned_whatever_the_order() -> None:
    from bot.core.segment import Segmenter

    segmenter = Segmenter()
    segmenter.add_words(["甲乙丙丁戊己庚", "甲乙丙丁"])
    assert "甲乙丙丁" in segmenter.segment("甲乙丙丁怎么办")


def test_one_knowledge_base_does_not_change_how_another_is_cut() -> None:
    from bot.core.segment import Segmenter

    taught, fresh = Segmenter(), Segmenter()
    taught.add_words(["丙丁戊己"])
    assert "丙丁戊己" in taught.segment("甲乙丙丁戊己")
    assert "丙丁戊己" not in fresh.segment("甲乙丙丁戊己")


def test_a_shared_word_with_only_a_vague_noun_is_read_as_the_bare_word(small_matcher: Matcher) -> None:
    # "问题" names no matter of its own: "身份证的问题" is a bare 身份证, a "which one?" when nothing fits.
    view = small_matcher._view
    visible = small_matcher._mask(view, "gongyuan")

    def broad(text: str) -> bool:
        return view.scorers.analyse(text, view.normalizer(text), visible, None).broad

    assert broad("身份证的问题") and broad("身份证")
    assert not broad("身份证丢了的问题")


def test_a_shared_word_with_only_a_vague_noun_is_never_answered_outright(small_matcher: Matcher) -> None:
    # However sure the fusion is of one of them, "身份证的问题" names both ID-card entries alike: every
    # candidate is blocked, as for the bare 身份证, so it can be offered but not answered.
    view = small_matcher._view
    visible = small_matcher._mask(view, "gongyuan")
    for text in ("身份证的问题", "身份证"):
        analysis = view.scorers.analyse(text, view.normalizer(text), visible, None)
        assert analysis.candidates and all(analysis.blocked)
        assert small_matcher.match(text, "gongyuan").outcome is not Outcome.ANSWER
    lost = "身份证丢了的问题"
    assert not all(view.scorers.analyse(lost, view.normalizer(lost), visible, None).blocked)
