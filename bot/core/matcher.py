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
memory and under the data folder by a hash of the knowledge content and the model versions. Learning it
takes minutes; a server need not wait (`background_training`): it answers at once with what it has, a
fusion learned on an earlier version of the knowledge or, with none cached, the lexical probability
read cautiously (WARMING_BANDS), and swaps the trained one in when it is ready.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pickle
import threading
from dataclasses import dataclass, replace

import numpy as np

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Candidate, Evidence, MatchResult, Outcome
from bot.core.ports import ArtifactStore
from bot.core.text import Normalizer
from bot.core.understanding.corpus import Corpus
from bot.core.understanding.dense import Encoder, VectorStore
from bot.core.understanding.features import NAMES, Analysis, Scorers
from bot.core.understanding.fusion import MAX_OFFERED, Decision, Thresholds, decide
from bot.core.understanding.training import (
    LexicalProbability,
    Trained,
    cross_validate,
    train,
)

log = logging.getLogger(__name__)

KEEP_CACHED = 3  # trained states kept between runs

# Bump when features, training or the scorers change: cached models of older code are not reused.
MODEL_VERSION = "hybrid-49"
# Trained states are cached as matcher-<MODEL_VERSION>-<key>.pkl: a start on changed knowledge finds the
# newest state of the same code by its name, and its fusion reads the new knowledge's scorers alike.
_CACHE_PREFIX = f"matcher-{MODEL_VERSION}-"
# While nothing learned is at hand (a first start in the background): the lexical probability, which is
# not calibrated for this knowledge, answers only when certain; the rest is offered or goes to officers
# (the bands a tiny knowledge base uses for "did you mean", training.LEXICAL_BANDS).
WARMING_BANDS = Thresholds(answer=1.0, clarify=0.15, ratio=0.3)
_WARMING = Trained(LexicalProbability(NAMES.index("lex_p")), WARMING_BANDS, {})

__all__ = ["Matcher", "Thresholds"]


@dataclass(frozen=True, slots=True)
class _State:
    classifier: object  # PhrasingClassifier fitted on the whole corpus
    lexical_only: Trained
    dense: Trained | None
    lexical: object = None  # the LexicalScorer's index built on the whole corpus
    head: object = None  # the encoder's DenseHead fitted on the whole corpus (None without encoder)


_memo: dict[str, _State] = {}
_memo_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _View:
    """Everything one knowledge base version needs to answer, swapped in as one object: a question is
    answered by a single version even while a rebuild is under way."""

    key: str
    normalizer: Normalizer
    corpus: Corpus
    scorers: Scorers
    state: _State
    referral: np.ndarray
    masks: dict[str | None, np.ndarray]
    domain_words: frozenset[str]
    # Per document: the words by which its not_covered questions name other entries (LexicalScorer.
    # not_words), read when first needed.
    not_words: dict[int, frozenset[str]] = dataclasses.field(default_factory=dict)

    @property
    def use_dense(self) -> bool:
        return self.state.dense is not None and self.scorers.dense is not None


