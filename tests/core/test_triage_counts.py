"""The classifier counts n-grams as numbers; these tests hold it to what the string n-grams it was
fitted on (`ngrams`, the TF-IDF analyser) would count, on any text."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.triage.classifier import CLASSIFIER_CHAR_LIMIT, TriageClassifier, ngrams

CORPUS = [
    "救命有人砸门",
    "妈妈不见了 ma ma",
    "help me please 着火了",
    "zhao huo le 快来",
    "~ma~ma 和 ~ 符号",
    "𠮷野家 家裡有賊",
    "123 110 😀",
]
VOCABULARY = {gram: n for n, gram in enumerate(sorted({g for text in CORPUS for g in ngrams(text)}))}


def _classifier() -> TriageClassifier:
    size = len(VOCABULARY)
    return TriageClassifier(VOCABULARY, np.ones(size), np.zeros((size, 2)), np.zeros(2), ["crime", "none"])


CLASSIFIER = _classifier()


def _expected(text: str) -> dict[int, int]:
    return dict(Counter(VOCABULARY[g] for g in ngrams(text) if g in VOCABULARY))


def _counted(text: str) -> dict[int, int]:
    index, tf = CLASSIFIER.counts(text)
    assert list(index) == sorted(index)
    return dict(zip(index.tolist(), tf.tolist(), strict=True))


def test_characters_sounds_and_latin_words_are_counted_as_the_strings_are() -> None:
    for text in [*CORPUS, "", "~", "~ma", "妈~ma", "mama 妈妈", "zhaohuo", "x" * 500, "救命" * 300]:
        assert _counted(text) == _expected(text), text


def test_a_homophone_meets_the_sounds_of_the_fitted_words() -> None:
    # 着伙 (a typo) shares no character 2-gram with 着火 but shares its sounds.
    counted = _counted("着伙了")
    assert VOCABULARY["~huo~le"] in counted and VOCABULARY["~huo"] in counted
    assert VOCABULARY["着火"] not in counted


def test_only_the_read_length_counts() -> None:
    long = "救命" * CLASSIFIER_CHAR_LIMIT
    assert _counted(long) == _expected(long[:CLASSIFIER_CHAR_LIMIT])


ALPHABET = st.sampled_from(list("救命有人砸门妈不见了着火快来家裡有賊𠮷野和符号伙 ~mahelpzou123😀\n"))


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET, max_size=60))
def test_any_text_is_counted_as_the_strings_are(text: str) -> None:
    assert _counted(text) == _expected(text)
