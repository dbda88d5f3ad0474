"""The labelled phrasings shipped with the package: what the classifier learns from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from bot.core.triage.kinds import UrgentKind


@dataclass(frozen=True, slots=True)
class Sample:
    text: str  # as residents type it; prepared before fitting
    kind: UrgentKind | None
    # A control written to look like an emergency (the shipped phrasings): the false-alarm budget that
    # places the threshold is spent on these, not on ordinary questions that would make it look cheap.
    look_alike: bool = True


def load_phrasings() -> list[Sample]:
    """phrasings.jsonl: one JSON object a line, {"text": ..., "kind": "crime" | ... | null}."""
    source = resources.files("bot.core.triage").joinpath("phrasings.jsonl")
    samples = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            samples.append(Sample(row["text"], UrgentKind(row["kind"]) if row["kind"] else None))
    return samples


def knowledge_controls(questions: Iterable[str]) -> list[Sample]:
    """The knowledge base's own questions as ordinary controls: what residents ask about procedures
    ("护照能让我妈帮我去领不", "户口本能叫我老婆去补不") is not an emergency, however close its words come
    to one ("让我…帮我", "叫我…去"). Questions a readable rule calls an emergency ("孩子在商场走丢了找
    不到怎么办") are left out: the knowledge base may describe one, and must not teach that it is not."""
    from bot.core.triage.rules import prepare, rule_hits

    seen: set[str] = set()
    controls: list[Sample] = []
    for question in questions:
        if question in seen or rule_hits(prepare(question)):
            continue
        seen.add(question)
        controls.append(Sample(question, None, look_alike=False))
    return controls
