"""Is the question a police matter at all, whichever entry it is about?

The per-document scorers answer "which document?": when a question is about a topic nothing in the
knowledge base covers (a pension, a hospital bill, a school place), their probabilities spread over the
documents that share its words, and a police entry can come out on top. What separates the police's
matters from other bodies' is broader than any one topic (forms, offices and words of the trade), so a
binary model over all phrasings, entries against referral topics, still tells on a topic it never saw.
Cross-validated on the shipped base with whole referral topics held out, the fusion answered right at
1 % wrong answers 0.803 → 0.823 of held-out phrasings and answered or offered a right entry 0.941 →
0.955 with both signals (over the character n-grams and over the sentence vectors); without the encoder
0.716 → 0.741 and 0.895 → 0.921. A family-level model (which kind of police matter) and the share of
referral phrasings among the ten nearest added nothing beside them (0.825 / 0.957, 0.822 / 0.957).
"""

from __future__ import annotations

import math

import numpy as np

# Regularisation of the two logistic regressions. Cross-validated on the shipped base (the mean of the
# two as one signal): 0.3 → 0.824 / 0.957, 1 → 0.825 / 0.958, 3 → 0.824 / 0.956; the character model
# takes five times the vector model's, its features being many more and sparser.
C_VECTORS = 1.0
C_CHARS = 5.0
# Without phrasings of both kinds nothing can be learned: every question is taken for what all are.
_SURE = 10.0


class MatterModel:
    """P(police matter | question), a logistic regression over one kind of vector."""

    def __init__(self, coef: np.ndarray, intercept: float) -> None:
        self.coef = coef  # (features,), float32
        self.intercept = intercept

    @classmethod
    def fit(cls, x, police: np.ndarray, c: float) -> MatterModel:
        """`x`: one row per phrasing (dense, or SciPy sparse); `police`: per row, a police entry's."""
        police = np.asarray(police, dtype=bool)
        width = x.shape[1]
        if police.all() or not police.any():
            return cls(np.zeros(width, dtype=np.float32), _SURE if police.all() else -_SURE)
        from sklearn.linear_model import LogisticRegression

        # Balanced: referral phrasings are fewer than entries' and must still weigh as much.
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(x, police)
        return cls(model.coef_[0].astype(np.float32), float(model.intercept_[0]))

    def of_sparse(self, row) -> float:
        """For one SciPy sparse row (a question's n-gram vector)."""
        z = float(self.coef[row.indices].astype(np.float64) @ row.data) + self.intercept
        return _sigmoid(z)

    def of_dense(self, vector: np.ndarray) -> float:
        return _sigmoid(float(vector.astype(np.float64) @ self.coef) + self.intercept)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
