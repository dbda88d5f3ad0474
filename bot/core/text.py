"""Text normalisation: the same steps for knowledge phrasings and for residents' messages.

Residents type full-width characters, traditional characters, mixed English, emoji and chatty fillers;
all of that is folded away here so the matcher compares like with like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Longer messages are cut before matching: a question never needs more, and it bounds the work.
MATCH_CHAR_LIMIT = 400


def _variant_pattern(variant: str) -> str:
    escaped = re.escape(variant)
    # Latin variants (id card, hukou) must match whole words, or "police" would fire inside "policeman".
    if variant[:1].isascii() and variant[:1].isalnum():
        escaped = r"(?<![a-z])" + escaped
    if variant[-1:].isascii() and variant[-1:].isalnum():
        escaped = escaped + r"(?![a-z])"
    return escaped


# Greetings and politeness that carry no meaning for matching. Removed as whole phrases.
FILLERS: tuple[str, ...] = (
    "你好",
    "您好",
    "大家好",
    "请问一下",
    "请问",
    "想问一下",
    "想问下",
    "问一下",
    "问下",
    "麻烦问一下",
    "麻烦你",
    "麻烦您",
    "麻烦",
    "打扰了",
    "打扰一下",
    "谢谢你",
    "谢谢您",
    "谢谢",
    "多谢",
    "感谢",
    "辛苦了",
    "警察同志",
    "同志",
    "hello",
    "hi",
    "thanks",
    "thank you",
    "please",
)

_FILLER_RE = re.compile("|".join(_variant_pattern(f) for f in sorted(FILLERS, key=len, reverse=True)))
# The CJK ideographs we read (Extension A and the unified block), as inclusive code point ranges, and
# as the inside of a regular expression's character class.
CJK_RANGES: tuple[tuple[int, int], ...] = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
CJK_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_RANGES)
# Anything that is not a letter, digit or CJK ideograph becomes a space (punctuation, emoji, symbols).
NON_WORD_RE = re.compile(f"[^0-9a-z{CJK_CLASS}]+")
_SPACES_RE = re.compile(r"\s+")
_CJK_RE = re.compile(f"[{CJK_CLASS}]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # imported lazily: only needed once text arrives

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def strip_controls(text: str) -> str:
    """Drop control and format characters (zero-width joiners, bidi marks) but keep line breaks."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


# Characters that look the same as a common one and slip in through input methods (户囗 for 户口).
_LOOK_ALIKES = str.maketrans({"囗": "口"})


def fold(text: str) -> str:
    """Width, case, script and look-alike folding without removing anything meaningful."""
    text = unicodedata.normalize("NFKC", text[: MATCH_CHAR_LIMIT * 2])
    text = strip_controls(text)
    return to_simplified(text).lower().translate(_LOOK_ALIKES)


# Cantonese written the way it is spoken (Guangxi has many speakers), after folding to simplified
# characters: its function words to the Mandarin ones the knowledge base is written in, so that
# "驾照唔见咗点样补返" reads as "驾照不见了怎样补返". Only words and characters that Mandarin text does
# not use in another sense: not 系 (关系, 系统) or 返 (返回).
CANTONESE: dict[str, str] = {
    "唔见咗": "不见了",
    "唔见": "不见",
    "系唔系": "是不是",
    "系咪": "是不是",
    "唔系": "不是",
    "点样": "怎样",
    "点搞": "怎么搞",
    "点解": "为什么",
    "喺边度": "在哪里",
    "边度": "哪里",
    "喺边": "在哪",
    "边个": "哪个",
    "几多钱": "多少钱",
    "几多": "多少",
    "几耐": "多久",
    "乜嘢": "什么",
    "咩": "什么",
    "而家": "现在",
    "宜家": "现在",
    "琴日": "昨天",
    "听日": "明天",
    "唔该": "谢谢",
    "补返": "补回",
    "换返": "换回",
    "攞返": "拿回",
    "搵返": "找回",
    "嚟": "来",
    "佢哋": "他们",
    "冇": "没有",
    "唔": "不",
    "咗": "了",
    "嘅": "的",
    "喺": "在",
    "攞": "拿",
    "佢": "他",
    "啲": "些",
    "畀": "给",
    "搵": "找",
    "睇": "看",
    "嘢": "东西",
}
_CANTONESE_RE = re.compile("|".join(sorted(CANTONESE, key=len, reverse=True)))
# 点 before a verb that ends the question is "how" (点换？, 点补返, 点攞); not in Mandarin's own 点 words
# (一点办法, 早点办, 受理点领吗, 哪个点办), where a verb may follow too.
_HOW_RE = re.compile(
    "(?<![一几有差早晚多少快慢重要缺优特地钟终起焦热亮标景据网站理踩个])点"
    f"(?=[攞拿换补办搞做整申领](?:返|呀|啊|先|好|到|$|[^{CJK_CLASS}]))"
)


def from_cantonese(folded: str) -> str:
    """Cantonese function words of folded text in their Mandarin form (see CANTONESE)."""
    return _CANTONESE_RE.sub(lambda m: CANTONESE[m.group(0)], _HOW_RE.sub("怎么", folded))


class Normalizer:
    """fold → Cantonese words to Mandarin → synonyms to their canonical word → fillers out →
    punctuation to spaces."""

    def __init__(self, synonym_groups: Iterable[Iterable[str]] = ()) -> None:
        mapping: dict[str, str] = {}
        for group in synonym_groups:
            words = [fold(w).strip() for w in group if w and w.strip()]
            if not words:
                continue
            canonical = words[0]
            for variant in words[1:]:
                if variant != canonical:
                    mapping[variant] = canonical
        self._mapping = mapping
        self.canonical_words = frozenset(mapping.values())
        # Canonical words are in the pattern too (mapped to themselves), longest first: otherwise the
        # variant 销户 would be replaced inside the canonical 注销户口 and garble it.
        words = sorted(set(mapping) | self.canonical_words, key=len, reverse=True)
        self._synonym_re = re.compile("|".join(_variant_pattern(w) for w in words)) if words else None

    def __call__(self, text: str) -> str:
        text = from_cantonese(fold(text)[:MATCH_CHAR_LIMIT])
        if self._synonym_re is not None:
            text = self._synonym_re.sub(lambda m: self._mapping.get(m.group(0), m.group(0)), text)
        text = _FILLER_RE.sub(" ", text)
        text = NON_WORD_RE.sub(" ", text)
        return _SPACES_RE.sub(" ", text).strip()


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def is_cjk_char(ch: str) -> bool:
    return bool(_CJK_RE.fullmatch(ch))
