"""What every scorer says about each candidate document, as one row of numbers per candidate.

Candidates are the union of each scorer's few best documents. A row holds the scorer's probability or
similarity, its rank and its lead over the next document, plus signs that an answer would be wrong: salient
words of the question the document never mentions, words the knowledge base does not know at all, how
close the question is to the document's own questions versus to the ones it does not cover, and how
close it is to a matter of another body (a referral topic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bot.core.text import Normalizer
from bot.core.understanding.classifier import PhrasingClassifier
from bot.core.understanding.corpus import Corpus
from bot.core.understanding.dense import DenseHead, DenseIndex, VectorStore
from bot.core.understanding.lexical import LexicalRanking, LexicalScorer, top_indices
from bot.core.understanding.places import asks_where, origins, place_of

PER_SCORER = 4  # candidates taken from each scorer

# Signals of the lexical scorer, the n-gram classifier and what they share.
_LEXICAL: tuple[str, ...] = (
    "lex_p",
    "lex_logp",
    "lex_rank",
    "lex_sim",
    "phrasing_extra",
    "clf_p",
    "clf_logp",
    "clf_rank",
    "clf_lead",
    "uncovered_share",
    "uncovered_salient",
    "unknown_share",
    "length",
    "own_sim",
    "not_sim",
    "not_minus_own",
    "referral",
    "referral_p",
    "exact",
    "agree",
    "other_place",
)
# Signals of the sentence encoder (zero without it; the lexical-only fusion never reads them).
_DENSE: tuple[str, ...] = (
    "enc_cos",
    "enc_rank",
    "enc_lead",
    "enc_referral_gap",
    "head_p",
    "head_logp",
    "head_rank",
    "head_lead",
)
# Police matter or another body's (matter.py): over the character n-grams, over the sentence vectors.
_MATTER, _MATTER_DENSE = ("police_p", "kind_p"), ("police_enc", "kind_enc")
NAMES: tuple[str, ...] = _LEXICAL + _DENSE + _MATTER + _MATTER_DENSE
DENSE_FEATURES = frozenset(_DENSE + _MATTER_DENSE)


# Nouns that name no matter of their own: "身份证的问题" asks about 身份证, nothing more.
VAGUE_WORDS = frozenset({"问题", "事情", "事儿", "情况", "相关", "方面", "业务", "咨询", "东西"})


@dataclass(slots=True)
class Analysis:
    candidates: list[int]  # corpus indices
    rows: np.ndarray  # (candidates, NAMES)
    lexical: LexicalRanking
    clf_p: np.ndarray
    enc: np.ndarray | None  # best cosine per document
    enc_sims: np.ndarray | None  # the encoder's cosine for every phrasing
    uncovered: list[list[str]]  # per candidate
    blocked: list[bool]  # per candidate: may be offered, never answered outright (fusion.decide)
    xc: object = None  # the question's character vector (kept for a second pass with the encoder)
    elsewhere: list[bool] | None = None  # per candidate: the question is about another city's rules
    broad: bool = False  # one word several entries are asked with (身份证, 户口): "which one?"
    # Only words that each name several entries ("证件丢了咋补"): candidate position → how many of the
    # words name that candidate.
    several: dict[int, int] = field(default_factory=dict)


class Scorers:
    """The three scorers over one corpus, and the feature rows they produce together."""

    def __init__(
        self,
        corpus: Corpus,
        normalizer: Normalizer,
        domain_words: set[str],
        store: VectorStore | None,
        classifier: PhrasingClassifier | None = None,
        lexical: LexicalScorer | None = None,
        head: DenseHead | None = None,
    ) -> None:
        """`classifier`, `lexical`, `head`: built earlier on this very corpus (the model cache)."""
        self.corpus = corpus
        self.normalizer = normalizer
        if lexical is None:
            lexical = LexicalScorer(corpus, normalizer, domain_words)
        else:
            lexical.restored(corpus, normalizer)
        self.lexical = lexical
        self._prepared: dict[str, tuple[str, str]] = {}
        if classifier is None:
            classifier = PhrasingClassifier(corpus, self.prepare)
        else:
            classifier._prepare = self.prepare
        self.classifier = classifier
        self.dense = DenseIndex(corpus, store, head) if store is not None else None
        self.is_referral = corpus.referral_mask
        # Entries stating this city's own rules: a question about another city's version of them
        # (三亚户口迁入条件) is not theirs to answer, nor is the other place a word they explain.
        self.local = np.array([d.local_rules and not d.referral for d in corpus.docs], dtype=bool)

    def prepare(self, text: str) -> tuple[str, str]:
        cached = self._prepared.get(text)
        if cached is None:
            normalized = self.normalizer(text)
            words = " ".join(self.lexical.segmenter.segment(normalized))
            cached = (normalized.replace(" ", ""), words)
            if len(self._prepared) < 50_000:
                self._prepared[text] = cached
        return cached

    def analyse(
        self,
        text: str,
        normalized: str,
        visible: np.ndarray,
        query_vector: np.ndarray | None = None,
        vectors: tuple | None = None,
        earlier: Analysis | None = None,
    ) -> Analysis:
        """`vectors`: the classifier's (xc, x) for this text when computed in a batch; `earlier`: this
        question's analysis without the encoder, whose lexical and classifier work is reused."""
        words = self.prepare(text)[1].split()
        if earlier is not None:
            lex, xc, clf_p = earlier.lexical, earlier.xc, earlier.clf_p
        else:
            lex = self.lexical.rank(normalized, visible, words)
            xc, x = vectors if vectors is not None else self.classifier.vectorize(text)
            clf_p = self.classifier.probabilities(x, visible)
        enc = enc_sims = head = None
        police_enc = None
        if self.dense is not None and query_vector is not None:
            enc, enc_sims = self.dense.similarities(query_vector, visible)
            head = self.dense.head_probabilities(query_vector, visible)
            if self.dense.head is not None:
                police_enc = self.dense.head.police(query_vector)
        # How much the question reads as a police matter at all (matter.py), and so as the kind of
        # document each candidate is: a police entry's, or another body's.
        police = self.classifier.police(xc)

        pools = [top_indices(lex.probs, PER_SCORER), top_indices(clf_p, PER_SCORER)]
        if enc is not None:
            pools.append(top_indices(enc, PER_SCORER))
        if head is not None:
            pools.append(top_indices(head, PER_SCORER))
        if lex.exact is not None:
            pools.append(np.array([lex.exact]))
        seen: dict[int, None] = {}
        for pool in pools:
            for i in pool:
                if visible[int(i)]:
                    seen.setdefault(int(i), None)
        candidates = list(seen)

        lex_rank = _ranks(lex.probs)
        clf_rank = _ranks(clf_p)
        enc_rank = _ranks(enc) if enc is not None else None
        head_rank = _ranks(head) if head is not None else None
        referral_p = float(clf_p[self.is_referral].max()) if self.is_referral.any() else 0.0
        enc_referral = (
            float(enc[self.is_referral].max()) if enc is not None and self.is_referral.any() else 0.0
        )
        length = math.log1p(len(normalized)) / 5.0
        # A place named only as someone's origin does not make the question another place's (老公是
        # 柳州人 still says it is about us).
        named = {p for t in words if (p := place_of(t)) is not None}
        named -= origins(normalized) - self.corpus.home
        elsewhere = sorted(named - self.corpus.home)
        about_elsewhere = bool(elsewhere) and not named & self.corpus.home
        # ... when the candidate states local rules (national ones, 身份证 or 护照, hold there too), or
        # when the question asks where, when or whom to call there.
        where = about_elsewhere and asks_where(normalized)
        away = [about_elsewhere and (where or bool(self.local[i])) for i in candidates]
        rows = np.zeros((len(candidates), len(NAMES)))
        uncovered: list[list[str]] = []
        own_all, not_all = self.classifier.scope(xc)
        asked = set(words) | set(lex.terms)
        for r, i in enumerate(candidates):
            # Another place's name a local entry never mentions is a key word it does not explain.
            own = self.lexical.doc_terms[i]
            places = [p for p in elsewhere if p not in own] if self.local[i] else []
            missing = places + self.lexical.uncovered(lex, i)
            uncovered.append(missing)
            own_sim, not_sim = float(own_all[i]), float(not_all[i])
            firsts = (
                int(lex_rank[i] == 1) + int(clf_rank[i] == 1) + int(enc_rank is not None and enc_rank[i] == 1)
            )
            phrasing = lex.best_phrasing.get(i)
            row = {
                "lex_p": lex.probs[i],
                "lex_logp": math.log(lex.probs[i] + 1e-4),
                "lex_rank": 1.0 / lex_rank[i],
                "lex_sim": phrasing[1] if phrasing else 0.0,
                "phrasing_extra": self._extra(phrasing[0].joined, asked) if phrasing else 1.0,
                "clf_p": clf_p[i],
                "clf_logp": math.log(clf_p[i] + 1e-4),
                "clf_rank": 1.0 / clf_rank[i],
                "clf_lead": clf_p[i] - _best_other(clf_p, i),
                "uncovered_share": self.lexical.uncovered_share(lex, i),
                "uncovered_salient": min(len(missing), 3) / 3.0,
                "unknown_share": lex.unknown_share,
                "length": length,
                "own_sim": own_sim,
                "not_sim": not_sim,
                "not_minus_own": not_sim - own_sim,
                "referral": float(self.is_referral[i]),
                "referral_p": referral_p,
                "exact": float(lex.exact == i),
                "agree": firsts / (3.0 if enc is not None else 2.0),
                "other_place": float(bool(elsewhere)),
                "police_p": police,
                "kind_p": _as_kind(police, self.is_referral[i]),
            }
            if enc is not None and enc_rank is not None:
                row["enc_cos"] = enc[i]
                row["enc_rank"] = 1.0 / enc_rank[i]
                row["enc_lead"] = enc[i] - _best_other(enc, i)
                row["enc_referral_gap"] = enc_referral - enc[i]
            if head is not None and head_rank is not None:
                row["head_p"] = head[i]
                row["head_logp"] = math.log(head[i] + 1e-4)
                row["head_rank"] = 1.0 / head_rank[i]
                row["head_lead"] = head[i] - _best_other(head, i)
            if police_enc is not None:
                row["police_enc"] = police_enc
                row["kind_enc"] = _as_kind(police_enc, self.is_referral[i])
            rows[r] = [row.get(name, 0.0) for name in NAMES]
        # A candidate that leaves a key word unexplained, or shares no word with the question at all
        # (only the classifier's or the encoder's similarity speaks for it), is never answered outright;
        # nor is any when the question is one word several entries are named by: "which one?". Vague
        # nouns (问题, 情况) do not make "居住证的问题" any less a bare 居住证; a part asked for (收不收费)
        # or a character of the matter (丢, 换) does.
        plain = [w for w in words if w not in VAGUE_WORDS]
        shared = self.lexical.is_bare_shared_word(plain)
        blocked = [
            shared or bool(u) or lex.probs[i] == 0.0 for u, i in zip(uncovered, candidates, strict=True)
        ]
        # Without single characters (事, 的) either, for "which one?" when nothing is likely on its own.
        topic = [w for w in plain if len(w) > 1]
        broad = shared or self.lexical.is_bare_shared_word(topic)
        several: dict[int, int] = {}
        if not broad:
            # Which candidates a question made only of words that name several entries may mean.
            named = self.lexical.named_by_several(topic)
            several = {r: named[i] for r, i in enumerate(candidates) if i in named}
        return Analysis(
            candidates, rows, lex, clf_p, enc, enc_sims, uncovered, blocked, xc, away, broad, several
        )

    def _extra(self, joined: str, asked: set[str]) -> float:
        """How much of the closest phrasing the question leaves out, by rarity: rapidfuzz's token-set
        score calls 申请居住证要准备什么 identical to 台湾同胞在大陆申请居住证要准备哪些东西, whose rarest
        words (台湾同胞, 大陆) are exactly what make it another entry's."""
        idf, median = self.lexical.idf, self.lexical.median_idf
        terms = set(joined.split())
        # fsum: exact whatever the order, and a set's order changes from one process to the next
        # (string hashing), which made two trainings on the same knowledge differ in the last bit.
        total = math.fsum(idf.get(t, median) for t in terms)
        missing = math.fsum(idf.get(t, median) for t in terms if t not in asked)
        return missing / total if total else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def _as_kind(police: float, referral: bool) -> float:
    """P(a police matter) read for a candidate: for a referral topic, that it is another body's."""
    return 1.0 - police if referral else police


def _best_other(values: np.ndarray, i: int) -> float:
    if len(values) < 2:
        return 0.0
    two = np.partition(values, -2)[-2:]
    top, second = float(two.max()), float(two.min())
    return second if values[i] >= top else top
