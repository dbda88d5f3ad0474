"""Triage: is somebody in danger right now, and of what kind? Decided before anything else is read.

Readable rules (rules.py), a small classifier fitted on the shipped phrasings (classifier.py) and cues
of "now" and "not now", weighed together by a logistic regression learned on the classifier's held-out
probabilities (stacking.py): a rule alone does not make "这房价简直是抢劫" an emergency.
Pure: no frameworks, no I/O beyond the package's own data and the ArtifactStore port (where a fit is
kept between runs). Never raises: on an internal error the rules alone decide.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from bot.core.triage.classifier import CLASSIFIER_CHAR_LIMIT
from bot.core.triage.data import Sample, load_phrasings
from bot.core.triage.kinds import CRISIS_LINE, GUIDANCE, UrgentKind, guidance_text, numbers_for
from bot.core.triage.rules import (
    PRIORITY,
    TRIAGE_CHAR_LIMIT,
    RuleHit,
    bare_alarm,
    prepare,
    prepare_both,
    rule_hits,
    said_as_not_now,
    strongest,
)
from bot.core.triage.stacking import Stacker, signals

if TYPE_CHECKING:
    from bot.core.ports import ArtifactStore
    from bot.core.triage.classifier import TriageClassifier

log = logging.getLogger(__name__)

# P(emergency) from the stacker (rules, "now"/"not now" cues and the classifier together) above which
# the alarm is raised, chosen by cross-validation over the shipped phrasings and the shipped knowledge
# base's questions (as bot/wiring fits it) within MAX_FALSE_ALARMS of the look-alike controls
# (benchmarks/triage.py prints the choice; a test keeps the two within 0.02). With the releases in
# constraints.txt.
THRESHOLD = 0.38
# Channels accept up to about 4,000 characters; triage reads that much at most, in two parts.
MESSAGE_CHAR_LIMIT = 4096
OVERLAP = 40
# Around a rule's match in a long message: the length of a long phrasing, mostly what follows it.
FOCUS_BEFORE, FOCUS_AFTER = 30, 90
_SENTENCE_ENDS = ("!", "?", "。", "！", "？", "\n")
FOLDS = 5
# False alarms on look-alike controls the threshold may cost, out of fold: the 3 % allowed. A missed
# emergency is the worst failure there is, and wording never seen has raised fewer false alarms than
# held-out phrasings (2.4 % on the five evaluation sets where cross-validation gives 2.9 %).
MAX_FALSE_ALARMS = 0.03
# A second kind joins the reply (its numbers and one line) when the classifier gives it at least this share
# of the first kind's probability: "车撞了还起火了" needs 122 and 119. Chosen by cross-validation
# (choose_also_share): the share that gives the most emergencies their own number, within MAX_ALSO of
# urgent replies carrying a second kind (benchmarks/triage.py prints the choice).
ALSO_SHARE = 0.13
MAX_ALSO = 0.10
# Bump when the classifier, the signals or the stacker change: cached fits of older code are not used.
MODEL_VERSION = "triage-7"
KEEP_CACHED = 2
STACK_FOLDS = 4  # folds of the classifier whose held-out probabilities the stacker learns from
SEED = 0
# Fits by phrasings key, for this process: both models are read-only once fitted.
_memo: dict[str, tuple[TriageClassifier, Stacker]] = {}


@dataclass(frozen=True, slots=True)
class TriageResult:
    kind: UrgentKind | None
    evidence: str = ""  # "p 0.93, rule crime.weapon" (the stacker's P and the strongest rule), "rule ..."
    numbers: tuple[str, ...] = ()  # the kind's numbers, then those of `also` it lacks
    probability: float | None = None  # the classifier's P(emergency), when it was asked
    also: UrgentKind | None = None  # a second kind the message reads almost as much as (car on fire)
    runner_up: UrgentKind | None = None  # the classifier's next likeliest kind, and how close it came
    runner_share: float = 0.0

    @property
    def urgent(self) -> bool:
        return self.kind is not None


NOT_URGENT = TriageResult(None)


class Triage:
    def __init__(
        self,
        classifier: TriageClassifier | None = None,
        stacker: Stacker | None = None,
        threshold: float = THRESHOLD,
        also_share: float = ALSO_SHARE,
    ) -> None:
        """Without a classifier and its stacker, the readable rules decide alone."""
        self._classifier = classifier if stacker is not None else None
        self._stacker = stacker
        self.threshold = threshold
        self.also_share = also_share

    @classmethod
    def trained(
        cls,
        samples: Sequence[Sample] | None = None,
        threshold: float = THRESHOLD,
        artifacts: ArtifactStore | None = None,
    ) -> Triage:
        """Fitted on `samples` (default: the shipped phrasings); rules only if fitting fails.

        The stacker learns from the classifier's out-of-fold probabilities (what it says of wording it
        never saw), then the classifier is fitted on everything. With `artifacts`, the fitted models
        are kept there under a hash of the phrasings and the model version, and loaded next time.
        """
        samples = samples if samples is not None else load_phrasings()
        key = _key(samples)
        name = f"triage-{key}.pkl"
        cached = _memo.get(key) or (_load(artifacts, name) if artifacts is not None else None)
        if cached is not None:
            _memo[key] = cached
            return cls(*cached, threshold=threshold)
        try:
            from bot.core.triage.classifier import TriageClassifier  # numpy and scikit-learn: only here

            prepared = [prepare(s.text) for s in samples]
            kinds = [s.kind for s in samples]
            unseen = _out_of_fold(prepared, kinds)
            rows = np.vstack([signals(t, rule_hits(t), p) for t, p in zip(prepared, unseen, strict=True)])
            # The stacker weighs the signals where they disagree: on emergencies and look-alikes. Ordinary
            # questions (the knowledge base's own) teach the classifier's words, not the stacker's balance.
            alike = np.array([s.kind is not None or s.look_alike for s in samples])
            urgent = np.array([k is not None for k in kinds])
            stacker = Stacker.fit(rows[alike], list(urgent[alike]))
            classifier = TriageClassifier.fit(prepared, kinds)
        except Exception:
            log.exception("triage classifier could not be fitted: rules only")
            return cls(None, None, threshold)
        _memo[key] = (classifier, stacker)
        if artifacts is not None:
            try:
                artifacts.save(name, pickle.dumps((classifier, stacker)))
                artifacts.prune("triage-", KEEP_CACHED)
            except Exception:  # an unwritable cache costs the next start a few seconds, nothing more
                log.warning("could not keep the fitted triage", exc_info=True)
        return cls(classifier, stacker, threshold)

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
        if self._classifier is None or self._stacker is None:
            return self._rules_only(text)
        first, *rest = _parts(text)
        result = self._decide_part(first)
        if result.urgent or not rest:
            return result
        later = self._decide_part(rest[0])
        return later if later.urgent else result

    def _decide_part(self, text: str) -> TriageResult:
        assert self._classifier is not None and self._stacker is not None
        prepared, folded = prepare_both(text)
        if not prepared:
            return NOT_URGENT
        if (bare := bare_alarm(text, folded)) is not None:
            return _result(bare, "a bare cry or alarm", 1.0)
        hits = rule_hits(prepared)
        focus = _focus(prepared, hits)
        if focus is not prepared:
            hits = rule_hits(focus)
        prediction = self._classifier.predict(focus)
        p = self._stacker.probability(signals(focus, hits, prediction.p_urgent))
        if hits and len(focus) > FOCUS_BEFORE + FOCUS_AFTER:
            # A cry among many other words ("废物!" twenty times, then "救命 有人在砍人"): the sentence
            # the rule fired in is judged on its own too, for whether (missing an emergency costs more
            # than a false alarm on a long rant) and for what: the rant's words must not name the kind.
            near = _focus(focus, hits, always=True)
            near_hits = rule_hits(near)
            near_prediction = self._classifier.predict(near)
            near_p = self._stacker.probability(signals(near, near_hits, near_prediction.p_urgent))
            if near_p > p:
                p, prediction, hits = near_p, near_prediction, near_hits
        runner = (prediction.runner_up, prediction.runner_share)
        if p < self.threshold:
            return TriageResult(None, "", (), p, None, *runner)
        # The kind is the classifier's: on held-out phrasings it names the right kind more often (0.952)
        # than the strongest rule does (0.945), and it weighs the whole message.
        hit = strongest(hits)
        evidence = f"p {p:.2f}" + (f", rule {hit.rule}" if hit is not None else "")
        return with_also(TriageResult(prediction.kind, evidence, (), p, None, *runner), self.also_share)

    def _rules_only(self, text: str) -> TriageResult:
        for part in _parts(text):
            prepared, folded = prepare_both(part)
            if (bare := bare_alarm(part, folded)) is not None:
                return _result(bare, "a bare cry or alarm", None)
            hits = rule_hits(prepared)
            if hits and not said_as_not_now(prepared):
                hit = strongest(hits)
                assert hit is not None
                return _result(hit.kind or UrgentKind.CRIME, f"rule {hit.rule}", None)
        return NOT_URGENT


def _parts(text: str) -> tuple[str, ...]:
    """What triage reads: the beginning, and of a huge message (abuse, a pasted story may say it at the
    end) the rest too, bounded by the longest message a channel accepts, overlapping so a cry cut at
    the seam is still read."""
    if len(text) <= TRIAGE_CHAR_LIMIT:
        return (text,)
    return (text[:TRIAGE_CHAR_LIMIT], text[TRIAGE_CHAR_LIMIT - OVERLAP : MESSAGE_CHAR_LIMIT])


def _focus(prepared: str, hits: Sequence[RuleHit], *, always: bool = False) -> str:
    """The part of a long message the classifier and the cues judge: around where the strongest rule
    fired (a cry for help after a page of abuse), else the beginning. Short messages: all of it, unless
    `always` asks for the rule's own surroundings anyway."""
    if len(prepared) <= CLASSIFIER_CHAR_LIMIT and not always:
        return prepared
    hit = strongest(list(hits))
    if hit is None:
        return prepared[:CLASSIFIER_CHAR_LIMIT]
    start = max(0, hit.at - FOCUS_BEFORE)
    # From the start of the sentence the rule fired in, when that is nearer: what went before a
    # "!" or "。" is another sentence (a page of abuse), not the cry's own context.
    ends = [prepared.rfind(mark, start, hit.at) for mark in _SENTENCE_ENDS]
    start = max([start, *(e + 1 for e in ends if e >= 0)])
    return prepared[start : start + FOCUS_BEFORE + FOCUS_AFTER]


