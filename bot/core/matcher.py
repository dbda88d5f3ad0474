"""Matching a resident's message to knowledge entries, in three bands: answer, clarify, escalate.

Three scorers look at the question (bot/core/understanding): the lexical index, an n-gram classifier
and, when the offline sentence encoder is available, a dense one. A fusion model learned by
cross-validation on the knowledge base's own phrasings turns what they say about each candidate into
the probability that the candidate is right; thresholds chosen on held-out phrasings decide:
- answer: the best entry is likely enough to keep wrong answers near 1 %, and it explains the
  question's key words;
- clarify ("did you mean"): the offered entries together are likely enough;
- escalate: nothing fits, or a matter of another body fits best; the community's officers take it.

Everything learned is built from the knowledge base (fixed seeds, so deterministic) and cached in
memory and under the data folder by a hash of the knowledge content and the model versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Candidate, Evidence, MatchResult, Outcome
from bot.core.text import Normalizer
from bot.core.understanding.corpus import Corpus
from bot.core.understanding.dense import Encoder, VectorStore
from bot.core.understanding.features import NAMES, Analysis, Scorers
from bot.core.understanding.fusion import Thresholds, decide
from bot.core.understanding.training import Trained, cross_validate, train

log = logging.getLogger(__name__)

# Bump when features, training or the scorers change: cached models of older code are not reused.
MODEL_VERSION = "hybrid-12"

__all__ = ["Matcher", "Thresholds"]


@dataclass(frozen=True, slots=True)
class _State:
    classifier: object  # PhrasingClassifier fitted on the whole corpus
    lexical_only: Trained
    dense: Trained | None


_memo: dict[str, _State] = {}
_memo_lock = threading.Lock()


class Matcher:
    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        encoder: Encoder | None = None,
        cache_dir: Path | None = None,
        answer_threshold: float | None = None,
        clarify_threshold: float | None = None,
    ) -> None:
        """`answer_threshold`/`clarify_threshold` (0-1) replace the learned ones when given."""
        self.kb = kb
        self.normalizer = Normalizer(kb.synonyms)
        self._override = {"answer": answer_threshold, "clarify": clarify_threshold}
        self._encoder = encoder
        self._cache_dir = cache_dir
        self._build()

    # ---- index -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """After the knowledge base changed (an approved draft went live)."""
        self.normalizer = Normalizer(self.kb.synonyms)
        self._build()

    def _build(self) -> None:
        kb = self.kb
        corpus = Corpus.from_kb(kb)
        domain_words: set[str] = set(self.normalizer.canonical_words)
        for entry in kb.entries.values():
            for kw in entry.keywords:
                domain_words.add(self.normalizer(kw).replace(" ", ""))
        store = VectorStore(self._encoder, self._cache_dir) if self._encoder is not None else None
        key = self._key(corpus)
        state = self._load_state(key, corpus, domain_words, store)
        scorers = Scorers(corpus, self.normalizer, domain_words, store, classifier=state.classifier)
        self._corpus = corpus
        self._scorers = scorers
        self._state = state
        self._referral = np.array([d.referral for d in corpus.docs], dtype=bool)
        self._masks: dict[str | None, np.ndarray] = {}
        self.entry_ids = corpus.ids

    def _key(self, corpus: Corpus) -> str:
        encoder = f"{self._encoder.name}/{self._encoder.version}" if self._encoder is not None else "none"
        content = json.dumps(
            [MODEL_VERSION, encoder, self.kb.synonyms, [_doc_json(d) for d in corpus.docs]],
            ensure_ascii=False,
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()[:24]

    def _load_state(
        self, key: str, corpus: Corpus, domain_words: set[str], store: VectorStore | None
    ) -> _State:
        with _memo_lock:
            state = _memo.get(key)
            if state is not None:
                return state
            path = self._cache_dir / f"matcher-{key}.pkl" if self._cache_dir is not None else None
            if path is not None and path.exists():
                try:
                    state = pickle.loads(path.read_bytes())
                except Exception as exc:  # stale or damaged: train again
                    log.warning("ignoring unreadable matcher cache %s: %s", path.name, exc)
            if state is None:
                state = _train(corpus, self.normalizer, domain_words, store)
                if path is not None:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(".tmp")
                        tmp.write_bytes(pickle.dumps(state))
                        tmp.replace(path)
                    except OSError as exc:
                        log.warning("could not write the matcher cache: %s", exc)
            _memo[key] = state
            return state

    def _mask(self, community: str | None) -> np.ndarray:
        mask = self._masks.get(community)
        if mask is None:
            visible = self.kb.visible_ids(community)
            mask = np.fromiter(
                (d.referral or d.id in visible for d in self._corpus.docs),
                dtype=bool,
                count=len(self._corpus.docs),
            )
            self._masks[community] = mask
        return mask

    @property
    def thresholds(self) -> Thresholds:
        trained = self._state.dense if self._use_dense else self._state.lexical_only
        assert trained is not None
        return self._thresholds(trained)

    def _thresholds(self, trained: Trained) -> Thresholds:
        chosen = {k: v for k, v in self._override.items() if v is not None}
        return replace(trained.thresholds, **chosen) if chosen else trained.thresholds

    @property
    def _use_dense(self) -> bool:
        return self._state.dense is not None and self._scorers.dense is not None

    @property
    def report(self) -> dict[str, dict[str, float]]:
        """Cross-validated figures of the trained fusion (for `kb check` and the benchmarks)."""
        out = {"lexical+classifier": self._state.lexical_only.report}
        if self._state.dense is not None:
            out["with encoder"] = self._state.dense.report
        return out

    # ---- query -------------------------------------------------------------------------------
    def match(self, text: str, community: str | None = None) -> MatchResult:
        urgent = False  # emergencies are triaged before matching (bot/core/triage)
        normalized = self.normalizer(text)
        if not normalized or not self._corpus.docs:
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "empty")
        visible = self._mask(community)

        # Fast path: a phrasing of the knowledge base repeated exactly needs no encoder.
        lexical_only = self._state.lexical_only
        analysis = None
        if self._scorers.lexical.exact.get(normalized.replace(" ", ""), -1) >= 0:
            analysis = self._scorers.analyse(text, normalized, visible, None)
            probs = lexical_only.fusion.predict(analysis.rows)
            t = self._thresholds(lexical_only)
            decision = decide(probs, self._referral[analysis.candidates], analysis.blocked, t)
            if decision.outcome == "answer":
                return self._result(analysis, probs, decision, urgent, normalized, "lexical+classifier")

        vector = self._query_vector(text) if self._use_dense else None
        if vector is not None and self._state.dense is not None:
            analysis = self._scorers.analyse(text, normalized, visible, vector)
            trained, used = self._state.dense, "with encoder"
        else:
            if analysis is None:
                analysis = self._scorers.analyse(text, normalized, visible, None)
            trained, used = lexical_only, "lexical+classifier"
        if not analysis.candidates:
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "no known words")
        probs = trained.fusion.predict(analysis.rows)
        decision = decide(
            probs,
            self._referral[analysis.candidates],
            analysis.blocked,
            self._thresholds(trained),
        )
        return self._result(analysis, probs, decision, urgent, normalized, used)

    def _query_vector(self, text: str) -> np.ndarray | None:
        try:
            assert self._scorers.dense is not None
            return self._scorers.dense.encode_query(text)
        except Exception as exc:  # the encoder failing must not stop answering
            log.warning("sentence encoder failed, answering without it: %s", exc)
            return None

    def _result(
        self, analysis: Analysis, probs: np.ndarray, decision, urgent: bool, normalized: str, used: str
    ) -> MatchResult:
        outcome = {"answer": Outcome.ANSWER, "clarify": Outcome.CLARIFY, "escalate": Outcome.ESCALATE}[
            decision.outcome
        ]
        chosen = [
            Candidate(
                self._corpus.docs[analysis.candidates[pos]].id,
                round(100.0 * float(probs[pos]), 2),
                *self._phrasing(analysis, pos),
            )
            for pos in decision.order
        ]
        top = decision.order[0] if decision.order else None
        confidence = float(probs[top]) if top is not None else 0.0
        evidence = self._evidence(analysis, top, used) if top is not None else None
        score = round(100.0 * confidence, 2)
        return MatchResult(
            outcome, score, tuple(chosen), urgent, normalized, decision.reason, confidence, evidence
        )

    def _phrasing(self, analysis: Analysis, pos: int) -> tuple[str, str]:
        """The knowledge base's wording closest to the question for one candidate, and its field."""
        doc_index = analysis.candidates[pos]
        lexical = analysis.lexical.best_phrasing.get(doc_index)
        if analysis.enc_where is not None and analysis.enc_where[doc_index] >= 0:
            enc_text = self._scorers.dense.phrasing(int(analysis.enc_where[doc_index]))  # type: ignore[union-attr]
            if lexical is None or (analysis.enc is not None and lexical[1] < 0.5):
                return enc_text, _field_of(self._corpus.docs[doc_index], enc_text)
        if lexical is not None:
            return lexical[0].text, lexical[0].field
        return self._corpus.docs[doc_index].title, "title"

    def _evidence(self, analysis: Analysis, pos: int, used: str) -> Evidence:
        row = analysis.rows[pos]
        values = dict(zip(NAMES, row, strict=True))
        trained = self._state.dense if used == "with encoder" else self._state.lexical_only
        assert trained is not None
        # The scorer that carried the decision: the one most sure of this candidate, among those
        # that rank it first (an exact repeat of a phrasing says it all).
        sure = {"lexical": values["lex_p"], "classifier": values["clf_p"]}
        if used == "with encoder":
            sure["encoder"] = values["enc_cos"] if values["enc_rank"] == 1.0 else 0.0
        rank = {"lexical": "lex_rank", "classifier": "clf_rank", "encoder": "enc_rank"}
        firsts = {k: v for k, v in sure.items() if values[rank[k]] == 1.0}
        scorer = "exact" if values["exact"] else max(firsts or sure, key=lambda k: (firsts or sure)[k])
        scores = [("lexical", values["lex_p"]), ("classifier", values["clf_p"])]
        if used == "with encoder":
            scores.append(("encoder", values["enc_cos"]))
        phrasing, _ = self._phrasing(analysis, pos)
        return Evidence(
            scorer,
            phrasing,
            tuple((name, round(float(v), 3)) for name, v in scores),
            tuple(analysis.uncovered[pos][:5]),
        )

    def is_referral(self, doc_id: str) -> bool:
        return doc_id in self.kb.referrals

    def segment(self, text: str) -> list[str]:
        """The terms this matcher sees in `text` (normalised, segmented, stopwords removed)."""
        return self._scorers.lexical.segmenter.segment(self.normalizer(text))


def _field_of(doc, text: str) -> str:
    for phrasing, field in doc.phrasings():
        if phrasing == text:
            return field
    return "question"


def _doc_json(doc) -> list:
    return [doc.id, doc.referral, doc.title, doc.keywords, doc.questions, doc.answer_text, doc.not_covered]


def _train(
    corpus: Corpus, normalizer: Normalizer, domain_words: set[str], store: VectorStore | None
) -> _State:
    from bot.core.understanding.classifier import PhrasingClassifier

    data = cross_validate(corpus, normalizer, domain_words, store)
    lexical_only = train(data, dense=False)
    dense = train(data, dense=True) if store is not None else None
    scorers = Scorers(corpus, normalizer, domain_words, None)
    classifier: PhrasingClassifier = scorers.classifier
    return _State(classifier, lexical_only, dense)
