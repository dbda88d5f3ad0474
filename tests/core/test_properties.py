"""Property tests: the normaliser, the matcher and the privacy masker on arbitrary input.

Residents type anything: control characters, emoji, whole pasted documents, traditional characters,
rare ideographs. None of it may crash the engine or leak a personal number.

Idempotence of `Normalizer` is deliberately NOT asserted in general, because it does not hold:
- a synonym's canonical word can complete another variant with its neighbours:
  居民身分证 → 居民身份证 → 身份证, 弄弄丢 → 弄丢失 → 丢失失;
- punctuation between Latin words becomes a space only after the synonym and filler passes:
  "id-card" → "id card" → "身份证", "thank,you" → "thank you" → "";
- OpenCC's t2s is not idempotent itself: 薴 → 苧 → 苎.
It is asserted where it matters: the knowledge base's own phrasings, once normalised, stay put.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pypinyin import Style, lazy_pinyin

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import MatchResult, Outcome
from bot.core.privacy import mask_personal_numbers
from bot.core.text import FILLERS, MATCH_CHAR_LIMIT, Normalizer, fold
from bot.core.understanding.fusion import MAX_OFFERED
from bot.kb.loader import load_knowledge
from tests.conftest import FIXTURE_KB

COMMUNITIES = ("gongyuan", "hexi")
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=_QUIET)  # microseconds each
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=_QUIET)  # the matcher: milliseconds


# ---- built once per module: function-scoped fixtures and @given do not mix ----------------------------
@functools.cache
def _kb() -> KnowledgeBase:
    return load_knowledge(FIXTURE_KB)


@functools.cache
def _normalizer() -> Normalizer:
    return Normalizer(_kb().synonyms)


@functools.cache
def _matcher() -> Matcher:
    return Matcher(_kb())


def _phrasings() -> list[str]:
    kb = _kb()
    texts: set[str] = set()
    for entry in kb.entries.values():
        a = entry.answer
        texts |= {entry.title, *entry.questions, *entry.keywords, a.summary, *a.materials, a.where, a.fees}
    for referral in kb.referrals.values():
        texts |= {referral.title, *referral.questions, *referral.keywords, referral.handled_by}
    for group in kb.synonyms:
        texts |= set(group)
    return sorted(t for t in texts if t)


# ---- strategies --------------------------------------------------------------------------------------
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
CJK_EXT_A = st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF)
# Characters pypinyin has no reading for (about 880 of the ideographs, mostly in extension A). At commit
# 46b586a `segment.char_pinyin` indexed `lazy_pinyin(ch)[0]` and raised IndexError on them, which crashed
# Matcher.match and with it `policebot ask` (a whole stdin batch stopped at the first such line).
NO_PINYIN = ("㐂", "兙", "嗧", "桛")
CJK_PUNCT = st.sampled_from(list("，。！？、；：“”‘’（）【】《》…—·～ \n\t\u3000"))
EMOJI_CHAR = st.one_of(
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), st.sampled_from("\u200d\ufe0f")
)
EMOJI = st.one_of(EMOJI_CHAR, st.sampled_from(["👨\u200d👩\u200d👧", "👍🏽", "🇨🇳", "❤️"]))
CONTROLS = st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"])
# The words the fixture knowledge base and its synonyms use, plus chat noise around them.
WORDS = st.sampled_from(
    [
        "身份证",
        "身份證",
        "身分证",
        "居民身份证",
        "丢了",
        "弄丢",
        "补办",
        "补领",
        "上户口",
        "报户口",
        "id card",
        "ID Card",
        "ＩＤ",
        "你好",
        "请问",
        "谢谢",
        "thank you",
        "hello",
        "救命",
        "有人在撬门",
        "停电了",
        "巡逻",
        "警务室",
        "怎么办",
        "吗",
        "<b>",
        "&nbsp;",
        "13812345678",
    ]
)
CJK_MIX = st.lists(
    st.one_of(
        WORDS, st.text(CJK, max_size=4), CJK_PUNCT, EMOJI, st.text(max_size=3), st.sampled_from(NO_PINYIN)
    ),
    max_size=40,
).map("".join)
LONG = st.one_of(
    st.lists(st.text(max_size=60), min_size=30, max_size=80).map("".join),
    st.builds(lambda word, n: word * n, WORDS, st.integers(min_value=50, max_value=1500)),
)
ANY_TEXT = st.one_of(
    st.text(),  # every code point but surrogates, control characters included
    st.text(st.one_of(CONTROLS, EMOJI_CHAR, CJK_PUNCT), max_size=50),
    st.text(st.one_of(CJK, CJK_EXT_A, CJK_PUNCT, st.sampled_from(NO_PINYIN)), max_size=80),
    CJK_MIX,
    LONG,
)
# Nothing here survives normalisation: punctuation, spaces, line and paragraph separators, control and
# format characters (zero-width joiners, bidi marks), private use, unassigned code points, emoji.
NO_WORDS = st.lists(
    st.one_of(st.characters(categories=["P", "Z", "Cc", "Cf", "Co", "Cn"]), EMOJI), max_size=60
).map("".join)

_NORMALIZED_RE = re.compile(
    r"(?:[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+(?: [0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+)*)?"
)


def _has_pinyin(ch: str) -> bool:
    return bool(lazy_pinyin(ch, style=Style.NORMAL, errors="ignore"))


# ---- Normalizer ----------------------------------------------------------------------------------------
@FAST
@given(ANY_TEXT)
@example("")
@example("\x00\x1f\x7f\u200b\u200d\u202e\ufeff")
@example("拿别人的 ID Card 上网，身份證丢了😀")
@example("上户口" * 200)
def test_normalizer_returns_clean_stripped_text(text: str) -> None:
    out = _normalizer()(text)
    assert isinstance(out, str)
    assert out == out.strip()
    # only ASCII lower-case letters, digits and ideographs, words separated by exactly one space
    assert _NORMALIZED_RE.fullmatch(out), out


@FAST
@given(ANY_TEXT)
def test_normalizer_output_is_bounded(text: str) -> None:
    # The message is cut at MATCH_CHAR_LIMIT before synonyms are mapped, so the output can only grow by
    # the largest canonical/variant length ratio (上户口 → 出生登记). Without synonyms it never grows.
    ratio = max(len(fold(group[0])) / len(fold(variant)) for group in _kb().synonyms for variant in group[1:])
    assert len(_normalizer()(text)) <= math.ceil(MATCH_CHAR_LIMIT * ratio)
    assert len(Normalizer()(text)) <= MATCH_CHAR_LIMIT


@FAST
@given(NO_WORDS)
def test_text_without_words_normalizes_to_nothing(text: str) -> None:
    assert _normalizer()(text) == ""


@FAST
@given(st.lists(st.sampled_from(_phrasings()), min_size=1, max_size=8), st.sampled_from([" ", "，", "。\n"]))
def test_normalized_knowledge_phrasings_are_a_fixed_point(phrasings: list[str], glue: str) -> None:
    normalize = _normalizer()
    once = normalize(glue.join(phrasings))
    assert once  # every phrasing of the knowledge base has words left after normalisation
    assert normalize(once) == once


@FAST
@given(st.from_regex(r"[a-z]{0,6}hi[a-z]{0,6}", fullmatch=True))
@example("this")
@example("child")
@example("vehicle")
def test_latin_fillers_are_removed_as_whole_words_only(word: str) -> None:
    assume(word not in FILLERS)
    assert Normalizer()(f"my {word} is lost") == f"my {word} is lost"


# ---- Matcher -------------------------------------------------------------------------------------------
def _check_result(result: MatchResult, community: str) -> None:
    kb, thresholds = _kb(), _matcher().thresholds
    assert isinstance(result, MatchResult)
    assert isinstance(result.outcome, Outcome)
    assert 0.0 <= result.score <= 100.0
    scores = [c.score for c in result.candidates]
    assert all(0.0 <= s <= 100.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    if result.candidates:
        assert result.score == result.candidates[0].score
    visible = kb.visible_ids(community) | set(kb.referrals)
    assert {c.entry_id for c in result.candidates} <= visible
    if result.outcome is Outcome.CLARIFY:
        assert 1 <= len(result.candidates) <= MAX_OFFERED
        assert all(c.entry_id in kb.visible_ids(community) for c in result.candidates)
    if result.outcome is Outcome.ANSWER:
        assert len(result.candidates) == 1
        assert result.candidates[0].entry_id in kb.visible_ids(community)
        assert result.score >= 100 * thresholds.answer - 0.01
        assert 0.0 <= result.confidence <= 1.0


@SLOW
@given(ANY_TEXT, st.sampled_from(COMMUNITIES))
@example("身份证丢了怎么补办", "gongyuan")
@example("身份证", "gongyuan")
@example("家里停电了找谁", "gongyuan")
@example("救命！有人在撬门", "hexi")
@example("户" * 100_000, "gongyuan")
@example("\x00\u200b😀", "gongyuan")
def test_match_never_raises_and_is_well_formed(text: str, community: str) -> None:
    _check_result(_matcher().match(text, community), community)


@SLOW
@given(CJK_MIX)
def test_match_is_deterministic(text: str) -> None:
    matcher = _matcher()
    first = matcher.match(text, "gongyuan")
    _check_result(first, "gongyuan")
    assert matcher.match(text, "gongyuan") == first


@settings(max_examples=40, deadline=None)
@given(
    st.text(CJK, max_size=6),
    st.sampled_from(NO_PINYIN),
    st.text(CJK, max_size=6),
    st.sampled_from(COMMUNITIES),
)
@example("身份证", "兙", "丢了怎么补办", "gongyuan")
def test_match_survives_ideographs_without_pinyin(before: str, rare: str, after: str, community: str) -> None:
    assert not _has_pinyin(rare)  # the premise: pypinyin knows no reading for it
    result = _matcher().match(before + rare + after, community)
    _check_result(result, community)
    if before + after == "身份证丢了怎么补办":
        assert result.outcome is Outcome.ANSWER and result.best.entry_id == "idcard.lost"


# ---- privacy -------------------------------------------------------------------------------------------
def _id_check_digit(body: str) -> str:
    """GB 11643: weights 2^(17-i) mod 11, check value (12 - sum mod 11) mod 11, 10 written X."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def test_check_digit_helper_agrees_with_the_standard_example() -> None:
    assert _id_check_digit("11010519491231002") == "X"


