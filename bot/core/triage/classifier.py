"""A small learned second opinion: character n-grams → the kind of emergency, or none.

Fitted with scikit-learn (TF-IDF + logistic regression, fixed seed) on the phrasings shipped in
phrasings.jsonl; scoring is done here with plain dictionaries and one small matrix product, because
scikit-learn's per-call checks cost more than the whole message budget (≤ 1 ms).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.segment import char_pinyin
from bot.core.triage.kinds import UrgentKind

NONE = "none"
NGRAMS = (1, 3)
# The classifier reads at most this many characters of a message (the phrasings are far shorter);
# triage chooses which (Triage._focus).
CLASSIFIER_CHAR_LIMIT = 400
SEED = 0
# Weak regularisation: phrasings are short and each n-gram counts. Chosen by 5-fold cross-validation
# (recall at the threshold that keeps 2.5 % of look-alikes raised): C 5 0.969, 10 0.972, 20 0.974,
# 40 0.976, 80 0.976; the smallest within 0.001 of the best.
C = 40.0
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
        self._vocabulary = vocabulary
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

    def predict(self, prepared: str) -> Prediction:
        counts = Counter(i for g in ngrams(prepared) if (i := self._vocabulary.get(g)) is not None)
        if not counts:
            scores = self._bias
        else:
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values = (1.0 + np.log(tf)) * self._idf[index]
            values /= math.sqrt(float(values @ values))
            scores = values @ self._weights[index] + self._bias
        scores = scores - scores.max()
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum()
        best, runner = sorted(self._kinds, key=lambda item: -probabilities[item[0]])[:2]
        share = float(probabilities[runner[0]] / probabilities[best[0]]) if probabilities[best[0]] else 0.0
        return Prediction(float(1.0 - probabilities[self._none]), best[1], runner[1], share)
