"""The lexical index's reading of words: which entry a word names, which words a question leaves
unexplained, and what an entry's not_covered questions name instead."""

from __future__ import annotations

import numpy as np

from bot.core.understanding.corpus import Corpus


def test_the_words_by_which_what_an_entry_is_not_names_other_entries() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    renew = Doc("idcard.renew", False, "身份证到期换领", ("身份证",), ("身份证到期怎么换",))
    licence = Doc("licence.renew", False, "驾驶证有效期满换领", ("驾驶证",), ("驾驶证到期怎么换",))
    lexical = LexicalScorer(Corpus((renew, licence)), Normalizer(), {"身份证", "驾驶证", "换证"})
    # 驾驶证 (and its 驾驶) names the licence's entry; 换证 names none, 到期 is the renewal's own word.
    assert lexical.not_words(0, ["驾驶证到期换证"]) == {"驾驶", "驾驶证"}
    assert lexical.not_words(0, []) == frozenset()


def test_a_key_word_is_one_an_entry_is_named_by_not_a_word_of_one_back_story() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    corpus = Corpus(
        (
            Doc(
                "idcard.lost",
                False,
                "身份证丢失补领",
                ("身份证补办",),
                ("身份证丢了怎么补办", "补办身份证要带什么"),
            ),
            Doc("hukou.split", False, "分户", ("分户",), ("怎么分户", "分户要什么材料")),
            Doc("residence.permit", False, "居住证", ("居住证",), ("我在外地打工想办居住证", "居住证怎么办")),
        )
    )
    normalizer = Normalizer()
    lexical = LexicalScorer(corpus, normalizer, {"身份证", "分户", "居住证", "打工"})
    visible = np.ones(3, dtype=bool)

    def unexplained_by_idcard(question: str) -> list[str]:
        return lexical.uncovered(lexical.rank(normalizer(question), visible), 0)

    # 打工 is in one question's back-story of another entry: context, the ID card entry still answers.
    assert unexplained_by_idcard("我在这边打工 身份证丢了怎么补办") == []
    # 分户 names another entry: an ID card answer would leave it unexplained.
    assert unexplained_by_idcard("身份证丢了还能分户吗") == ["分户"]


def test_a_word_is_bare_and_shared_only_when_several_entries_are_named_by_it() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    corpus = Corpus(
        (
            Doc("hukou.split", False, "分户", ("分户",), ("怎么分户",)),
            Doc("hukou.move-in", False, "户口迁入", ("迁入",), ("分户以后老人怎么迁过来",)),
            Doc("idcard.lost", False, "身份证丢失补领", ("身份证",), ("身份证丢了怎么补",)),
            Doc("idcard.renew", False, "身份证到期换领", ("身份证",), ("身份证到期怎么换",)),
        )
    )
    normalizer = Normalizer()
    lexical = LexicalScorer(corpus, normalizer, {"分户", "身份证", "迁入"})
    # 分户 turns up in another entry's question, but only one entry is named by it: that one is meant.
    assert not lexical.is_bare_shared_word(lexical.segmenter.segment("分户"))
    # 身份证 names two entries: alone it asks "which one?".
    assert lexical.is_bare_shared_word(lexical.segmenter.segment("身份证"))


def test_a_word_a_few_of_many_questions_mention_does_not_name_the_entry() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    visa = (
        "签证快到期了怎么延期",
        "居留许可怎么办",
        "外国人签证过期了怎么办",
        "工作签证要什么材料",
        "签证延期要几天",
        "留学生签证怎么续",
        "居留许可能代办吗",
        "签证延期收费吗",
    )
    corpus = Corpus(
        (
            Doc("exit.passport", False, "普通护照申领", ("护照",), ("护照怎么办", "护照要多久")),
            # Two of ten questions of the visa entry mention a passport: context, not its name.
            Doc(
                "exit.visa",
                False,
                "外国人签证延期",
                ("签证",),
                (*visa, "护照换了签证怎么办", "护照丢了签证还有效吗"),
            ),
            Doc("residence.permit", False, "居住证", ("居住证",), ("居住证怎么办", "居住证要多久")),
            Doc("residence.hmt", False, "港澳台居民居住证", ("居住证",), ("香港人办居住证",)),
        )
    )
    lexical = LexicalScorer(corpus, Normalizer(), {"护照", "签证", "居住证"})
    assert not lexical.is_bare_shared_word(lexical.segmenter.segment("护照"))
    assert lexical.is_bare_shared_word(lexical.segmenter.segment("居住证"))
    # Half of the visa entry's questions: now 护照 is a word residents call it by too.
    corpus = Corpus(
        (*corpus.docs[:1], Doc("exit.visa", False, "外国人签证延期", ("签证",), ("护照签证", "护照延期")))
    )
    lexical = LexicalScorer(corpus, Normalizer(), {"护照", "签证"})
    assert lexical.is_bare_shared_word(lexical.segmenter.segment("护照"))


def test_another_bodys_topic_named_by_a_word_does_not_make_it_shared() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    passport = Doc("exit.passport", False, "普通护照申领", ("护照",), ("护照怎么办", "护照要多久"))
    abroad = Doc("refer.passport-abroad", True, "在国外补办护照", ("护照",), ("在国外护照丢了",))
    lexical = LexicalScorer(Corpus((passport, abroad)), Normalizer(), {"护照"})
    # "Which one?" offers police entries only: one of them is named by 护照, so that one is meant.
    assert not lexical.is_bare_shared_word(lexical.segmenter.segment("护照"))
    twin = Doc("exit.official", False, "公务护照", ("护照",), ("公务护照怎么办",))
    lexical = LexicalScorer(Corpus((passport, abroad, twin)), Normalizer(), {"护照"})
    assert lexical.is_bare_shared_word(lexical.segmenter.segment("护照"))


def test_words_that_each_name_several_entries_say_which_entries_may_be_meant() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    corpus = Corpus(
        (
            Doc("idcard.lost", False, "身份证丢失补领", ("证件", "丢失"), ("身份证丢失怎么补",)),
            Doc("licence.lost", False, "驾驶证遗失补领", ("证件", "丢失"), ("驾驶证丢失怎么补",)),
            Doc("booklet.lost", False, "户口簿补领", ("丢失",), ("户口簿丢失我要补",)),
            Doc("passport", False, "护照申领", ("证件", "护照"), ("护照怎么办",)),
            Doc("refer.social", True, "社保卡补办", ("社保卡", "丢失"), ("社保卡丢失怎么办",)),
        )
    )
    words = {"证件", "丢失", "护照", "社保卡", "身份证丢失", "我要"}
    lexical = LexicalScorer(corpus, Normalizer(), words)

    def several(text: str) -> dict[str, int]:
        named = lexical.named_by_several(lexical.segmenter.segment(text))
        return {corpus.docs[doc].id: n for doc, n in named.items()}

    # 证件 and 丢失 each name several police entries: how many of the words name each entry.
    lost = {"idcard.lost": 2, "licence.lost": 2, "booklet.lost": 1, "passport": 1}
    assert several("证件丢失") == lost
    assert several("我要证件丢失") == lost  # a word naming nothing is chat
    # One word names one entry (护照; 身份证丢失): that entry is meant, no "which one?".
    assert several("护照丢失") == {}
    assert several("身份证丢失") == {}
    # A word naming another body's topic, or one no phrasing uses (the matter the knowledge base
    # may lack): not a question of which of ours.
    assert several("社保卡丢失") == {}
    assert several("公积金证件丢失") == {}
    assert several("的") == {}


def test_a_typo_is_repaired_but_never_read_into_a_word_typed_right() -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding.corpus import Doc
    from bot.core.understanding.lexical import LexicalScorer

    corpus = Corpus(
        (
            Doc("vehicle.register", False, "轿车上牌", ("轿车",), ("买了轿车怎么上牌",)),
            Doc("hukou.move", False, "户口迁移", ("户口迁移",), ("户口迁移要什么",)),
            Doc("report.lost", False, "失物招领", ("公交车",), ("东西落在公交车上了",)),
        )
    )
    lexical = LexicalScorer(corpus, Normalizer(), {"轿车", "户口迁移", "公交车"})
    # 签移 is no word of ours: the 迁移 it sounds like is read in.
    _, repaired, added = lexical.query_terms("户口签移要什么")
    assert "签移" in repaired and "迁移" in added
    # 交车 sounds like 轿车, but it is the end of 公交车, which the resident typed right.
    _, repaired, added = lexical.query_terms("钱包落在公交车上了")
    assert "轿车" not in added and "交车" not in repaired
    # The same two characters standing alone are still a typo.
    _, _, added = lexical.query_terms("交车怎么上牌")
    assert "轿车" in added