def _id_number(area: int, born: date, sequence: int, lower_x: bool) -> str:
    body = f"{area:06d}{born:%Y%m%d}{sequence:03d}"
    number = body + _id_check_digit(body)
    return number.lower() if lower_x else number


ID_NUMBERS = st.builds(
    _id_number,
    st.integers(min_value=110000, max_value=829999),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=999),
    st.booleans(),
)
CJK_TEXT = st.text(st.one_of(CJK, CJK_PUNCT), max_size=30)
DIGITS_AND_SEPARATORS = st.text(st.sampled_from(list("0123456789０１２３ -+86Xx身份证号")), max_size=60)


@FAST
@given(st.one_of(ANY_TEXT, DIGITS_AND_SEPARATORS))
@example("+86 138 1234 5678")
@example("11010519491231002X")
def test_masking_never_raises_nor_lengthens(text: str) -> None:
    masked = mask_personal_numbers(text)
    assert isinstance(masked, str)
    assert len(masked) <= len(text)


@FAST
# Two numbers written back to back are one 36-digit number, not two IDs: something stands between them.
@given(
    CJK_TEXT, ID_NUMBERS, st.text(st.one_of(CJK, CJK_PUNCT), min_size=1, max_size=30), ID_NUMBERS, CJK_TEXT
)
def test_valid_id_numbers_in_chinese_text_never_survive(
    head: str, first: str, middle: str, second: str, tail: str
) -> None:
    text = head + first + middle + second + tail
    masked = mask_personal_numbers(text)
    for number in (first, second):
        assert number not in masked
        assert number[6:14] not in masked  # the date of birth is the personal part
    # the surrounding words are kept as they were
    assert masked.startswith(head) and masked.endswith(tail) and middle in masked
