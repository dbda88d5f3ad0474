"""The phrasing classifier's weights in compact rows: the same sums as SciPy's to the last bit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse import random as sparse_random

from bot.core.matcher import Matcher
from bot.core.understanding.classifier import _Rows


def _scipy_sum(matrix: csr_matrix, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    # What PhrasingClassifier.probabilities computed with the SciPy matrix.
    return np.asarray(matrix[rows].T @ values, dtype=np.float64).ravel()


@pytest.mark.parametrize(("classes", "column_type"), [(204, np.uint8), (256, np.uint8), (300, np.uint16)])
def test_rows_sum_as_scipy_does_to_the_last_bit(classes: int, column_type: type) -> None:
    rng = np.random.default_rng(7)
    matrix = sparse_random(2000, classes, density=0.1, format="csr", dtype=np.float32, random_state=rng)
    matrix.data -= 0.5  # weights of both signs, as the SVM's
    rows = _Rows(matrix)
    assert rows.indices.dtype == column_type
    for size in (0, 1, 5, 60, 400):
        picked = np.sort(rng.choice(2000, size=size, replace=False)).astype(np.int32)
        values = rng.random(size)
        expected = _scipy_sum(matrix, picked, values)
        got = rows.weighted_sum(picked, values)
        assert got.dtype == np.float64 and got.tobytes() == expected.tobytes()
    repeated = np.array([3, 3, 1999, 0], dtype=np.int32)  # repeated and unsorted, as SciPy allows
    values = rng.random(4)
    assert rows.weighted_sum(repeated, values).tobytes() == _scipy_sum(matrix, repeated, values).tobytes()
    assert (rows.tocsr() != matrix).nnz == 0


def test_the_classifier_scores_questions_as_with_scipys_matrix(small_matcher: Matcher) -> None:
    classifier = small_matcher._view.scorers.classifier
    matrix = classifier._coef.tocsr()
    for text in ["身份证丢了怎么补办", "", "🙂", "abc def 户口", "身份證掉了咋补 zzz"]:
        _, x = classifier.vectorize(text)
        got = classifier._coef.weighted_sum(x.indices, x.data)
        assert got.tobytes() == _scipy_sum(matrix, x.indices, x.data).tobytes()


def test_the_cached_model_keeps_scipys_matrix_and_loads_into_compact_rows(small_matcher: Matcher) -> None:
    classifier = small_matcher._view.scorers.classifier
    assert classifier._coef.indices.dtype == np.uint8  # the fixture's few entries: one byte a column
    state = classifier.__getstate__()
    assert isinstance(state["_coef"], csr_matrix) and state["_coef"].indices.dtype == np.int32
    loaded = pickle.loads(pickle.dumps(classifier))
    assert isinstance(loaded._coef, _Rows) and loaded._coef.indices.dtype == np.uint8
    visible = np.ones(len(classifier.corpus.docs), dtype=bool)
    for text in ["身份证丢了怎么补办", "户口迁入需要什么材料", ""]:
        _, x = classifier.vectorize(text)
        assert loaded.probabilities(x, visible).tobytes() == classifier.probabilities(x, visible).tobytes()
