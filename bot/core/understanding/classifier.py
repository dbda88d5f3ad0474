"""The supervised scorer: character and word n-gram TF-IDF with a logistic regression over documents.

Trained on every phrasing of every document (title, keywords, questions), with the document as the
class. Character n-grams carry typos, missing words and unusual segmentation; word n-grams carry the
terms. It also measures how close a question is to a document's own questions and to the questions
listed as *not* covered by it, which is how an entry's scope is learned.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.core.understanding.corpus import Corpus
from bot.core.understanding.matter import C_CHARS, MatterModel
from bot.core.understanding.ngrams import NgramTfidf

# A linear SVM (one-vs-rest, liblinear) trains in about a second on 100+ classes where a multinomial
# logistic regression takes tens of seconds, and ranked held-out phrasings as well or better (0.889 vs
# 0.865 top-1 on a fifth of the questions held out). Its margins become probabilities by a softmax; the
# fusion calibrates them.
C = 0.5
TEMPERATURE = 3.0
SEED = 7
# One-vs-rest training costs classes × phrasings and holds a dense classes × n-grams matrix while it
# fits (216 communities × 8 local entries: 1,900 classes × 200,000 n-grams, gigabytes and an hour).
# Above this many classes each document is its phrasings' normalised mean vector instead (nearest
# centroid): linear in the phrasings, sparse, held-out top-1 0.848 against the SVM's 0.889 on the
# shipped base; the fusion learns from whichever it is given.
SVM_MAX_CLASSES = 400
CENTROID_TEMPERATURE = 20.0


class PhrasingClassifier:
    def __init__(self, corpus: Corpus, prepare: Callable[[str], tuple[str, str]]) -> None:
        """`prepare(text)` → (normalised characters, segmented words joined by spaces)."""
        from scipy.sparse import csr_matrix, hstack
        from sklearn.svm import LinearSVC

        self.corpus = corpus
        self._prepare = prepare
        texts: list[tuple[str, str]] = []
        labels: list[int] = []
        for i, doc in enumerate(corpus.docs):
            for text, _ in doc.phrasings():
                texts.append(prepare(text))
                labels.append(i)
        self._chars, xc = NgramTfidf.fit("char_wb", (1, 3), [c for c, _ in texts])
        self._words, xw = NgramTfidf.fit("word", (1, 2), [w for _, w in texts])
        x = hstack([xc, xw]).tocsr()
        self._hstack = hstack
        y = np.asarray(labels)
        self._present = np.unique(y)  # a document without phrasings has no class
        self.kind = "svm" if len(self._present) <= SVM_MAX_CLASSES else "centroid"
        if self.kind == "svm":
            model = LinearSVC(C=C, random_state=SEED)
            model.fit(x, y)
            # Prediction as plain matrix arithmetic: sklearn's per-call checks cost more than the maths.
            coef = model.coef_.T * TEMPERATURE  # (features, classes)
            self._intercept = model.intercept_.astype(np.float64) * TEMPERATURE
            if len(self._present) == 2:  # a binary model keeps one column: make it two-sided
                coef = np.hstack([-coef, coef]) / 2
                self._intercept = np.array([-self._intercept[0], self._intercept[0]]) / 2
            # Kept sparse: most n-grams matter to a few documents only (a tenth of the memory, same ranks).
            coef[np.abs(coef) < 1e-3 * TEMPERATURE] = 0.0
            self._coef = _Rows(csr_matrix(coef.astype(np.float32)))
        else:
            centroids, self._intercept = _centroids(x, y, self._present)
            self._coef = _Rows(centroids)
        # Police matter or another body's, over the character n-grams (bot/core/understanding/matter.py).
        self.matter = MatterModel.fit(xc, ~corpus.referral_mask[y], C_CHARS)
        # For scope: every document's own phrasings and its not-covered questions as character
        # vectors, in two matrices, so one product per query measures all of them.
        self._own = _Runs(self._chars, prepare, [[t for t, _ in d.phrasings()] for d in corpus.docs])
        self._not = _Runs(self._chars, prepare, [list(d.not_covered) for d in corpus.docs])

    def vectorize(self, text: str):
        """vectorize_many for one text, built directly (a resident's question on the hot path)."""
        from scipy.sparse import csr_matrix

        chars, words = self._prepare(text)
        char_idx, char_val = self._chars.vector(chars)
        word_idx, word_val = self._words.vector(words)
        n_chars, n_words = self._chars.size, self._words.size
        xc = csr_matrix((char_val, char_idx, [0, len(char_idx)]), shape=(1, n_chars))
        x = csr_matrix(
            (
                np.r_[char_val, word_val],
                np.r_[char_idx, word_idx + n_chars],
                [0, len(char_idx) + len(word_idx)],
            ),
            shape=(1, n_chars + n_words),
        )
        return xc, x

    def vectorize_many(self, texts: list[str]):
        """(character vectors, all features) for many texts at once: one transform call each."""
        prepared = [self._prepare(t) for t in texts]
        xc = self._chars.transform([c for c, _ in prepared])
        xw = self._words.transform([w for _, w in prepared])
        return xc.tocsr(), self._hstack([xc, xw]).tocsr()

    def probabilities(self, x, visible: np.ndarray) -> np.ndarray:
        """P(document | question) over the corpus, renormalised over the visible documents."""
        # Only the weights of the question's own n-grams: `x @ coef` would first turn all of the float32
        # weights into a float64 copy (28 MB, about 2.5 ms a question) to match the question.
        logits = self._coef.weighted_sum(x.indices, x.data)
        if self.kind == "centroid":  # cosines: the question's own length divided out
            norm = float(np.sqrt(x.multiply(x).sum()))
            logits = logits / norm if norm else logits
        logits += self._intercept
        full = np.full(len(self.corpus.docs), -np.inf)
        full[self._present] = logits
        full[~visible] = -np.inf
        if not np.isfinite(full).any():
            return np.zeros(len(full))
        full = np.exp(full - full[np.isfinite(full)].max())
        return full / full.sum()

    def police(self, xc) -> float:
        """P(a police matter) of a question, from its character vector."""
        return self.matter.of_sparse(xc)

    def scope(self, xc) -> tuple[np.ndarray, np.ndarray]:
        """Per document, by character cosine (0-1): its closest own phrasing and its closest
        not-covered question."""
        return self._own.best(xc), self._not.best(xc)

    def __getstate__(self) -> dict:
        # The text preparation belongs to the scorers that own this classifier: set again on load.
        state = self.__dict__.copy()
        state["_prepare"] = None
        state["_hstack"] = None
        state["_coef"] = self._coef.tocsr()  # cached models keep SciPy's matrix
        return state

    def __setstate__(self, state: dict) -> None:
        from scipy.sparse import hstack

        self.__dict__.update(state)
        self._hstack = hstack
        self._coef = _Rows(self._coef)


def _centroids(x, y: np.ndarray, present: np.ndarray):
    """(features × classes) unit mean vectors of each class's phrasings, scaled; zero intercepts."""
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    column = np.searchsorted(present, y)
    onehot = csr_matrix((np.ones(len(y)), (column, np.arange(len(y)))), shape=(len(present), len(y)))
    centroids = normalize(onehot @ normalize(x)) * CENTROID_TEMPERATURE
    return centroids.T.tocsr().astype(np.float32), np.zeros(len(present))


class _Rows:
    """A sparse (features × classes) float32 weight matrix read a few rows at a time: SciPy's CSR
    arrays, with the column numbers in the smallest unsigned type that holds them instead of int32
    (one byte for up to 256 classes: 10 of the shipped knowledge's 28 MB)."""

    def __init__(self, matrix) -> None:
        """`matrix`: a scipy.sparse CSR matrix."""
        self.shape = matrix.shape
        self.indptr = matrix.indptr
        self.indices = matrix.indices.astype(np.min_scalar_type(max(matrix.shape[1] - 1, 0)))
        self.data = matrix.data

    def weighted_sum(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Σ values[k] · matrix[rows[k]] in float64: SciPy's `(matrix[rows].T @ values)` to the last
        bit, the same products (each weight widened to float64, times its value) added to each class in
        the same order (by k, then along the row)."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        products = self.data[at].astype(np.float64) * np.repeat(values, lengths)
        sums = np.bincount(self.indices[at], weights=products, minlength=self.shape[1])
        return sums.astype(np.float64, copy=False)  # no rows at all: bincount's zeros are integers

    def tocsr(self):
        from scipy.sparse import csr_matrix

        return csr_matrix((self.data, self.indices.astype(np.int32), self.indptr), shape=self.shape)


class _Runs:
    """Texts grouped by document as one (features × texts) matrix, for per-document best cosines."""

    def __init__(
        self, vectorizer: NgramTfidf, prepare: Callable[[str], tuple[str, str]], groups: list[list[str]]
    ) -> None:
        texts = [t for group in groups for t in group]
        self.n = len(groups)
        owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        self.matrix = vectorizer.transform([prepare(t)[0] for t in texts]).T.tocsr() if texts else None
        self.starts = np.flatnonzero(np.r_[True, np.diff(owner) != 0]) if texts else np.array([], int)
        self.docs = owner[self.starts] if texts else np.array([], int)

    def best(self, xc) -> np.ndarray:
        best = np.zeros(self.n)
        if self.matrix is not None:
            sims = np.asarray((xc @ self.matrix).todense()).ravel()
            best[self.docs] = np.maximum.reduceat(sims, self.starts)
        return best