def _key(samples: Sequence[Sample]) -> str:
    content = json.dumps(
        [MODEL_VERSION, [(s.text, s.kind, s.look_alike) for s in samples]], ensure_ascii=False
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:24]


def _load(artifacts: ArtifactStore, name: str) -> tuple[TriageClassifier, Stacker] | None:
    try:
        data = artifacts.load(name)
        return pickle.loads(data) if data is not None else None
    except Exception:  # damaged or from other code: fit again
        log.warning("ignoring unreadable triage cache %s", name, exc_info=True)
        return None


def _out_of_fold(
    prepared: Sequence[str], kinds: Sequence[UrgentKind | None], folds: int = STACK_FOLDS
) -> list[float]:
    """Each phrasing's P(emergency) from a classifier fitted without its fold."""
    from bot.core.triage.classifier import TriageClassifier

    order = list(range(len(prepared)))
    random.Random(SEED).shuffle(order)
    out = [0.0] * len(prepared)
    for fold in range(folds):
        held = set(order[fold::folds])
        keep = [i for i in range(len(prepared)) if i not in held]
        classifier = TriageClassifier.fit([prepared[i] for i in keep], [kinds[i] for i in keep])
        for i in held:
            out[i] = classifier.predict(prepared[i]).p_urgent
    return out