class Matcher:
    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        encoder: Encoder | None = None,
        artifacts: ArtifactStore | None = None,
        answer_threshold: float | None = None,
        clarify_threshold: float | None = None,
        background_training: bool = False,
    ) -> None:
        """`answer_threshold`/`clarify_threshold` (0-1) replace the learned ones when given.

        With `background_training`, knowledge met for the first time is answered at once, from a
        provisional state, while the fusion is learned in a thread (a server's start); without it the
        constructor learns first (the command line, the benchmarks, `kb train`)."""
        self.kb = kb
        self._override = {"answer": answer_threshold, "clarify": clarify_threshold}
        self._encoder = encoder
        self._artifacts = artifacts
        self._store = VectorStore(encoder, artifacts) if encoder is not None else None
        self._retrain: threading.Thread | None = None
        if background_training:
            self._view = self._make_view(full=False)
            self._learn_if_provisional(self._view)
        else:
            self._view = self._make_view(full=True)

    # ---- index -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """After the knowledge base changed (an approved draft went live).

        The scorers are rebuilt on the new knowledge at once (seconds) and keep the fusion learned on
        the previous version, whose signals mean the same; the cross-validation that re-learns the
        fusion and its thresholds runs in a background thread and is swapped in when done.
        """
        view = self._make_view(full=False)
        self._view = view
        self._learn_if_provisional(view)

    @property
    def trained(self) -> bool:
        """The fusion answering was learned on this very knowledge (False while one is being learned)."""
        return _learned(self._view)

    def _learn_if_provisional(self, view: _View) -> None:
        if _learned(view):
            return
        self._retrain = threading.Thread(target=self._retrain_in_background, args=(view.key,), daemon=True)
        self._retrain.start()

    def _retrain_in_background(self, key: str) -> None:
        try:
            view = self._make_view(full=True)
        except Exception:  # the quick view keeps answering; the next start trains again
            log.exception("re-training the matcher failed")
            return
        if view.key == key and self._view.key == key:
            self._view = view
            log.warning("the matcher has learned this knowledge: answering with its own fusion now")

    def wait_for_retraining(self, timeout: float | None = None) -> None:
        """For tests and tools: block until a background re-training (if any) has finished."""
        if self._retrain is not None:
            self._retrain.join(timeout)

    def _make_view(self, *, full: bool) -> _View:
        kb = self.kb
        normalizer = Normalizer(kb.synonyms)
        corpus = Corpus.from_kb(kb)
        domain_words: set[str] = set(normalizer.canonical_words)
        for entry in kb.entries.values():
            for kw in entry.keywords:
                domain_words.add(normalizer(kw).replace(" ", ""))
        key = self._key(corpus)
        state = self._cached_state(key)
        if state is None and not full:
            # The fusion of the knowledge answered so far, or of the newest cached version, or none yet.
            current = getattr(self, "_view", None)
            previous = current.state if current is not None else self._newest_cached_state()
            # With no learned state the encoder's signals have no fusion to read them: its vectors of
            # every phrasing (minutes on a first start) are left to the learning.
            store = self._store if previous is not None and previous.dense is not None else None
            scorers = Scorers(corpus, normalizer, domain_words, store)
            state = _State(
                scorers.classifier,
                previous.lexical_only if previous is not None else _WARMING,
                previous.dense if previous is not None else None,
                scorers.lexical,
                scorers.dense.head if scorers.dense is not None else None,
            )
            if previous is None:
                log.warning("no learned matcher state at hand: answering cautiously until it is learned")
        elif state is None:
            scorers = Scorers(corpus, normalizer, domain_words, self._store)  # fits the classifier once
            state = self._train_and_cache(key, corpus, normalizer, domain_words, scorers)
        else:
            scorers = Scorers(
                corpus, normalizer, domain_words, self._store, state.classifier, state.lexical, state.head
            )
        referral = corpus.referral_mask
        return _View(key, normalizer, corpus, scorers, state, referral, {}, frozenset(domain_words))

    def _key(self, corpus: Corpus) -> str:
        encoder = f"{self._encoder.name}/{self._encoder.version}" if self._encoder is not None else "none"
        content = json.dumps(
            [MODEL_VERSION, encoder, self.kb.synonyms, [_doc_json(d) for d in corpus.docs]],
            ensure_ascii=False,
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()[:24]

    def _cached_state(self, key: str) -> _State | None:
        with _memo_lock:
            state = _memo.get(key)
        if state is not None or self._artifacts is None:
            return state
        state = self._load_state(f"{_CACHE_PREFIX}{key}.pkl")
        if state is not None:
            with _memo_lock:
                _memo[key] = state
        return state

    def _newest_cached_state(self) -> _State | None:
        """The state learned last by this code for any knowledge: its fusion reads the same signals."""
        name = self._artifacts.newest(_CACHE_PREFIX) if self._artifacts is not None else None
        return self._load_state(name) if name is not None else None

    def _load_state(self, name: str) -> _State | None:
        assert self._artifacts is not None
        data = self._artifacts.load(name)
        if data is None:
            return None
        try:
            return pickle.loads(data)
        except Exception as exc:  # stale or damaged: train again
            log.warning("ignoring unreadable matcher cache %s: %s", name, exc)
            return None

    def _train_and_cache(
        self, key: str, corpus: Corpus, normalizer: Normalizer, domain_words: set[str], scorers: Scorers
    ) -> _State:
        questions = sum(len(d.questions) for d in corpus.docs)
        # Said at warning level so that an operator sees why a first start takes a minute or more.
        log.warning(
            "first use of this knowledge: training the matcher on %d questions (cached after)", questions
        )
        data = cross_validate(corpus, normalizer, domain_words, self._store)
        dense = train(data, dense=True) if self._store is not None else None
        head = scorers.dense.head if scorers.dense is not None else None
        state = _State(scorers.classifier, train(data, dense=False), dense, scorers.lexical, head)
        if self._artifacts is not None:
            self._artifacts.save(f"{_CACHE_PREFIX}{key}.pkl", pickle.dumps(state))
            # Every knowledge change trains a new state: keep the newest few (a revert finds its own).
            self._artifacts.prune("matcher-", KEEP_CACHED)
        with _memo_lock:
            _memo[key] = state
        return state

    def _mask(self, view: _View, community: str | None) -> np.ndarray:
        mask = view.masks.get(community)
        if mask is None:
            visible = self.kb.visible_ids(community)
            mask = np.fromiter(
                (d.referral or d.id in visible for d in view.corpus.docs),
                dtype=bool,
                count=len(view.corpus.docs),
            )
            view.masks[community] = mask
        return mask

    @property
    def normalizer(self) -> Normalizer:
        return self._view.normalizer

    @property
    def thresholds(self) -> Thresholds:
        view = self._view
        trained = view.state.dense if view.use_dense else view.state.lexical_only
        assert trained is not None
        return self._thresholds(trained)

    def _thresholds(self, trained: Trained) -> Thresholds:
        chosen = {k: v for k, v in self._override.items() if v is not None}
        return replace(trained.thresholds, **chosen) if chosen else trained.thresholds

    @property
    def report(self) -> dict[str, dict[str, float]]:
        """Cross-validated figures of the trained fusion (for `kb check` and the benchmarks)."""
        state = self._view.state
        out = {"lexical+classifier": state.lexical_only.report}
        if state.dense is not None:
            out["with encoder"] = state.dense.report
        return out

    # ---- query -------------------------------------------------------------------------------
    def match(self, text: str, community: str | None = None) -> MatchResult:
        view = self._view  # one knowledge version for the whole question
        urgent = False  # emergencies are triaged before matching (bot/core/triage)
        normalized = view.normalizer(text)
        if not normalized or not view.corpus.docs:
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "empty")
        visible = self._mask(view, community)
        scorers = view.scorers

        # The title or a question of one entry, word for word: the answer its authors wrote for exactly
        # this wording. Nothing to weigh; a referral topic's wording still goes the whole way (escalate).
        # (An operator's answer threshold above certainty, MATCH_ANSWER_THRESHOLD > 100, still holds.)
        exact = scorers.lexical.exact_hit(normalized, visible)
        if (
            exact is not None
            and not view.referral[exact[0]]
            and self._thresholds(view.state.lexical_only).answer <= 1.0
        ):
            doc, phrasing, field = exact
            entry = Candidate(view.corpus.docs[doc].id, 100.0, phrasing, field)
            evidence = Evidence("exact", phrasing)
            return MatchResult(
                Outcome.ANSWER, 100.0, (entry,), urgent, normalized, "exact wording", 1.0, evidence
            )

        # First without the encoder: when lexical and classifier alone already answer (an exact or
        # close phrasing), the encoder's ~25 ms are saved.
        lexical_only = view.state.lexical_only
        analysis = scorers.analyse(text, normalized, visible, None)
        trained, used = lexical_only, "lexical+classifier"
        if view.use_dense and analysis.candidates:
            probs = lexical_only.fusion.predict(analysis.rows)
            t = self._thresholds(lexical_only)
            decision = decide(
                probs, view.referral[analysis.candidates], analysis.blocked, t, analysis.elsewhere
            )
            if decision.outcome == "answer":
                return self._result(view, analysis, probs, decision, normalized, used)
            vector = self._query_vector(view, text)
            if vector is not None and view.state.dense is not None:
                analysis = scorers.analyse(text, normalized, visible, vector, earlier=analysis)
                trained, used = view.state.dense, "with encoder"
        if not analysis.candidates:
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "no known words")
        probs = trained.fusion.predict(analysis.rows)
        referral = view.referral[analysis.candidates]
        decision = decide(probs, referral, analysis.blocked, self._thresholds(trained), analysis.elsewhere)
        if analysis.broad and decision.reason == "no confident match":
            # One word several entries are asked with ("身份证的事"): nothing is likely on its own, yet
            # an officer would only ask "which one?". The entries it names are offered instead.
            entries = [i for i in np.argsort(-probs, kind="stable") if not referral[i]][:MAX_OFFERED]
            if len(entries) > 1:
                decision = Decision("clarify", tuple(int(i) for i in entries), "which one is meant")
        elif analysis.several and decision.reason == "no confident match":
            # Only words that each name several entries ("证件丢了咋补", "我要补办"): the officer's
            # "which document?", offering the entries all its words name (else any), likeliest first.
            several = analysis.several
            most = max(several.values())
            if sum(1 for n in several.values() if n == most) > 1:
                several = {pos: n for pos, n in several.items() if n == most}
            ranked = sorted(several, key=lambda pos: (-probs[pos], pos))
            entries = [pos for pos in ranked if not referral[pos]][:MAX_OFFERED]
            if len(entries) > 1:
                decision = Decision("clarify", tuple(entries), "which one is meant")
        return self._result(view, analysis, probs, decision, normalized, used)

    @staticmethod
    def _query_vector(view: _View, text: str) -> np.ndarray | None:
        try:
            assert view.scorers.dense is not None
            return view.scorers.dense.encode_query(text)
        except Exception as exc:  # the encoder failing must not stop answering
            log.warning("sentence encoder failed, answering without it: %s", exc)
            return None

    def _result(
        self,
        view: _View,
        analysis: Analysis,
        probs: np.ndarray,
        decision: Decision,
        normalized: str,
        used: str,
    ) -> MatchResult:
        outcome = {"answer": Outcome.ANSWER, "clarify": Outcome.CLARIFY, "escalate": Outcome.ESCALATE}[
            decision.outcome
        ]
        chosen = [
            Candidate(
                view.corpus.docs[analysis.candidates[pos]].id,
                round(100.0 * float(probs[pos]), 2),
                *_phrasing(view, analysis, pos),
            )
            for pos in decision.order
        ]
        top = decision.order[0] if decision.order else None
        confidence = float(probs[top]) if top is not None else 0.0
        evidence = _evidence(view, analysis, top, used) if top is not None else None
        score = round(100.0 * confidence, 2)
        return MatchResult(
            outcome, score, tuple(chosen), False, normalized, decision.reason, confidence, evidence
        )

    def rules_out(self, text: str, entry_id: str) -> bool:
        """The knowledge base says `text` is not that entry's: it uses a word by which one of the
        entry's `not_covered` questions names another entry (驾驶证 under the ID card's renewal), or
        it is nearer one of those questions than any of the entry's own phrasings
        (新生儿医保咋办 under the birth registration). For a conversation's readings, which put the
        conversation's matter on a message where the matcher's negatives do not reach."""
        view = self._view
        doc = view.corpus.index.get(entry_id)
        normalized = view.normalizer(text)
        if doc is None or not view.corpus.docs[doc].not_covered or not normalized:
            return False
        lexical = view.scorers.lexical
        foreign = view.not_words.get(doc)
        if foreign is None:
            questions = [view.normalizer(q) for q in view.corpus.docs[doc].not_covered]
            foreign = view.not_words[doc] = lexical.not_words(doc, questions)
        if any(t in foreign for t in lexical.segmenter.segment(normalized)):
            return True
        xc, _ = view.scorers.classifier.vectorize(text)
        own_sims, not_sims = view.scorers.classifier.scope(xc)
        return bool(not_sims[doc] > own_sims[doc])

    def scorer_tops(self, text: str, community: str | None = None) -> dict[str, str | None]:
        """Each scorer's own best document for `text`, alone (the benchmarks' baselines)."""
        view = self._view
        normalized = view.normalizer(text)
        if not normalized:
            return {"lexical": None, "classifier": None, "encoder": None}
        visible = self._mask(view, community)
        vector = self._query_vector(view, text) if view.scorers.dense is not None else None
        analysis = view.scorers.analyse(text, normalized, visible, vector)
        ids = view.corpus.ids

        def top(values: np.ndarray | None) -> str | None:
            return ids[int(np.argmax(values))] if values is not None and values.max() > 0 else None

        return {
            "lexical": top(analysis.lexical.probs),
            "classifier": top(analysis.clf_p),
            "encoder": top(analysis.enc),
        }

    def is_referral(self, doc_id: str) -> bool:
        return doc_id in self.kb.referrals

    def segment(self, text: str) -> list[str]:
        """The terms this matcher sees in `text` (normalised, segmented, stopwords removed)."""
        view = self._view
        return view.scorers.lexical.segmenter.segment(view.normalizer(text))


def _learned(view: _View) -> bool:
    """The view answers with the state learned on its own knowledge."""
    with _memo_lock:
        return view.state is _memo.get(view.key)


def _phrasing(view: _View, analysis: Analysis, pos: int) -> tuple[str, str]:
    """The knowledge base's wording closest to the question for one candidate, and its field."""
    doc_index = analysis.candidates[pos]
    lexical = analysis.lexical.best_phrasing.get(doc_index)
    dense = view.scorers.dense
    # The encoder's closest phrasing speaks when the lexical one is weak or missing.
    if dense is not None and analysis.enc_sims is not None and (lexical is None or lexical[1] < 0.5):
        enc_text = dense.closest(analysis.enc_sims, doc_index)
        if enc_text is not None:
            return enc_text, _field_of(view.corpus.docs[doc_index], enc_text)
    if lexical is not None:
        return lexical[0].text, lexical[0].field
    return view.corpus.docs[doc_index].title, "title"


