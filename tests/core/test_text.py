import pytest

from bot.core.text import MATCH_CHAR_LIMIT, Normalizer, fold, from_cantonese


def test_fold_full_width_traditional_and_case() -> None:
    assert fold("ＡＢＣ１２３") == "abc123"
    assert fold("戶口註銷") == "户口注销"
    assert fold("身份證") == "身份证"


def test_normalizer_removes_fillers_and_punctuation() -> None:
    normalize = Normalizer()
    assert normalize("你好，请问身份证怎么补办？谢谢！") == "身份证怎么补办"


def test_synonyms_map_to_the_canonical_word_longest_first() -> None:
    normalize = Normalizer([["驾驶证", "机动车驾驶证", "驾照"], ["身份证", "id card"]])
    assert normalize("机动车驾驶证到期") == "驾驶证到期"
    assert normalize("驾照到期") == "驾驶证到期"
    assert normalize("拿别人的 ID Card 上网") == "拿别人的 身份证 上网"


def test_latin_synonyms_match_whole_words_only() -> None:
    normalize = Normalizer([["警察", "police"]])
    assert normalize("policeman") == "policeman"
    assert normalize("call the police now") == "call the 警察 now"


def test_control_characters_and_emoji_disappear() -> None:
    normalize = Normalizer()
    assert normalize("身份证\x00\u200b补办😀😀") == "身份证补办"
    assert normalize("😀🙏🎉") == ""


def test_long_text_is_cut_before_matching() -> None:
    normalize = Normalizer()
    assert len(normalize("户" * 100_000)) == MATCH_CHAR_LIMIT


def test_a_variant_inside_its_canonical_word_is_left_alone() -> None:
    normalize = Normalizer([["注销户口", "销户", "户口注销"]])
    assert normalize("死亡注销户口") == "死亡注销户口"
    assert normalize("过世销户") == "过世注销户口"


def test_look_alike_characters_fold_to_the_common_one() -> None:
    # 囗 (an enclosure radical) slips in for 口 through input methods: 户囗 is 户口.
    assert fold("戶囗本丢了") == "户口本丢了"
    assert Normalizer([["户口", "户籍"]])("户囗迁移") == Normalizer([["户口", "户籍"]])("户口迁移")


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("我部車嘅駕照唔見咗，點樣補返？", "我部车的驾照不见了,怎样补回?"),
        ("通行證點攞", "通行证怎么拿"),
        ("身份證過期點換？要幾多錢？", "身份证过期怎么换?要多少钱?"),
        ("喺邊度辦", "在哪里办"),
        ("佢哋系咪要嚟", "他们是不是要来"),
        # Mandarin's own words stay: 关系, 系统, 一点办法, 早点办, 受理点, 哪个点.
        ("关系系统", "关系系统"),
        ("一点办法都没有", "一点办法都没有"),
        ("早点办", "早点办"),
        ("要回原来的受理点领吗", "要回原来的受理点领吗"),
        ("去哪个点办", "去哪个点办"),
        ("几点开门", "几点开门"),
    ],
)
def test_cantonese_function_words_read_as_mandarin(text: str, read: str) -> None:
    assert from_cantonese(fold(text)) == read