def _result(kind: UrgentKind, evidence: str, p: float | None) -> TriageResult:
    return TriageResult(kind, evidence, numbers_for(kind), p)


def with_also(result: TriageResult, also_share: float = ALSO_SHARE) -> TriageResult:
    """The result's numbers, with the runner-up kind's added when it came within `also_share`."""
    if result.kind is None:
        return replace(result, evidence="", numbers=(), also=None)
    also = result.runner_up if result.runner_up is not None and result.runner_share >= also_share else None
    numbers = numbers_for(result.kind)
    if also is not None:
        numbers += tuple(n for n in numbers_for(also) if n not in numbers)
    return replace(result, numbers=numbers, also=also)


def held_out(samples: Sequence[Sample], folds: int = FOLDS, seed: int = 0) -> list[TriageResult]:
    """Each sample triaged by a Triage fitted without its fold, at threshold 0: every result carries
    its P(emergency) and the kind it would be given. The folds are fitted side by side, one process
    per core (each fit takes half a minute and holds one core)."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    parts = [order[fold::folds] for fold in range(folds)]
    results: list[TriageResult | None] = [None] * len(samples)
    workers = min(folds, os.cpu_count() or 1)
    if workers > 1:
        # Spawned, not forked: the caller may hold threads (a database driver's, an event loop's).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            fitted = list(pool.map(_triaged_without, [list(samples)] * folds, parts))
    else:
        fitted = [_triaged_without(samples, held) for held in parts]
    for held, fold_results in zip(parts, fitted, strict=True):
        for i, result in zip(held, fold_results, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def _triaged_without(samples: Sequence[Sample], held: list[int]) -> list[TriageResult]:
    """The `held` samples triaged by a Triage fitted on the others (one fold of held_out)."""
    out = set(held)
    triage = Triage.trained([s for i, s in enumerate(samples) if i not in out], threshold=0.0)
    return [triage(samples[i].text) for i in held]


def at_threshold(
    result: TriageResult, threshold: float = THRESHOLD, also_share: float = ALSO_SHARE
) -> TriageResult:
    """A held-out result (threshold 0) as a Triage at `threshold` and `also_share` would have given it."""
    if result.probability is None:
        return result
    kind = result.kind if result.probability >= threshold else None
    return with_also(replace(result, kind=kind), also_share)


def own_number(result: TriageResult, kind: UrgentKind) -> bool:
    """Whether a reply to an emergency of `kind` gives that kind's first number."""
    return numbers_for(kind)[0] in result.numbers


