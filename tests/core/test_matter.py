"""Police matter or another body's (bot/core/understanding/matter.py)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from bot.core.understanding.matter import MatterModel


def test_it_learns_which_side_a_question_reads_as() -> None:
    rng = np.random.default_rng(7)
    police = rng.normal(size=(40, 8)) + np.r_[2.0, np.zeros(7)]
    other = rng.normal(size=(20, 8)) - np.r_[2.0, np.zeros(7)]
    x = np.vstack([police, other]).astype(np.float32)
    model = MatterModel.fit(x, np.r_[np.ones(40, bool), np.zeros(20, bool)], c=1.0)
    assert model.of_dense(np.r_[3.0, np.zeros(7)]) > 0.9
    assert model.of_dense(np.r_[-3.0, np.zeros(7)]) < 0.1
    # The same model reads a sparse row (a question's n-gram vector) the same way.
    row = csr_matrix(np.r_[3.0, np.zeros(7)].reshape(1, -1))
    assert abs(model.of_sparse(row) - model.of_dense(np.r_[3.0, np.zeros(7)])) < 1e-6


def test_with_one_kind_of_phrasing_only_every_question_is_taken_for_that_kind() -> None:
    x = np.eye(4, dtype=np.float32)
    all_police = MatterModel.fit(x, np.ones(4, bool), c=1.0)
    none_police = MatterModel.fit(x, np.zeros(4, bool), c=1.0)
    assert all_police.of_dense(np.ones(4)) > 0.99
    assert none_police.of_dense(np.ones(4)) < 0.01


def test_each_candidate_row_says_how_much_the_question_reads_as_its_kind(small_matcher) -> None:
    from bot.core.understanding.features import NAMES

    view = small_matcher._view
    scorers = view.scorers
    visible = np.ones(len(view.corpus.docs), dtype=bool)

    def rows(text: str):
        analysis = scorers.analyse(text, view.normalizer(text), visible)
        return analysis, {name: analysis.rows[:, n] for n, name in enumerate(NAMES)}

    utility, u = rows("停水了什么时候恢复供水")
    idcard, p = rows("身份证丢了怎么补办")
    # The utility question reads less as a police matter than the ID card one.
    assert u["police_p"][0] < p["police_p"][0]
    for analysis, values in ((utility, u), (idcard, p)):
        referral = scorers.is_referral[analysis.candidates]
        police = values["police_p"]
        assert np.allclose(values["kind_p"], np.where(referral, 1 - police, police))
        assert not values["police_enc"].any()  # no encoder here: its signal stays empty
