"""The lexical scorer: an IDF-weighted term index over the phrasings, re-scored with rapidfuzz.

How a query is scored (everything expensive is precomputed once per corpus):
1. The message is normalised (width, script, case, synonyms, fillers) and segmented with jieba in
   search mode; homophone typos are repaired by looking up the toneless pinyin of every 2–4 character
   window in the knowledge vocabulary (身分证 → 身份证, 户口签移 → 迁移).
2. An inverted index gives each document the IDF-weighted sum of the query terms it contains
   (weighted by where the term appears: titles and keywords count fully, question wording less).
3. The few best documents are re-scored with rapidfuzz against each of their phrasings; the best
   phrasing explains the match.
4. A softmax over the documents' evidence plus a "none of them" option whose evidence grows with the
   words the knowledge base does not know gives each document a lexical probability.
It also tells which salient words of the question a document does not explain (图书馆 for the police
room's address entry), one of the strongest signs that an answer would be wrong.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.core.segment import STOPWORDS, Segmenter, is_dictionary_word, pinyin_key
from bot.core.text import Normalizer, is_cjk_char
from bot.core.understanding.corpus import Corpus
from bot.core.understanding.places import places

# How strongly a term ties a document to itself, by where it appears in the document.
_FIELD_WEIGHT = {"title": 1.0, "keyword": 1.0, "question": 0.55, "answer": 0.3}
_QUESTION_REPEAT_BONUS = 0.12  # per further question using the term, up to full weight
_SINGLE_CHAR_WEIGHT = 0.5  # 车, 证, 偷 carry meaning but are ambiguous
_REPAIRED_WEIGHT = 0.8  # a word recovered from a homophone typo
RERANK = 6  # documents re-scored with rapidfuzz
_NULL_EVIDENCE = 2.0  # evidence of "none of the documents fits"
_UNKNOWN_SHARE = 0.3  # how much each unfamiliar word strengthens "none fits"
_FUZZY_BONUS = 2.0  # evidence added by a phrasing rapidfuzz finds identical
# A key word is one some entry is asked with more than once, or names in its title or keywords (weight
# of two questions: 0.67): a word met once in one question's back-story (拆迁安置房, 打工) is context, not
# a topic, and leaving it unexplained does not make an answer wrong. Chosen by cross-validation: held-out
# phrasings answered right 0.574 → 0.611 at the same 1 % of wrong answers (0.6 and 1.0 tie).
KEY_MIN_WEIGHT = 0.6
# A word a title or keywords use, or most questions of one document: the topic of some document, if
# not of a police entry then of another body's (社保卡).
TOPIC_WEIGHT = 1.0
# A word names an entry's topic when its title or keywords use it, or at least this share of its questions
# do: residents call the passport entry 护照 (nine questions in ten), not the visa entry that mentions a
# passport in a few of its seventy. Counting mere repeats made 护照 alone "which one?" as the questions grew.
TOPIC_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Phrasing:
    text: str
    field: str
    joined: str  # segmented terms joined by spaces, for rapidfuzz's token scorers


@dataclass(slots=True)
class LexicalRanking:
    probs: np.ndarray  # per corpus document, 0 where invisible or without evidence
    best_phrasing: dict[int, tuple[Phrasing, float]]  # re-scored documents: phrasing, similarity 0-1
    terms: dict[str, float]  # query term → weight × idf (0 for unknown words)
    guessed: frozenset[str]  # words put in by typo repair: evidence, but not the resident's own words
    unknown_share: float  # share of the query's weight in words the knowledge base does not know
    exact: int | None  # a document one of whose phrasings the query repeats exactly


class LexicalScorer:
    def __init__(self, corpus: Corpus, normalizer: Normalizer, domain_words: set[str]) -> None:
        self.corpus = corpus
        self.normalizer = normalizer
        self.domain_words = frozenset(domain_words)
        self.segmenter = Segmenter()
        self.segmenter.add_words(w for w in self.domain_words if len(w) <= 8)
        self._build()

    def __getstate__(self) -> dict:
        # The index is what costs (segmenting every phrasing: seconds at a thousand entries); the
        # segmenter, normaliser and corpus are rebuilt or handed back by the owner (`restored`).
        state = self.__dict__.copy()
        for name in ("segmenter", "normalizer", "corpus"):
            state[name] = None
        return state

    def restored(self, corpus: Corpus, normalizer: Normalizer) -> LexicalScorer:
        """This index (unpickled from the model cache) attached to the corpus it was built on."""
        self.corpus, self.normalizer = corpus, normalizer
        self.segmenter = Segmenter()
        self.segmenter.add_words(w for w in self.domain_words if len(w) <= 8)
        return self

    def _build(self) -> None:
        self.phrasings: list[list[Phrasing]] = []
        self.doc_terms: list[dict[str, float]] = []
        memo: dict[str, list[str]] = {}
        asked_terms: set[str] = set()
        self.exact: dict[str, int] = {}
        self.exact_wording: dict[str, tuple[str, str]] = {}  # key → (phrasing, field)
        topic_terms: list[set[str]] = []  # per document: the words it is called by (TOPIC_SHARE)
        for i, doc in enumerate(self.corpus.docs):
            phrasings: list[Phrasing] = []
            weights: dict[str, float] = {}
            question_hits: dict[str, int] = defaultdict(int)
            named_by: set[str] = set()
            questions = 0
            sources = [*doc.phrasings(), *((t, "answer") for t in doc.answer_text)]
            for text, field in sources:
                normalized = self.normalizer(text)
                terms = memo.get(normalized)
                if terms is None:
                    terms = memo[normalized] = self.segmenter.segment(normalized)
                if field != "answer":
                    phrasings.append(Phrasing(text, field, " ".join(terms)))
                    if field != "keyword":
                        # Exact repeats of a title or question; a phrasing shared by two documents
                        # is no evidence for either.
                        key = normalized.replace(" ", "")
                        self.exact[key] = -1 if self.exact.get(key, i) != i else i
                        self.exact_wording.setdefault(key, (text, field))
                questions += field == "question"
                for term in set(terms):
                    if field == "question":
                        question_hits[term] += 1
                    elif field in ("title", "keyword"):
                        named_by.add(term)
                    weights[term] = max(weights.get(term, 0.0), _FIELD_WEIGHT[field])
            asked_terms.update(t for t, w in weights.items() if w >= _FIELD_WEIGHT["question"])
            for term, hits in question_hits.items():
                bonus = _QUESTION_REPEAT_BONUS * (hits - 1)
                weights[term] = min(1.0, max(weights[term], _FIELD_WEIGHT["question"] + bonus))
                if hits >= 2 and hits >= TOPIC_SHARE * questions:
                    named_by.add(term)
            topic_terms.append(named_by)
            self.phrasings.append(phrasings)
            self.doc_terms.append(weights)
        self._joined = [[p.joined for p in ps] for ps in self.phrasings]

        n = len(self.corpus.docs)
        # Rarity is judged on the wording residents ask with: answers mention 报警 or 身份证 in passing
        # almost everywhere, and counting that would make the words that name a topic look common.
        df_asked: dict[str, int] = defaultdict(int)
        df_any: dict[str, int] = defaultdict(int)
        self._naming: dict[str, float] = {}  # how strongly any entry names each word (KEY_MIN_WEIGHT)
        # How many documents each word names (TOPIC_SHARE): 身份证 names twenty, 分户 or 港澳通行证 one.
        named: dict[str, list[int]] = defaultdict(list)
        for i, (doc, weights, own) in enumerate(
            zip(self.corpus.docs, self.doc_terms, topic_terms, strict=True)
        ):
            for term, w in weights.items():
                df_any[term] += 1
                if w >= _FIELD_WEIGHT["question"]:
                    df_asked[term] += 1
                self._naming[term] = max(self._naming.get(term, 0.0), w)
            # Only police entries make a word "which one?": "did you mean" offers entries, and another
            # body's topic named by it (在国外补办护照) does not make a bare 护照 any less our passport.
            if not doc.referral:
                for term in own:
                    named[term].append(i)
        self.idf = {t: math.log((n + 1) / (df_asked.get(t) or d + 0.5)) for t, d in df_any.items()}
        self._named_count = {t: len(docs) for t, docs in named.items()}
        self._named_docs = {t: tuple(docs) for t, docs in named.items()}
        self.median_idf = float(np.median(list(self.idf.values()))) if self.idf else 1.0

        postings_idx: dict[str, list[int]] = defaultdict(list)
        postings_w: dict[str, list[float]] = defaultdict(list)
        for i, weights in enumerate(self.doc_terms):
            for term, w in weights.items():
                postings_idx[term].append(i)
                postings_w[term].append(w)
        self._postings = {
            t: (np.asarray(postings_idx[t], dtype=np.int32), np.asarray(postings_w[t], dtype=np.float64))
            for t in postings_idx
        }

        # Typo repair only aims at real words residents ask with (titles, keywords, questions): answer
        # texts and search-mode fragments (地办 of 异地办理) would turn correct text into false hits.
        domain = self.domain_words
        pinyin_vocab: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for term in asked_terms:
            if 2 <= len(term) <= 4 and (term in domain or is_dictionary_word(term)):
                key = pinyin_key(term)
                if key is not None:
                    pinyin_vocab[key].add(term)
        self._pinyin_vocab = {k: tuple(sorted(v)) for k, v in pinyin_vocab.items()}

    # ---- query -------------------------------------------------------------------------------
    def exact_hit(self, normalized: str, visible: np.ndarray) -> tuple[int, str, str] | None:
        """(document, phrasing, field) when the question repeats the title or a question of exactly one
        visible document, word for word once normalised."""
        key = normalized.replace(" ", "")
        doc = self.exact.get(key)
        if doc is None or doc < 0 or not visible[doc]:
            return None
        return (doc, *self.exact_wording[key])

    def query_terms(self, normalized: str) -> tuple[dict[str, float], set[str], set[str]]:
        """Terms with their weight in the query, the typo fragments repaired and the words put in."""
        spans = self.segmenter.spans(normalized)
        terms = self.segmenter.segment_weighted(normalized, [word for _, _, word in spans])
        for term, weight in terms.items():
            terms[term] = weight * _SINGLE_CHAR_WEIGHT if len(term) == 1 else weight
        repaired: set[str] = set()
        added: set[str] = set()
        # Words of the knowledge base the resident typed right: a window that cuts into one, or lies
        # inside a longer one, is not a typo of something else (公交车 holds no 轿车, 新电驴 no 新店).
        typed = [(begin, end) for begin, end, word in spans if end - begin > 1 and self.idf.get(word)]
        for offset, run in _cjk_runs(normalized):
            keys = [pinyin_key(ch) for ch in run]
            syllables = [k[0] if k else "" for k in keys]
            for size in (4, 3, 2):
                for start in range(len(run) - size + 1):
                    words = self._pinyin_vocab.get(tuple(syllables[start : start + size]))
                    fragment = run[start : start + size]
                    if not words or fragment in words or fragment in places():
                        continue  # a real word, or a place (义乌 is not a typo of 义务)
                    begin, end = offset + start, offset + start + size
                    if any(b < end and begin < e and not begin <= b < e <= end for b, e in typed):
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

    def rank(self, normalized: str, visible: np.ndarray, words: list[str] | None = None) -> LexicalRanking:
        """`words`: the question as self.segmenter cuts `normalized`, when the caller has it already."""
        n = len(self.corpus.docs)
        terms, repaired, added = self.query_terms(normalized)
        scores = np.zeros(n, dtype=np.float64)
        weighted: dict[str, float] = {}
        unknown_mass = total_mass = 0.0
        for term, qweight in terms.items():
            idf = self.idf.get(term)
            if idf is None:
                if any(term in frag or frag in term for frag in repaired):
                    continue  # the typo itself: its repaired word stands in for it
                unknown_mass += qweight * self.median_idf
                total_mass += qweight * self.median_idf
                weighted[term] = 0.0
                continue
            idx, weights = self._postings[term]
            scores[idx] += qweight * idf * weights
            weighted[term] = qweight * idf
            total_mass += qweight * idf
        scores[~visible] = 0.0
        key = normalized.replace(" ", "")
        exact = self.exact.get(key)
        exact = exact if exact is not None and exact >= 0 and visible[exact] else None
        unknown_share = unknown_mass / total_mass if total_mass else 1.0
        if not scores.any():
            return LexicalRanking(np.zeros(n), {}, weighted, frozenset(added), unknown_share, exact)

        top = top_indices(scores, RERANK)
        top = [int(i) for i in top if scores[i] > 0]
        query_joined = " ".join(words if words is not None else self.segmenter.segment(normalized))
        best = self._rescore(top, query_joined)
        evidence = scores.copy()
        for i, (_, sim) in best.items():
            evidence[i] += _FUZZY_BONUS * sim
        # Softmax over every document with evidence plus "none of them", whose evidence grows with
        # the words the knowledge base does not know: a long story full of unfamiliar words needs a
        # stronger match than a short question in the knowledge's own terms.
        null = _NULL_EVIDENCE + _UNKNOWN_SHARE * unknown_mass
        live = evidence > 0
        peak = max(null, float(evidence[live].max()))
        weights = np.zeros(n)
        weights[live] = np.exp(evidence[live] - peak)
        probs = weights / (weights.sum() + math.exp(null - peak))
        return LexicalRanking(probs, best, weighted, frozenset(added), unknown_share, exact)

    def _rescore(self, indices: list[int], query_joined: str) -> dict[int, tuple[Phrasing, float]]:
        """The closest phrasing of each short-listed document, in two C++ calls (order and subsets)."""
        choices = [joined for i in indices for joined in self._joined[i]]
        if not choices:
            return {}
        sims = 0.5 * process.cdist([query_joined], choices, scorer=fuzz.token_sort_ratio)[0]
        sims += 0.5 * process.cdist([query_joined], choices, scorer=fuzz.token_set_ratio)[0]
        best: dict[int, tuple[Phrasing, float]] = {}
        start = 0
        for i in indices:
            count = len(self._joined[i])
            if count:
                position = int(np.argmax(sims[start : start + count]))
                best[i] = (self.phrasings[i][position], float(sims[start + position]) / 100.0)
            start += count
        return best

    def is_bare_shared_word(self, words: list[str]) -> bool:
        """One word that several documents are named by (身份证, 户口, 通行证): "which one?" by itself.

        Named, not merely asked with: most topic words turn up in a question or two of a neighbouring
        entry (分户 in a 户口 question, 港澳通行证 in the fee list), and counting those made 分户, 准迁证 or
        居留许可 alone "which one?" although one entry is theirs."""
        terms = set(words)
        whole = [t for t in terms if not any(t != u and t in u for u in terms)]  # not 身份 of 身份证
        return len(whole) == 1 and self._named_count.get(whole[0], 0) > 1

    def named_by_several(self, words: list[str]) -> dict[int, int]:
        """For a question whose every topic word names several entries and none names one ("证件丢了咋补":
        证件, 丢失; "我要补办": 补领): the entries those words name, each with how many of the words name
        it. Nothing when a word names one entry (身份证丢失, 护照), when none does, when a word names only
        another body's topic (社保卡) or is unknown: that question is not "which of ours?". Known words
        that name nothing (我要, 一下) are chat."""
        terms = set(words)
        whole = [t for t in terms if not any(t != u and t in u for u in terms)]
        naming = [self._named_docs[t] for t in whole if t in self._named_docs]
        if not naming or any(len(docs) < 2 for docs in naming):
            return {}
        # A word no phrasing uses may be the very matter the knowledge base lacks (公积金); one that
        # names another body's topic (社保卡) says whose matter it is.
        if any(
            t not in self._named_docs and (t not in self.idf or self._naming.get(t, 0.0) >= TOPIC_WEIGHT)
            for t in whole
        ):
            return {}
        counts: dict[int, int] = defaultdict(int)
        for docs in naming:
            for doc in docs:
                counts[doc] += 1
        return dict(counts)

    def not_words(self, doc: int, not_covered: list[str]) -> frozenset[str]:
        """The words by which document `doc`'s not_covered questions (normalised) name other entries
        and its own wording never uses: 驾驶证 of "驾驶证到期换证" under the ID card's renewal, not 换证."""
        own = self.doc_terms[doc]
        return frozenset(
            t
            for question in not_covered
            for t in self.segmenter.segment(question)
            if len(t) > 1 and t not in own and any(d != doc for d in self._named_docs.get(t, ()))
        )

    def uncovered(self, ranking: LexicalRanking, doc: int) -> list[str]:
        """Salient known words of the question that document `doc` never mentions, most telling first.

        Salient: a word of two or more characters the knowledge base uses elsewhere, at least as rare
        as the median word, that some entry is named by (KEY_MIN_WEIGHT). Such a word names something
        the chosen entry does not explain.
        """
        own = self.doc_terms[doc]
        missing = [
            (w, t)
            for t, w in ranking.terms.items()
            if w > 0
            and len(t) >= 2
            and t not in own
            and t not in ranking.guessed
            and self.idf.get(t, 0.0) >= self.median_idf
            and self._naming.get(t, 0.0) >= KEY_MIN_WEIGHT
        ]
        return [t for _, t in sorted(missing, reverse=True)]

    def uncovered_share(self, ranking: LexicalRanking, doc: int) -> float:
        total = sum(ranking.terms.values())
        if not total:
            return 0.0
        own = self.doc_terms[doc]
        return sum(w for t, w in ranking.terms.items() if w > 0 and t not in own) / total


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    order = np.arange(len(values)) if len(values) <= k else np.argpartition(-values, k)[:k]
    # Sort by score, then by position, so equal scores always come out in the same order.
    return order[np.lexsort((order, -values[order]))]


def _cjk_runs(text: str) -> list[tuple[int, str]]:
    """The runs of Chinese characters in `text`, each with where it starts."""
    runs, current, start = [], [], 0
    for at, ch in enumerate(text):
        if is_cjk_char(ch):
            if not current:
                start = at
            current.append(ch)
        elif current:
            runs.append((start, "".join(current)))
            current = []
    if current:
        runs.append((start, "".join(current)))
    return runs
