"""Fitted TF-IDF n-gram vectors without scikit-learn at run time.

scikit-learn fits the vocabulary and the idf weights; what transforming a text needs afterwards (the
n-gram rule, the vocabulary, the weights) is kept here in plain Python and numpy. Loading a cached
matcher then never imports scikit-learn, whose import (with SciPy's statistics) cost over a second of
every start-up. The n-grams are scikit-learn's own (`char_wb` and `word` analyzers, lowercased), and a
test holds the two to the same vectors.

The vocabulary is held as one sorted array of fixed-width strings searched with numpy rather than as a
dict: 100,000 character n-grams took 15 MB as Python strings and integers, 2 MB so, for some 0.03 ms
more a question. It is a dict again in `vocabulary` and in the pickle.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np

Kind = Literal["char_wb", "word"]
_WHITE_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"\S+")
# Ends every n-gram in the array: numpy's fixed-width strings drop trailing NULs, so an n-gram that
# ended in one would meet its shorter twin; with this mark none does, and the order stays Python's.
_END = "\x01"


class NgramTfidf:
    """Sublinear tf × idf over character n-grams within words (`char_wb`) or word n-grams, L2-normed."""

    def __init__(
        self, kind: Kind, ngram_range: tuple[int, int], vocabulary: dict[str, int], idf: np.ndarray
    ) -> None:
        self.kind = kind
        self.ngram_range = ngram_range
        self.idf = idf
        self.size = len(idf)
        self._index(vocabulary)

    def _index(self, vocabulary: dict[str, int]) -> None:
        given = np.array([g + _END for g in vocabulary] or [_END], dtype=str)[: len(vocabulary)]
        ranked = np.argsort(given, kind="stable")
        self._grams = given[ranked]
        self._columns = np.fromiter(vocabulary.values(), dtype=np.int32, count=len(vocabulary))[ranked]
        self._longest = self._grams.dtype.itemsize // 4 - 1  # the longest n-gram, in characters
        # Where each of the dict's n-grams went, in its order: the dict is rebuilt (and pickled)
        # exactly as it was given.
        self._order = np.empty(len(ranked), dtype=np.int32)
        self._order[ranked] = np.arange(len(ranked), dtype=np.int32)

    @property
    def vocabulary(self) -> dict[str, int]:
        """n-gram → column, as scikit-learn fitted it."""
        grams, columns = self._grams.tolist(), self._columns.tolist()
        return {grams[i][:-1]: columns[i] for i in self._order.tolist()}

    def __getstate__(self) -> dict:
        return {
            "kind": self.kind,
            "ngram_range": self.ngram_range,
            "vocabulary": self.vocabulary,
            "idf": self.idf,
            "size": self.size,
        }

    def __setstate__(self, state: dict) -> None:
        self.kind, self.ngram_range = state["kind"], state["ngram_range"]
        self.idf, self.size = state["idf"], state["size"]
        self._index(state["vocabulary"])

    @classmethod
    def fit(cls, kind: Kind, ngram_range: tuple[int, int], texts: Sequence[str]):
        """(the fitted vectors, the texts' own matrix) — scikit-learn does the fitting."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        options = {"token_pattern": _TOKEN.pattern} if kind == "word" else {}
        vectorizer = TfidfVectorizer(
            analyzer=kind, ngram_range=ngram_range, sublinear_tf=True, min_df=1, **options
        )
        matrix = vectorizer.fit_transform(texts)
        vocabulary = {gram: int(index) for gram, index in vectorizer.vocabulary_.items()}
        return cls(kind, ngram_range, vocabulary, vectorizer.idf_.astype(np.float64)), matrix.tocsr()

    def grams(self, text: str) -> list[str]:
        text = text.lower()
        low, high = self.ngram_range
        out: list[str] = []
        if self.kind == "char_wb":
            for word in _WHITE_SPACES.sub(" ", text).split():
                word = f" {word} "
                for n in range(low, high + 1):
                    if len(word) <= n:  # a short word counts once, whole
                        out.append(word)
                        break
                    out.extend(word[i : i + n] for i in range(len(word) - n + 1))
            return out
        tokens = _TOKEN.findall(text)
        for n in range(low, min(high, len(tokens)) + 1):
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    def columns(self, grams: list[str]) -> np.ndarray:
        """The column of each n-gram the vocabulary has (the others left out), in order."""
        wanted = [g + _END for g in grams if len(g) <= self._longest]
        if not wanted or not len(self._grams):
            return np.zeros(0, dtype=np.int32)
        query = np.array(wanted, dtype=self._grams.dtype)
        at = np.searchsorted(self._grams, query)
        at[at == len(self._grams)] = 0
        return self._columns[at[self._grams[at] == query]]

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's non-zero columns (sorted) and their values."""
        counts: dict[int, int] = {}
        for index in self.columns(self.grams(text)).tolist():
            counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int32), np.zeros(0)
        indices = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        tf = np.fromiter((counts[i] for i in indices), dtype=np.float64, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[indices]
        return indices, values / np.sqrt(values @ values)

    def transform(self, texts: Sequence[str]):
        """Many texts as one sparse matrix (rows in order)."""
        from scipy.sparse import csr_matrix

        parts = [self.vector(t) for t in texts]
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(i) for i, _ in parts])
        indices = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, dtype=np.int32)
        values = np.concatenate([v for _, v in parts]) if parts else np.zeros(0)
        return csr_matrix((values, indices, indptr), shape=(len(parts), self.size))
