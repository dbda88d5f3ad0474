"""Emergency triage: recall and precision per kind, false alarms on look-alike controls, latency.

    python benchmarks/triage.py [--eval FILE ...] [--folds 5]

(a) k-fold cross-validation over the shipped phrasings (bot/core/triage/phrasings.jsonl) and (b) the
separate evaluation sets in benchmarks/data/, written apart from the phrasings and never used for
fitting or choosing the threshold: triage_eval (written after the first phrasings and looked at while
the rules were written), triage_fresh, triage_blind, triage_blind2 and triage_blind3 (written blind
to the phrasings and the rules; only their totals are ever read). Both for the triage (rules +
classifier + stacker) and for the old fixed regex list (benchmarks/baseline_urgent.py) as a baseline.
"number" counts emergencies whose reply carries the kind's first number (110, 119, ...).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from _common import DEFAULT_DEV, ROOT
from baseline_urgent import is_urgent

from bot.core.text import fold
from bot.core.triage import (
    Sample,
    Triage,
    TriageResult,
    UrgentKind,
    at_threshold,
    choose_also_share,
    choose_threshold,
    held_out,
    own_number,
)
from bot.core.triage.data import knowledge_controls, load_phrasings
from bot.kb.loader import load_knowledge

DEV = DEFAULT_DEV
REAL = ROOT / "benchmarks" / "data" / "real_questions.jsonl"
REAL_DEV = ROOT / "benchmarks" / "data" / "real_dev.jsonl"
DIALOGUES = ROOT / "benchmarks" / "data" / "dialogues.jsonl"
DEFAULT_EVAL = [
    ROOT / "benchmarks" / "data" / f"triage_{name}.jsonl"
    for name in ("eval", "fresh", "blind", "blind2", "blind3")
]


def kind_of(predicted: TriageResult | str | None) -> UrgentKind | str | None:
    """A triage result's kind; the old rule, which has no kinds, says "any" or None."""
    return predicted.kind if isinstance(predicted, TriageResult) else predicted


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_eval(path: Path) -> list[Sample]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Sample(r["text"], UrgentKind(r["kind"]) if r["kind"] else None) for r in rows]


def report(title: str, samples: Sequence[Sample], results: Sequence[TriageResult | str | None]) -> dict:
    """Per kind: recall, right kind, precision, and "number": the reply gives the kind's own first
    number (110, 119, ...), through the kind or a second kind added to the reply (`also`); "also" is
    the share of urgent replies that add a second kind."""
    predicted = [kind_of(r) for r in results]
    print(f"\n{title}")
    print(f"  {'kind':<10} {'n':>4} {'recall':>7} {'kind ok':>8} {'precision':>10} {'number':>7}")
    figures = {}
    flagged_all = sum(1 for s, p in zip(samples, predicted, strict=True) if s.kind and p)
    positives = sum(1 for s in samples if s.kind)
    kinds_known = any(isinstance(r, TriageResult) for r in results)
    for kind in UrgentKind:
        mine = [(s, p, r) for s, p, r in zip(samples, predicted, results, strict=True) if s.kind is kind]
        if not mine:
            continue
        flagged = sum(1 for _, p, _ in mine if p)
        right = sum(1 for _, p, _ in mine if p == kind)
        claimed = sum(1 for p in predicted if p == kind)
        correct_claims = sum(
            1 for s, p in zip(samples, predicted, strict=True) if p == kind and s.kind is kind
        )
        numbered = sum(1 for _, p, r in mine if p and isinstance(r, TriageResult) and own_number(r, kind))
        precision = f"{correct_claims / claimed:.2f}" if claimed else "—"
        number = f"{numbered / len(mine):.2f}" if kinds_known else "—"
        print(
            f"  {kind.value:<10} {len(mine):>4} {flagged / len(mine):>7.2f} {right / len(mine):>8.2f} "
            f"{precision:>10} {number:>7}"
        )
        figures[kind.value] = flagged / len(mine)
    controls = [p for s, p in zip(samples, predicted, strict=True) if s.kind is None]
    alarms = sum(1 for p in controls if p)
    print(f"  overall recall {flagged_all / positives:.3f} ({flagged_all}/{positives})")
    if kinds_known:
        urgent = [r for r in results if isinstance(r, TriageResult) and r.kind is not None]
        numbered = sum(
            1
            for s, r in zip(samples, results, strict=True)
            if s.kind and isinstance(r, TriageResult) and r.kind and own_number(r, s.kind)
        )
        also = sum(1 for r in urgent if r.also is not None)
        print(
            f"  own number     {numbered / positives:.3f} ({numbered}/{positives}); a second kind added "
            f"to {also / max(1, len(urgent)):.3f} of urgent replies"
        )
    print(f"  false alarms   {alarms / len(controls):.3f} ({alarms}/{len(controls)} controls)")
    figures["recall"] = flagged_all / positives
    figures["false_alarms"] = alarms / len(controls)
    return figures


