"""Chinese word segmentation (jieba) and pinyin keys for homophone repair.

jieba's general dictionary (500,000 words and prefixes) would be a dict of some 60 MB per process;
it is kept instead as a compact read-only `WordStore` (14 MB), prepared once in the data directory
and mapped from there. Each knowledge base's tokenizer reads it through and keeps only its own words.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from bot.core.text import is_cjk_char
from bot.core.word_store import WordStore, open_word_store

# Words that say nothing about which procedure is meant. Removed after segmentation.
STOPWORDS: frozenset[str] = frozenset(
    str.split(
        """
        的 了 吗 呢 吧 啊 呀 哦 嘛 啦 么 哈 嗯 噢 哎 喔 呗 咯 咧 之 与 和
        及 或 跟 同 而 并 也 都 还 就 又 再 才 我 你 您 他 她 它 我们 你们
        他们 她们 咱 咱们 自己 本人 人家 大家 俺 这 那 这个 那个 这些 那些 这样
        那样 这种 那种 这边 那边 是 是不是 有 有没有 没有 没 在 在不在 会 会不会
        能 能不能 可以 可不可以 可否 要 要不要 需要 需不需要 想 想要 应该 应当 得
        必须 一定 一下 一个 一些 怎么 怎么样 怎样 如何 咋 咋办 啥 什么 哪 哪些
        哪里 哪儿 哪个 为什么 为何 多少 几 吗 请 请问 问 问问 一 个 些 给 把 被
        让 对 对于 关于 从 到 向 为 以 于 上 下 中 里 内 外 前 后 时 时候
        现在 已经 刚 刚刚 然后 如果 但是 可是 因为 所以 还是 或者 就是 只是 不
        不是 不能 不会 不用 不要 好 很 太 最 更 比较 非常 特别 真的 其实 一般
        怎么办 办 办理 搞 弄 做 去 来 说 知道 告诉 了解 下来 出来 起来 过 着 嘛
        呃 哇 啊啊 好的 行 行不行 谢 多谢
        """
    )
)

SUBWORD_WEIGHT = 0.4

_lock = threading.Lock()
_base = None
_cache_dir: Path | None = None


def configure_cache_dir(path: Path) -> None:
    """Where the prepared general dictionary is kept; call before the first segmentation."""
    global _cache_dir
    _cache_dir = path


def _import_jieba():
    """jieba without pkg_resources, which it only uses to open its own data files (and falls back to
    their path without it): importing pkg_resources scans every installed distribution, about 5 MB
    resident and a tenth of a second for nothing the app uses. First called under `_lock`."""
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes its import fail
    try:
        import jieba
    finally:
        if sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]
    return jieba


def _base_tokenizer():
    """jieba over the general dictionary, once per process: mapped from the cache directory, or built
    from jieba's dict.txt (about a second) when it is missing there, damaged or of another dictionary.

    jieba's own `initialize()` is never called: it would build or unmarshal the dict this replaces."""
    global _base
    if _base is None:
        with _lock:
            if _base is None:
                jieba = _import_jieba()

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                dictionary = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
                store = open_word_store(dictionary, jieba.Tokenizer.gen_pfdict, _cache_dir)
                tok = jieba.Tokenizer()
                tok.FREQ, tok.total = store, store.total
                tok.initialized = True
                _base = tok
    return _base


def general_words() -> WordStore:
    """jieba's general dictionary: words with their frequencies, their prefixes with 0."""
    return _base_tokenizer().FREQ


def is_dictionary_word(word: str) -> bool:
    """A word of jieba's general dictionary (not a fragment that search mode cut out)."""
    return bool(general_words().get(word))


_MISSING: object = object()


class _Words(dict):
    """One tokenizer's word frequencies: the words it was taught, over the general dictionary, which
    is shared and never changed. A copy of the general dictionary per tokenizer cost 15 MB for a few
    thousand words; reading through costs some 15 µs a question. jieba only asks `in`, `[]` and
    `get` of it, and sets the words (and their prefixes) it is taught."""

    __slots__ = ("_general",)

    def __init__(self, general: WordStore) -> None:
        super().__init__()
        self._general = general

    def __contains__(self, word: object) -> bool:
        return dict.__contains__(self, word) or word in self._general

    def __getitem__(self, word: str) -> int:
        try:
            return dict.__getitem__(self, word)
        except KeyError:
            return self._general[word]

    def get(self, word: str, default: int | None = None) -> int | None:  # type: ignore[override]
        own = dict.get(self, word, _MISSING)
        return self._general.get(word, default) if own is _MISSING else own


