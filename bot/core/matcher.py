"""Matching a resident's message to knowledge entries, in three bands: answer, clarify, escalate.

How a query is scored (everything expensive is precomputed once per knowledge base):
1. The message is normalised (width, script, case, synonyms, fillers) and segmented with jieba in
   search mode; homophone typos are repaired by looking up the toneless pinyin of every 2–4 character
   window in the knowledge vocabulary (身分证 → 身份证, 户口签移 → 迁移).
2. An inverted index gives each entry the IDF-weighted sum of the query terms it contains
   (weighted by where the term appears: titles and keywords count fully, question wording less).
   The share of the message's weight that an entry explains is the main signal, so unrelated
   questions, which share only generic words, stay low.
3. The few best entries are re-scored with rapidfuzz against each of their phrasings (title,
   alternate questions, keywords); the best phrasing explains the match.
4. Bands: a clear winner above the answer threshold is answered; close or weaker candidates are
   offered as "did you mean"; nothing convincing goes to the community's officers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Candidate, MatchResult, Outcome
from bot.core.segment import STOPWORDS, Segmenter, is_dictionary_word, pinyin_key
from bot.core.text import Normalizer, fold, is_cjk_char
from bot.core.urgent import is_urgent

# How strongly a term ties an entry to itself, by where it appears in the entry.
_FIELD_WEIGHT = {"title": 1.0, "keyword": 1.0, "question": 0.55, "answer": 0.3}
_QUESTION_REPEAT_BONUS = 0.12  # per further question using the term, up to full weight
_SINGLE_CHAR_WEIGHT = 0.5  # 车, 证, 偷 carry meaning but are ambiguous
_REPAIRED_WEIGHT = 0.8  # a word recovered from a homophone typo
_RERANK = 4  # documents re-scored with rapidfuzz (the bands look at four at most)


@dataclass(frozen=True, slots=True)
class ScoringParams:
    sharpness: float = 1.0  # softmax temperature over evidence (IDF units)
    null_evidence: float = 2.0  # evidence of "none of the entries fits"
    unknown_share: float = 0.3  # how much each unfamiliar word strengthens "none fits"
    fuzzy_bonus: float = 2.0  # evidence added by a phrasing rapidfuzz finds identical


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float = 55.0  # confidence (0-100) to answer outright
    clarify: float = 15.0  # confidence to offer "did you mean"; below it the officers take over
    margin: float = 20.0  # lead over the runner-up needed to answer
    clarify_ratio: float = 0.3  # offer candidates at least this share of the best one's confidence
    referral_ratio: float = 0.5  # a non-police topic this close to the best entry means escalate
    max_candidates: int = 4


@dataclass(frozen=True, slots=True)
class _Phrasing:
    text: str
    field: str
    joined: str  # segmented terms joined by spaces, for rapidfuzz's token scorers


class Matcher:
    def __init__(
        self, kb: KnowledgeBase, thresholds: Thresholds | None = None, params: ScoringParams | None = None
    ) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.params = params or ScoringParams()
        self.normalizer = Normalizer(kb.synonyms)
        self._build()

    # ---- index -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """After the knowledge base changed (an approved draft went live)."""
        self._build()

    def _build(self) -> None:
        kb = self.kb
        # Teach jieba the domain words first so that entries and queries are cut the same way.
        domain_words: set[str] = set(self.normalizer.canonical_words)
        for entry in kb.entries.values():
            for kw in entry.keywords:
                domain_words.add(self.normalizer(kw).replace(" ", ""))
        self._segmenter = Segmenter()
        self._segmenter.add_words(w for w in domain_words if len(w) <= 8)

        # Referral topics (matters the police do not handle) are indexed beside the entries so that
        # a question about them is recognised as such instead of landing on the nearest police entry.
        self.entry_ids: list[str] = [*kb.entries, *kb.referrals]
        self._referral_ids = frozenset(kb.referrals)
        self._phrasings: list[list[_Phrasing]] = []
        term_weight: list[dict[str, float]] = []
        # Overlays and synthetic copies repeat the same wording: segment each distinct text once.
        memo: dict[str, list[str]] = {}
        asked_terms: set[str] = set()
        for entry_id in self.entry_ids:
            phrasings: list[_Phrasing] = []
            weights: dict[str, float] = {}
            question_hits: dict[str, int] = defaultdict(int)
            for text, field in self._sources(entry_id):
                terms = memo.get(text)
                if terms is None:
                    terms = memo[text] = self._segmenter.segment(self.normalizer(text))
                if field != "answer":
                    phrasings.append(_Phrasing(text, field, " ".join(terms)))
                for term in set(terms):
                    if field == "question":
                        question_hits[term] += 1
                    weights[term] = max(weights.get(term, 0.0), _FIELD_WEIGHT[field])
            asked_terms.update(t for t, w in weights.items() if w >= _FIELD_WEIGHT["question"])
            for term, hits in question_hits.items():
                bonus = _QUESTION_REPEAT_BONUS * (hits - 1)
                weights[term] = min(1.0, max(weights[term], _FIELD_WEIGHT["question"] + bonus))
            self._phrasings.append(phrasings)
            term_weight.append(weights)
        self._joined = [[p.joined for p in phrasings] for phrasings in self._phrasings]

        n = len(self.entry_ids)
        # Rarity is judged on the wording residents ask with. Answers mention 报警 or 身份证 in passing
        # almost everywhere; counting that would make the words that name a topic look common.
        df_asked: dict[str, int] = defaultdict(int)
        df_any: dict[str, int] = defaultdict(int)
        for weights in term_weight:
            for term, w in weights.items():
                df_any[term] += 1
                if w >= _FIELD_WEIGHT["question"]:
                    df_asked[term] += 1
        self._idf = {t: math.log((n + 1) / (df_asked.get(t) or d + 0.5)) for t, d in df_any.items()}
        self._median_idf = float(np.median(list(self._idf.values()))) if self._idf else 1.0

        postings_idx: dict[str, list[int]] = defaultdict(list)
        postings_w: dict[str, list[float]] = defaultdict(list)
        for i, weights in enumerate(term_weight):
            for term, w in weights.items():
                postings_idx[term].append(i)
                postings_w[term].append(w)
        self._postings = {
            t: (np.asarray(postings_idx[t], dtype=np.int32), np.asarray(postings_w[t], dtype=np.float64))
            for t in postings_idx
        }

        # Typo repair only aims at words residents ask with (titles, keywords, questions): the long
        # answer texts would add everyday words (主要, 处所) that turn correct text into false hits.
        pinyin_vocab: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for term in asked_terms:
            # Real words only: search mode also yields fragments like 地办 (of 异地办理) that a typo
            # must not be "repaired" into.
            if 2 <= len(term) <= 4 and (term in domain_words or is_dictionary_word(term)):
                key = pinyin_key(term)
                if key is not None:
                    pinyin_vocab[key].add(term)
        self._pinyin_vocab = {k: tuple(sorted(v)) for k, v in pinyin_vocab.items()}
        self._masks: dict[str | None, np.ndarray] = {}

    def _sources(self, doc_id: str) -> list[tuple[str, str]]:
        referral = self.kb.referrals.get(doc_id)
        if referral is not None:
            return [
                (referral.title, "title"),
                *((k, "keyword") for k in referral.keywords),
                *((q, "question") for q in referral.questions),
            ]
        entry = self.kb.entries[doc_id]
        a = entry.answer
        answer_text = [a.summary, a.who, *a.materials, *a.steps, a.where, a.fees, a.time_limit, *a.tips]
        return [
            (entry.title, "title"),
            *((k, "keyword") for k in entry.keywords),
            *((q, "question") for q in entry.questions),
            *((t, "answer") for t in answer_text if t),
        ]

    def _mask(self, community: str | None) -> np.ndarray:
        mask = self._masks.get(community)
        if mask is None:
            visible = self.kb.visible_ids(community) | self._referral_ids
            mask = np.fromiter(
                (eid in visible for eid in self.entry_ids), dtype=bool, count=len(self.entry_ids)
            )
            self._masks[community] = mask
        return mask

    # ---- query -------------------------------------------------------------------------------
    def _query_terms(self, normalized: str) -> tuple[dict[str, float], set[str], set[str]]:
        """Terms with their weight in the query, the typo fragments repaired and the words put in."""
        terms = self._segmenter.segment_weighted(normalized)
        for term, weight in terms.items():
            terms[term] = weight * _SINGLE_CHAR_WEIGHT if len(term) == 1 else weight
        repaired: set[str] = set()
        added: set[str] = set()
        for run in _cjk_runs(normalized):
            keys = [pinyin_key(ch) for ch in run]
            syllables = [k[0] if k else "" for k in keys]
            for size in (4, 3, 2):
                for start in range(len(run) - size + 1):
                    words = self._pinyin_vocab.get(tuple(syllables[start : start + size]))
                    fragment = run[start : start + size]
                    if not words or fragment in words:
                        continue
                    for word in words:
                        # 户口不(在) is not a typo of 户口簿: a differing character that is a function
                        # word means the window straddles two real words.
                        if any(f != w and f in STOPWORDS for f, w in zip(fragment, word, strict=True)):
                            continue
                        repaired.add(fragment)
                        if word not in terms:
                            terms[word] = _REPAIRED_WEIGHT
                            added.add(word)
        return terms, repaired, added

    def match(self, text: str, community: str | None = None) -> MatchResult:
        urgent = is_urgent(fold(text))
        normalized = self.normalizer(text)
        if not normalized or not self.entry_ids:
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "empty")
        terms, repaired, _ = self._query_terms(normalized)

        scores = np.zeros(len(self.entry_ids), dtype=np.float64)
        unknown_mass = 0.0
        for term, qweight in terms.items():
            idf = self._idf.get(term)
            if idf is None:
                if any(term in frag or frag in term for frag in repaired):
                    continue  # the typo itself: its repaired word stands in for it
                unknown_mass += qweight * self._median_idf
                continue
            idx, weights = self._postings[term]
            scores[idx] += qweight * idf * weights
        scores[~self._mask(community)] = 0.0
        if not scores.any():
            return MatchResult(Outcome.ESCALATE, 0.0, (), urgent, normalized, "no known words")

        top = _top_indices(scores, _RERANK)
        query_joined = " ".join(self._segmenter.segment(normalized))
        rescored = self._rescore([int(i) for i in top if scores[i] > 0], scores, query_joined)
        # Confidence is a softmax over the candidates' evidence plus a "none of them" option whose
        # evidence grows with the words the knowledge base does not know: a long story full of
        # unfamiliar words needs a stronger match than a short question in the knowledge's own terms.
        # Every visible document takes part (the short-listed ones with their rapidfuzz bonus), so the
        # confidence does not depend on how many were short-listed.
        null_evidence = self.params.null_evidence + self.params.unknown_share * unknown_mass
        listed = np.array([e for _, e, _, _ in rescored])
        rest = np.delete(scores, [int(i) for i in top if scores[i] > 0])
        rest = rest[rest > 0]
        peak = max(null_evidence, float(listed.max()) if len(listed) else 0.0)
        weights = np.exp(self.params.sharpness * (listed - peak))
        total = (
            weights.sum()
            + np.exp(self.params.sharpness * (null_evidence - peak))
            + np.exp(self.params.sharpness * (rest - peak)).sum()
        )
        candidates = [
            Candidate(doc_id, round(100.0 * float(w / total), 2), text, field)
            for (doc_id, _, text, field), w in zip(rescored, weights, strict=True)
        ]
        candidates.sort(key=lambda c: (-c.score, c.entry_id))
        return self._band(candidates, urgent, normalized)

    def _rescore(
        self, indices: list[int], scores: np.ndarray, query_joined: str
    ) -> list[tuple[str, float, str, str]]:
        """Evidence per document: its lexical mass plus a bonus for its closest rapidfuzz phrasing.

        All phrasings of the short-listed documents are scored in two C++ calls (token-sort and
        token-set similarity: word order and subsets), not in a Python loop.
        """
        choices = [joined for i in indices for joined in self._joined[i]]
        if not choices:
            return []
        sims = 0.5 * process.cdist([query_joined], choices, scorer=fuzz.token_sort_ratio)[0]
        sims += 0.5 * process.cdist([query_joined], choices, scorer=fuzz.token_set_ratio)[0]
        rescored, start = [], 0
        for i in indices:
            count = len(self._joined[i])
            if count == 0:
                rescored.append((self.entry_ids[i], float(scores[i]), "", ""))
                continue
            position = int(np.argmax(sims[start : start + count]))
            best = self._phrasings[i][position]
            evidence = float(scores[i]) + self.params.fuzzy_bonus * float(sims[start + position]) / 100.0
            rescored.append((self.entry_ids[i], evidence, best.text, best.field))
            start += count
        return rescored

    def _band(self, candidates: list[Candidate], urgent: bool, normalized: str) -> MatchResult:
        t = self.thresholds

        def result(outcome: Outcome, score: float, chosen: Sequence[Candidate], reason: str) -> MatchResult:
            return MatchResult(outcome, score, tuple(chosen), urgent, normalized, reason)

        entries = [c for c in candidates if c.entry_id not in self._referral_ids]
        referral = next((c for c in candidates if c.entry_id in self._referral_ids), None)
        best = entries[0] if entries else None
        rival = best.score * t.referral_ratio if best else 0.0
        if referral is not None and referral.score >= max(t.clarify, rival):
            # A matter for another body, or as likely that as the best police entry: an officer sorts
            # it out rather than the bot risking a confident wrong answer.
            return result(Outcome.ESCALATE, referral.score, (referral,), "outside police services")
        if best is None:
            return result(Outcome.ESCALATE, 0.0, (), "no candidate")
        runner_up = next((c.score for c in candidates if c is not best), 0.0)
        if best.score >= t.answer and best.score - runner_up >= t.margin:
            return result(Outcome.ANSWER, best.score, (best,), "clear match")
        # A bare word like 补办 spreads its confidence over several entries: what counts for "did you
        # mean" is how likely it is that the answer is among the entries offered, not any single one.
        close = [c for c in entries if c.score >= best.score * t.clarify_ratio][: t.max_candidates]
        if sum(c.score for c in close) >= t.clarify:
            reason = "several close matches" if len(close) > 1 else "weak match"
            return result(Outcome.CLARIFY, best.score, close if len(close) >= 2 else entries[:2], reason)
        return result(Outcome.ESCALATE, best.score, entries[:3], "no confident match")

    def is_referral(self, doc_id: str) -> bool:
        return doc_id in self._referral_ids

    def segment(self, text: str) -> list[str]:
        """The terms this matcher sees in `text` (normalised, segmented, stopwords removed)."""
        return self._segmenter.segment(self.normalizer(text))


def _top_indices(values: np.ndarray, k: int) -> np.ndarray:
    order = np.arange(len(values)) if len(values) <= k else np.argpartition(-values, k)[:k]
    # Sort by score, then by position, so equal scores always come out in the same order.
    return order[np.lexsort((order, -values[order]))]


def _cjk_runs(text: str) -> list[str]:
    runs, current = [], []
    for ch in text:
        if is_cjk_char(ch):
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs
