"""The labelled phrasings shipped with the package: what the classifier learns from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from bot.core.triage.kinds import UrgentKind


@dataclass(frozen=True, slots=True)
class Sample:
    text: str  # as residents type it; prepared before fitting
    kind: UrgentKind | None


def load_phrasings() -> list[Sample]:
    """phrasings.jsonl: one JSON object a line, {"text": ..., "kind": "crime" | ... | null}."""
    source = resources.files("bot.core.triage").joinpath("phrasings.jsonl")
    samples = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            samples.append(Sample(row["text"], UrgentKind(row["kind"]) if row["kind"] else None))
    return samples
