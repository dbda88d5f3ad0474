"""The run-time n-gram vectors must equal scikit-learn's, which fitted them."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.core.understanding.ngrams import NgramTfidf

TRAINING = [
    "身份证 丢了 怎么 补办",
    "护照 到期 换发 要 带 什么",
    "ID card LOST  how to  replace",
    "a 户 口",
    "电动车 上牌",
    "",
]
QUERIES = [
    "身份证丢了怎么办",
    "怎么 补办 身份证 丢了 护照",
    "Id   CARD\tlost",
    "从没见过的字句",
    "",
    "a",
    " 户 ",
]


@pytest.mark.parametrize(
    ("kind", "ngram_range", "options"),
    [
        ("char_wb", (1, 3), {}),
        ("word", (1, 2), {"token_pattern": r"\S+"}),
        ("word", (2, 3), {"token_pattern": r"\S+"}),
    ],
)
def test_vectors_equal_scikit_learns(kind, ngram_range, options):
    reference = TfidfVectorizer(analyzer=kind, ngram_range=ngram_range, sublinear_tf=True, **options)
    expected_fit = reference.fit_transform(TRAINING).toarray()
    ours, fitted = NgramTfidf.fit(kind, ngram_range, TRAINING)

    assert ours.vocabulary == reference.vocabulary_
    np.testing.assert_allclose(fitted.toarray(), expected_fit)
    analyzer = reference.build_analyzer()
    for text in QUERIES:
        assert ours.grams(text) == analyzer(text)
    np.testing.assert_allclose(ours.transform(QUERIES).toarray(), reference.transform(QUERIES).toarray())
    indices, values = ours.vector(QUERIES[0])
    np.testing.assert_allclose(values, reference.transform(QUERIES[:1]).toarray()[0, indices])


def test_no_texts_give_an_empty_matrix():
    ours, _ = NgramTfidf.fit("char_wb", (1, 3), TRAINING)
    assert ours.transform([]).shape == (0, ours.size)