def old_rule(text: str) -> str | None:
    return "any" if is_urgent(fold(text)) else None


def latency(
    triage: Triage, texts: Sequence[str], rounds: int = 20, clock=time.perf_counter
) -> tuple[float, float]:
    """p50 and p99 in milliseconds. Wall time includes waiting for a busy CPU; thread CPU time does not."""
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = clock()
            triage(text)
            timings.append((clock() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99)]


def recall_at_budgets(samples, results, budgets=(0.01, 0.015, 0.02, 0.025, 0.03)) -> str:
    """Out-of-fold recall when the threshold lets each budget of look-alike controls raise an alarm:
    how well the signals separate, whatever threshold is in use."""
    controls = sorted(
        (
            (r.probability or 0.0)
            for r, s in zip(results, samples, strict=True)
            if s.kind is None and s.look_alike
        ),
        reverse=True,
    )
    urgent = [r.probability or 0.0 for r, s in zip(results, samples, strict=True) if s.kind is not None]
    cells = []
    for budget in budgets:
        threshold = controls[min(int(budget * len(controls)), len(controls) - 1)] if controls else 1.0
        recall = sum(1 for p in urgent if p > threshold) / len(urgent) if urgent else 0.0
        cells.append(f"{budget:.1%} {recall:.3f}")
    return "CV recall at a false-alarm budget of look-alikes: " + ", ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval", type=Path, nargs="*", default=DEFAULT_EVAL)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    # As the app fits it (bot/wiring.py): the shipped phrasings and the knowledge base's own questions
    # as controls.
    phrasings = load_phrasings() + knowledge_controls(load_knowledge(ROOT / "knowledge").all_questions())
    started = time.perf_counter()
    triage = Triage.trained(phrasings)
    fit_seconds = time.perf_counter() - started
    positives = sum(1 for s in phrasings if s.kind)
    print(f"training phrasings: {positives} emergencies, {len(phrasings) - positives} controls")
    print(f"fit (classifier out of fold for the stacker, then on everything): {fit_seconds:.2f} s")
    assert triage._stacker is not None
    print("stacker weights:", ", ".join(f"{k} {v:+.2f}" for k, v in triage._stacker.explain().items()))

    held = held_out(phrasings, folds=args.folds)
    chosen = choose_threshold(phrasings, results=held)
    print(f"threshold in use {triage.threshold}; chosen by {args.folds}-fold CV: {chosen}")
    print(recall_at_budgets(phrasings, held))
    also = choose_also_share(held, triage.threshold)
    print(f"second kind's share in use {triage.also_share}; chosen by {args.folds}-fold CV: {also}")
    cv = [at_threshold(r, triage.threshold, triage.also_share) for r in held]
    report(f"(a) {args.folds}-fold cross-validation, triage", phrasings, cv)
    alike = [n for n, s in enumerate(phrasings) if s.kind is not None or s.look_alike]
    report(
        f"(a) {args.folds}-fold cross-validation, triage, look-alike controls only",
        [phrasings[n] for n in alike],
        [cv[n] for n in alike],
    )
    report(
        "(a) training phrasings, old fixed rule (baseline_urgent.py)",
        phrasings,
        [old_rule(s.text) for s in phrasings],
    )

    texts: list[str] = []
    for path in args.eval:
        evaluation = load_eval(path)
        texts += [s.text for s in evaluation]
        report(f"(b) {path.name}, triage", evaluation, [triage(s.text) for s in evaluation])
        report(f"(b) {path.name}, old fixed rule", evaluation, [old_rule(s.text) for s in evaluation])

    # (c) Residents' ordinary questions, none an emergency: the development set, the two real-wording
    # sets and every turn of the dialogues. A false alarm here puts 110 before a question about papers.
    ordinary = [row["q"] for path in (DEV, REAL, REAL_DEV) for row in _rows(path)]
    ordinary += [turn["text"] for row in _rows(DIALOGUES) for turn in row["turns"]]
    alarms = [t for t in ordinary if triage(t).kind is not None]
    print(
        f"\n(c) ordinary residents' questions: false alarms {len(alarms) / len(ordinary):.3f} "
        f"({len(alarms)}/{len(ordinary)}), old fixed rule "
        f"{sum(1 for t in ordinary if old_rule(t)) / len(ordinary):.3f}"
    )

    print()
    for name, clock in (("wall", time.perf_counter), ("CPU", time.thread_time)):
        p50, p99 = latency(triage, texts, clock=clock)
        print(f"latency per message ({name} time): p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    huge = ["你们这些废物！" * 300 + "救命 有人在砍人", "啊" * 4000]
    p50, p99 = latency(triage, huge, rounds=50, clock=time.thread_time)
    print(f"latency on 2,100-4,000 character messages (CPU time): p50 {p50:.3f} ms, p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
