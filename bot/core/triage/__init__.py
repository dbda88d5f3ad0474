"""Triage: is somebody in danger right now, and of what kind? Decided before anything else is read.

Readable rules (rules.py) OR a small classifier fitted on the shipped phrasings (classifier.py); a
message told as past, "what if", prevention, news or paperwork needs a confident classifier to count.
Pure: no frameworks, no I/O beyond the package's own data. Never raises: on an internal error the
rules alone decide.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.triage.data import Sample, load_phrasings
from bot.core.triage.kinds import CRISIS_LINE, GUIDANCE, UrgentKind, guidance_text, numbers_for
from bot.core.triage.rules import PRIORITY, TRIAGE_CHAR_LIMIT, prepare, rule_hits, said_as_not_now, strongest

if TYPE_CHECKING:
    from bot.core.triage.classifier import TriageClassifier

log = logging.getLogger(__name__)

# P(emergency) above which the classifier alone raises the alarm, chosen by cross-validation over the
# shipped phrasings (benchmarks/triage.py prints the choice). A message told as past, "what if",
# prevention, news or paperwork, with nothing saying "now", is not an emergency whatever it scores.
THRESHOLD = 0.73
# Channels accept up to about 4,000 characters; triage reads that much at most, in two parts.
MESSAGE_CHAR_LIMIT = 4096
OVERLAP = 40
FOLDS = 5


@dataclass(frozen=True, slots=True)
class TriageResult:
    kind: UrgentKind | None
    evidence: str = ""  # "rule crime.weapon", "classifier 0.93", or why it is not urgent
    numbers: tuple[str, ...] = ()
    probability: float | None = None  # the classifier's P(emergency), when it was asked

    @property
    def urgent(self) -> bool:
        return self.kind is not None


NOT_URGENT = TriageResult(None)


class Triage:
    def __init__(self, classifier: TriageClassifier | None = None, threshold: float = THRESHOLD) -> None:
        self._classifier = classifier
        self.threshold = threshold

    @classmethod
    def trained(cls, samples: Sequence[Sample] | None = None, threshold: float = THRESHOLD) -> Triage:
        """Fitted on `samples` (default: the shipped phrasings); rules only if fitting fails."""
        try:
            from bot.core.triage.classifier import TriageClassifier  # numpy and scikit-learn: only here

            samples = samples if samples is not None else load_phrasings()
            classifier = TriageClassifier.fit([prepare(s.text) for s in samples], [s.kind for s in samples])
        except Exception:
            log.exception("triage classifier could not be fitted: rules only")
            classifier = None
        return cls(classifier, threshold)

    def __call__(self, text: str) -> TriageResult:
        try:
            return self._decide(text if isinstance(text, str) else "")
        except Exception:
            log.exception("triage failed: rules only")
        try:
            return self._rules_only(text if isinstance(text, str) else "")
        except Exception:
            log.exception("triage rules failed")
            return NOT_URGENT

    def _decide(self, text: str) -> TriageResult:
        result = self._decide_part(text)
        if result.urgent or len(text) <= TRIAGE_CHAR_LIMIT:
            return result
        # A huge message (abuse, a pasted story) may say it at the end: read the rest too, bounded by
        # the longest message a channel accepts, overlapping so a cry cut at the seam is still read.
        rest = self._decide_part(text[TRIAGE_CHAR_LIMIT - OVERLAP : MESSAGE_CHAR_LIMIT])
        return rest if rest.urgent else result

    def _decide_part(self, text: str) -> TriageResult:
        prepared = prepare(text)
        if not prepared:
            return NOT_URGENT
        hits = rule_hits(prepared)
        not_now = said_as_not_now(prepared)
        prediction = self._classifier.predict(prepared) if self._classifier is not None else None
        p = prediction.p_urgent if prediction else None
        if hits and not not_now:
            hit = strongest(hits)
            assert hit is not None
            kind = hit.kind or (prediction.kind if prediction else UrgentKind.CRIME)
            return _result(kind, f"rule {hit.rule}", p)
        if prediction is not None and p is not None and not not_now and p >= self.threshold:
            hit = strongest(hits)
            kind = hit.kind if hit and hit.kind else prediction.kind
            return _result(kind, f"classifier {p:.2f}", p)
        reason = "told as past, hypothetical or prevention" if hits else ""
        return TriageResult(None, reason, (), p)

    def _rules_only(self, text: str) -> TriageResult:
        for part in (text[:TRIAGE_CHAR_LIMIT], text[TRIAGE_CHAR_LIMIT - OVERLAP : MESSAGE_CHAR_LIMIT]):
            prepared = prepare(part)
            hits = rule_hits(prepared)
            if hits and not said_as_not_now(prepared):
                hit = strongest(hits)
                assert hit is not None
                return _result(hit.kind or UrgentKind.CRIME, f"rule {hit.rule}", None)
        return NOT_URGENT


def _result(kind: UrgentKind, evidence: str, p: float | None) -> TriageResult:
    return TriageResult(kind, evidence, numbers_for(kind), p)


def cross_validated(samples: Sequence[Sample], folds: int = FOLDS, seed: int = 0) -> list[TriageResult]:
    """Each sample triaged by a Triage fitted without its fold (threshold 0: the probability is kept)."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    results: list[TriageResult | None] = [None] * len(samples)
    for fold in range(folds):
        held = set(order[fold::folds])
        triage = Triage.trained([s for i, s in enumerate(samples) if i not in held])
        for i in held:
            results[i] = triage(samples[i].text)
    return [r for r in results if r is not None]


def choose_threshold(
    samples: Sequence[Sample], folds: int = FOLDS, max_false_alarms: float = 0.025, seed: int = 0
) -> float:
    """The lowest classifier threshold whose out-of-fold false-alarm rate on the controls (rules included)
    stays within `max_false_alarms`."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    probabilities: list[tuple[float, bool, bool]] = []  # (p, rules alone say urgent, is an emergency)
    for fold in range(folds):
        held = set(order[fold::folds])
        triage = Triage.trained([s for i, s in enumerate(samples) if i not in held], threshold=2.0)
        for i in held:
            result = triage(samples[i].text)
            probabilities.append((result.probability or 0.0, result.urgent, samples[i].kind is not None))
    controls = sum(1 for _, _, positive in probabilities if not positive)
    for candidate in [t / 100 for t in range(5, 100)]:
        alarms = sum(1 for p, by_rule, pos in probabilities if not pos and (by_rule or p >= candidate))
        if alarms <= max_false_alarms * controls:
            return candidate
    return 0.99


__all__ = [
    "CRISIS_LINE",
    "GUIDANCE",
    "PRIORITY",
    "THRESHOLD",
    "Sample",
    "Triage",
    "TriageResult",
    "UrgentKind",
    "choose_threshold",
    "cross_validated",
    "guidance_text",
    "load_phrasings",
    "numbers_for",
]