class Segmenter:
    """A jieba tokenizer of its own, so the domain words of one knowledge base never change how
    another one (or a test's) is cut: what it is taught stays in its own `_Words`."""

    def __init__(self) -> None:
        general = general_words()
        tok = _import_jieba().Tokenizer()
        tok.FREQ, tok.total = _Words(general), general.total
        tok.initialized = True
        self._tok = tok

    def add_words(self, words: Iterable[str]) -> None:
        """Teach domain words. Sorted, so every process cuts text the same way.

        jieba records every prefix of an added word with frequency 0; such a prefix is not yet a
        word, so the test is on the frequency, not on membership (else 户口登记条例 stays unknown
        once 户口登记条例全文 was added).
        """
        for word in sorted(set(words)):
            if 2 <= len(word) <= 12 and " " not in word and not self._tok.FREQ.get(word):
                self._tok.add_word(word)

    def segment(self, normalized: str) -> list[str]:
        """Search-mode segmentation: whole words plus their meaningful parts (居民身份证 → 身份证 …)."""
        return [t for t in self._tok.cut_for_search(normalized) if t.strip() and t not in STOPWORDS]

    def spans(self, normalized: str) -> list[tuple[int, int, str]]:
        """The whole words of the ordinary cut, each with where it starts and ends in `normalized`."""
        out, at = [], 0
        for word in self._tok.cut(normalized):
            out.append((at, at + len(word), word))
            at += len(word)
        return out

    def segment_weighted(self, normalized: str, cut: list[str] | None = None) -> dict[str, float]:
        """Whole words weigh 1, the parts search mode adds weigh less: a compound is one idea. `cut`:
        the ordinary cut of `normalized`, when the caller has it already (spans)."""
        weights: dict[str, float] = {}
        for word in self._tok.cut(normalized) if cut is None else cut:
            if not word.strip() or word in STOPWORDS:
                continue
            weights[word] = max(weights.get(word, 0.0), 1.0)
            if len(word) > 2:
                for part in self._tok.cut_for_search(word):
                    if part != word and part not in STOPWORDS:
                        weights[part] = max(weights.get(part, 0.0), SUBWORD_WEIGHT)
        return weights


@lru_cache(maxsize=1)
def pinyin_table() -> tuple[array, tuple[str, ...]]:
    """Each character's first (most common) reading without tones, from pypinyin's per-character
    readings ("zhōng,zhòng"): (code point → syllable number, the syllables; number 0 is "").

    Read from its data file directly: importing the package also loads its phrase dictionary and
    segmenter (~0.2 s at start-up), which per-character keys do not need. Kept as an array of syllable
    numbers: a dict of the readings of its 42,000 characters held 6 MB.
    """
    spec = importlib.util.find_spec("pypinyin")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        data = Path(folder) / "pinyin_dict.json"
        if data.is_file():
            readings: dict = json.loads(data.read_text(encoding="utf-8"))  # "20013": "zhōng,zhòng"
            break
    else:
        from pypinyin.pinyin_dict import pinyin_dict as readings
    numbers: dict[str, int] = {"": 0}
    table = array("H", bytes(2 * (max(map(int, readings), default=0) + 1)))
    for code, reading in readings.items():
        table[int(code)] = numbers.setdefault(_toneless_first(reading), len(numbers))
    return table, tuple(numbers)


def _toneless_first(readings: str) -> str:
    first = unicodedata.normalize("NFD", readings.split(",", 1)[0]).replace("u\u0308", "v")
    return "".join(c for c in first if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """The first (most common) reading of a character, without tones: 中 → zhong, 绿 → lv."""
    if not ch or not is_cjk_char(ch):
        return ""
    table, syllables = pinyin_table()
    code = ord(ch)
    return syllables[table[code]] if code < len(table) else ""


def pinyin_key(word: str) -> tuple[str, ...] | None:
    """Toneless pinyin of an all-Chinese word; homophone typos (身分证, 户口签移) share the key."""
    if not word or not all(is_cjk_char(c) for c in word):
        return None
    return tuple(char_pinyin(c) for c in word)
