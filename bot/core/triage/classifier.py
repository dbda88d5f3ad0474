"""A small learned second opinion: character n-grams → the kind of emergency, or none.

Fitted with scikit-learn (TF-IDF + logistic regression, fixed seed) on the phrasings shipped in
phrasings.jsonl; scoring is done here with numpy and one small matrix product, because scikit-learn's
per-call checks cost more than the whole message budget (≤ 1 ms).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.core.segment import char_pinyin, pinyin_table
from bot.core.text import CJK_RANGES
from bot.core.triage.kinds import UrgentKind

NONE = "none"
NGRAMS = (1, 3)
# The classifier reads at most this many characters of a message (the phrasings are far shorter);
# triage chooses which (Triage._focus).
CLASSIFIER_CHAR_LIMIT = 400
SEED = 0
# Weak regularisation: phrasings are short and each n-gram counts. Chosen by 5-fold cross-validation,
# two shuffles (mean recall at the threshold that keeps 3 % of look-alikes raised, 14,272 phrasings): C 40
# 0.977, 80 0.979, 160 0.980, 320 0.980, 1000 0.979 (20: 0.978 on the first shuffle, where 40 gave 0.980);
# the smallest within 0.001 of the best.
C = 160.0
MIN_DF = 2


_LATIN_WORD = re.compile(r"[a-z]+")


def ngrams(text: str) -> Iterable[str]:
    """Character 1-3-grams, plus the message's sounds: toneless pinyin syllables and pairs of them, so
    a homophone typo (着伙, 就命), a word typed in pinyin (zhao huo le) and the right characters meet."""
    text = text[:CLASSIFIER_CHAR_LIMIT]
    low, high = NGRAMS
    for n in range(low, high + 1):
        for i in range(len(text) - n + 1):
            yield text[i : i + n]
    sounds = list(_syllables(text))
    for i, sound in enumerate(sounds):
        yield "~" + sound
        if i:
            yield f"~{sounds[i - 1]}~{sound}"


def _syllables(text: str) -> Iterable[str]:
    i = 0
    while i < len(text):
        ch = text[i]
        if "a" <= ch <= "z":
            word = _LATIN_WORD.match(text, i)
            assert word is not None
            yield word.group(0)
            i = word.end()
            continue
        sound = char_pinyin(ch)
        if sound:
            yield sound
        i += 1


@dataclass(frozen=True, slots=True)
class Prediction:
    p_urgent: float  # 1 - P(no emergency)
    kind: UrgentKind  # the likeliest kind, were it one
    runner_up: UrgentKind | None = None  # the next likeliest kind
    runner_share: float = 0.0  # P(runner_up) / P(kind): near 1 when the two are hard to tell apart


class TriageClassifier:
    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        labels: Sequence[str],
    ) -> None:
        self._keys, self._key_index, self._sound_ids = _gram_keys(vocabulary)
        self._idf = idf
        self._weights = weights  # features × classes
        self._bias = bias
        self._labels: tuple[str, ...] = tuple(labels)
        self._none = self._labels.index(NONE)
        self._kinds = [(i, UrgentKind(label)) for i, label in enumerate(self._labels) if label != NONE]

    @classmethod
    def fit(cls, prepared_texts: Sequence[str], kinds: Sequence[UrgentKind | None]) -> TriageClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        # An n-gram met in one phrasing only says nothing a held-out message could share; dropping them
        # keeps a third of the vocabulary and halves the fit, which the cross-validation repeats 25 times.
        vectorizer = TfidfVectorizer(analyzer=lambda t: list(ngrams(t)), sublinear_tf=True, min_df=MIN_DF)
        matrix = vectorizer.fit_transform(prepared_texts)
        labels = [k.value if k else NONE for k in kinds]
        # newton-cg converges in a handful of steps here; lbfgs takes seconds on the same data.
        model = LogisticRegression(C=C, solver="newton-cg", max_iter=100, random_state=SEED)
        # One BLAS thread: on a busy machine several threads make this small fit ten times slower.
        with threadpool_limits(1):
            model.fit(matrix, labels)
        return cls(
            vectorizer.vocabulary_,
            vectorizer.idf_.astype(np.float64),
            np.ascontiguousarray(model.coef_.T, dtype=np.float64),
            model.intercept_.astype(np.float64),
            model.classes_,
        )

    def counts(self, prepared: str) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary's n-grams in the text: their feature numbers (ascending) and how often each
        occurs, as `ngrams` would count them. Each n-gram is a number (its characters' code points, or
        its syllables' numbers, side by side), looked up in the vocabulary's sorted numbers at once: a
        string and a dictionary lookup per n-gram took most of a long message's millisecond."""
        text = prepared[:CLASSIFIER_CHAR_LIMIT]
        if not text or not len(self._keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        keys = [_char_keys(codes, n) for n in range(NGRAMS[0], NGRAMS[1] + 1)]
        sounds = self._sounds(text, codes)
        keys.append(-(sounds + 1))
        keys.append(-(((sounds[:-1] + 1) << _BITS) | (sounds[1:] + 1)))
        wanted = np.concatenate(keys)
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        found = self._key_index[at[self._keys[at] == wanted]]
        index, tf = np.unique(found, return_counts=True)
        return index, tf

    def _sounds(self, text: str, codes: np.ndarray) -> np.ndarray:
        """The syllable numbers `_syllables` reads (a Latin word is one "syllable")."""
        if _LATIN_WORD.search(text):
            unknown = len(self._sound_ids) + 1
            return np.array([self._sound_ids.get(s, unknown) for s in _syllables(text)], dtype=np.int64)
        table = _syllable_numbers()
        cjk = codes[np.logical_or.reduce([(codes >= low) & (codes <= high) for low, high in CJK_RANGES])]
        numbers = table[cjk[cjk < len(table)]].astype(np.int64)
        return numbers[numbers != 0]

    def predict(self, prepared: str) -> Prediction:
        index, tf = self.counts(prepared)
        if not len(index):
            scores = self._bias
        else:
            values = (1.0 + np.log(tf)) * self._idf[index]
            values /= math.sqrt(float(values @ values))
            scores = values @ self._weights[index] + self._bias
        scores = scores - scores.max()
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum()
        best, runner = sorted(self._kinds, key=lambda item: -probabilities[item[0]])[:2]
        share = float(probabilities[runner[0]] / probabilities[best[0]]) if probabilities[best[0]] else 0.0
        return Prediction(float(1.0 - probabilities[self._none]), best[1], runner[1], share)


# An n-gram of up to three characters as one number: each code point (below 2**21) in 21 bits. Sounds
# take the negative numbers, one syllable number or two side by side.
_BITS = 21


def _char_keys(codes: np.ndarray, n: int) -> np.ndarray:
    if len(codes) < n:
        return codes[:0]
    key = codes[: len(codes) - n + 1].copy()
    for j in range(1, n):
        key = (key << _BITS) | codes[j : len(codes) - n + 1 + j]
    return key


@lru_cache(maxsize=1)
def _syllable_numbers() -> np.ndarray:
    table, _ = pinyin_table()
    return np.frombuffer(table, dtype=np.uint16)


def _gram_keys(vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The vocabulary as sorted numbers (see `counts`) and the feature each stands for, and the number
    of each syllable: pinyin's own, then the Latin words the vocabulary holds."""
    _, syllables = pinyin_table()
    sound_ids = {s: n for n, s in enumerate(syllables) if s}
    keys: list[int] = []
    index: list[int] = []
    for gram, feature in vocabulary.items():
        # A gram of "~" and letters is a sound and, were the text to hold those very characters, a
        # character n-gram too: the fitted vocabulary does not tell the two apart, nor does this.
        if gram.startswith("~") and len(gram) > 1:
            parts = gram[1:].split("~")
            if len(parts) <= 2 and all(parts):
                ids = [sound_ids.setdefault(part, len(sound_ids) + 1) + 1 for part in parts]
                keys.append(-ids[0] if len(parts) == 1 else -((ids[0] << _BITS) | ids[1]))
                index.append(feature)
        if NGRAMS[0] <= len(gram) <= NGRAMS[1]:
            code = 0
            for ch in gram:
                code = (code << _BITS) | ord(ch)
            keys.append(code)
            index.append(feature)
    order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
    return np.array(keys, dtype=np.int64)[order], np.array(index, dtype=np.int64)[order], sound_ids