def _evidence(view: _View, analysis: Analysis, pos: int, used: str) -> Evidence:
    values = dict(zip(NAMES, analysis.rows[pos], strict=True))
    # The scorer that carried the decision: the one most sure of this candidate, among those that
    # rank it first (an exact repeat of a phrasing says it all).
    sure = {"lexical": values["lex_p"], "classifier": values["clf_p"]}
    if used == "with encoder":
        sure["encoder"] = values["enc_cos"]
    rank = {"lexical": "lex_rank", "classifier": "clf_rank", "encoder": "enc_rank"}
    firsts = {k: v for k, v in sure.items() if values[rank[k]] == 1.0} or sure
    scorer = "exact" if values["exact"] else max(firsts, key=lambda k: firsts[k])
    phrasing, _ = _phrasing(view, analysis, pos)
    return Evidence(
        scorer,
        phrasing,
        tuple((name, round(float(v), 3)) for name, v in sure.items()),
        tuple(analysis.uncovered[pos][:5]),
    )


def _field_of(doc, text: str) -> str:
    for phrasing, field in doc.phrasings():
        if phrasing == text:
            return field
    return "question"


def _doc_json(doc) -> list:
    return [
        doc.id,
        doc.referral,
        doc.title,
        doc.keywords,
        doc.questions,
        doc.answer_text,
        doc.not_covered,
        doc.local_rules,
    ]
