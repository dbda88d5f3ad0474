"""The documents the scorers index: police entries and referral topics, each with its phrasings.

A corpus can leave phrasings or whole documents out, which is how cross-validation asks "how would we
have done on wording (or a topic) we never saw".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from bot.core.knowledge import KnowledgeBase
from bot.core.understanding.places import home_places


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    referral: bool
    title: str
    keywords: tuple[str, ...]
    questions: tuple[str, ...]
    answer_text: tuple[str, ...] = ()
    not_covered: tuple[str, ...] = ()
    community: str | None = None  # a community's own entry
    local_rules: bool = False  # an entry stating this city's own rules (schema: rules)

    def phrasings(self) -> list[tuple[str, str]]:
        """(text, field) for everything residents might ask with: title, keywords, questions."""
        return [
            (self.title, "title"),
            *((k, "keyword") for k in self.keywords),
            *((q, "question") for q in self.questions),
        ]


@dataclass(frozen=True)
class Corpus:
    docs: tuple[Doc, ...]
    home: frozenset[str] = frozenset()  # the places this knowledge base serves (places.home_places)
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {d.id: i for i, d in enumerate(self.docs)})

    @classmethod
    def from_kb(cls, kb: KnowledgeBase) -> Corpus:
        docs: list[Doc] = []
        for entry in kb.entries.values():
            a = entry.answer
            answer_text = (a.summary, a.who, *a.materials, *a.steps, a.where, a.fees, a.time_limit, *a.tips)
            docs.append(
                Doc(
                    entry.id,
                    False,
                    entry.title,
                    entry.keywords,
                    entry.questions,
                    tuple(t for t in answer_text if t),
                    entry.not_covered,
                    entry.community,
                    entry.local_rules,
                )
            )
        for referral in kb.referrals.values():
            docs.append(Doc(referral.id, True, referral.title, referral.keywords, referral.questions))
        community_texts = [
            " ".join((c.name, c.district, c.office_address, c.station_name)) for c in kb.communities.values()
        ]
        # Places an entry is about (往来台湾通行证) are part of what this knowledge base answers too.
        community_texts += [" ".join((d.title, *d.keywords)) for d in docs if not d.referral]
        home = home_places(community_texts, [d.answer_text for d in docs if not d.referral])
        return cls(tuple(docs), home)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.docs]

    @property
    def referral_mask(self) -> np.ndarray:
        """Per document: another body's matter (a referral topic), not a police entry."""
        return np.array([d.referral for d in self.docs], dtype=bool)

    def without(
        self,
        held_out: Iterable[tuple[str, str]] = (),
        removed: Iterable[str] = (),
        held_not_covered: Iterable[tuple[str, str]] = (),
    ) -> Corpus:
        """This corpus less some (doc id, question) pairs, some (doc id, not-covered question) pairs and
        some whole documents."""
        gone = set(removed)
        held: dict[str, set[str]] = {}
        for doc_id, question in held_out:
            held.setdefault(doc_id, set()).add(question)
        held_nc: dict[str, set[str]] = {}
        for doc_id, question in held_not_covered:
            held_nc.setdefault(doc_id, set()).add(question)
        docs = []
        for d in self.docs:
            if d.id in gone:
                continue
            drop, drop_nc = held.get(d.id, set()), held_nc.get(d.id, set())
            if drop or drop_nc:
                d = replace(
                    d,
                    questions=tuple(q for q in d.questions if q not in drop),
                    not_covered=tuple(q for q in d.not_covered if q not in drop_nc),
                )
            docs.append(d)
        return Corpus(tuple(docs), self.home)
