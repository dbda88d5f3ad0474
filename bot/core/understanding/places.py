"""Noticing a question about another place: 三亚户口迁入条件 asks about Sanya's rules, which the police
room of this city cannot answer, however well the words match its own 户口迁入 entry.

The places (provinces, cities, some foreign ones) are a plain list; the home places are learned from
the knowledge base: those its communities name and those its answers keep mentioning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_SUFFIXES = "市省区县州"
HOME_MENTIONS = 3  # answers of at least this many entries name a place: it is the home city or region


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    text = (Path(__file__).parent / "data" / "places.txt").read_text(encoding="utf-8")
    return frozenset(name for line in text.splitlines() if not line.startswith("#") for name in line.split())


def place_of(term: str) -> str | None:
    """The place a segmented term names (三亚, 三亚市 → 三亚), if any."""
    known = places()
    if term in known:
        return term
    stripped = term.rstrip(_SUFFIXES)
    return stripped if stripped != term and stripped in known else None


def home_places(community_texts: Iterable[str], answers_by_entry: Iterable[Iterable[str]]) -> frozenset[str]:
    """Places the communities name, and places the answers of several entries mention."""
    known = places()
    home = {p for text in community_texts for p in known if p in text}
    mentions: Counter[str] = Counter()
    for answers in answers_by_entry:
        joined = " ".join(answers)
        mentions.update(p for p in known if p in joined)
    home |= {p for p, n in mentions.items() if n >= HOME_MENTIONS}
    return frozenset(home)