def choose_also_share(
    results: Sequence[TriageResult],
    threshold: float = THRESHOLD,
    max_also: float = MAX_ALSO,
) -> float:
    """The lowest share at which a second kind joins the reply whose out-of-fold rate of urgent
    replies with a second kind stays within `max_also`: as many emergencies given their own number as
    that budget allows, without every reply becoming a list of every number."""
    urgent = [r for r in results if r.probability is not None and r.probability >= threshold]
    for candidate in [t / 100 for t in range(5, 101)]:
        extra = sum(1 for r in urgent if r.runner_up is not None and r.runner_share >= candidate)
        if extra <= max_also * len(urgent):
            return candidate
    return 1.0


def choose_threshold(
    samples: Sequence[Sample],
    folds: int = FOLDS,
    max_false_alarms: float = MAX_FALSE_ALARMS,
    seed: int = 0,
    results: Sequence[TriageResult] | None = None,
) -> float:
    """The lowest threshold whose out-of-fold false-alarm rate on the look-alike controls stays within
    `max_false_alarms`: as many emergencies caught as that budget allows."""
    results = results if results is not None else held_out(samples, folds, seed)
    controls = [
        r.probability or 0.0 for r, s in zip(results, samples, strict=True) if s.kind is None and s.look_alike
    ]
    for candidate in [t / 100 for t in range(5, 100)]:
        if sum(1 for p in controls if p >= candidate) <= max_false_alarms * len(controls):
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
    "at_threshold",
    "choose_also_share",
    "choose_threshold",
    "guidance_text",
    "held_out",
    "load_phrasings",
    "numbers_for",
    "own_number",
    "with_also",
]
