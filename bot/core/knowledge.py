"""The loaded knowledge base: city-wide entries, communities and their overlays.

Overlays never copy the base: a community sees the base entries minus its hidden ones, plus its own
local entries, with its answer overrides applied when an entry is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from bot.core.models import Answer, Community, Entry, Referral

_PLACEHOLDER_RE = re.compile(
    r"\{(community\.name|community\.district|office\.address|office\.hours|"
    r"office\.phone|station\.name|station\.phone|officers)\}"
)

# What a city-wide answer (no community known) says in place of a community's own facts.
_GENERIC = {
    "community.name": "本社区",
    "community.district": "所在城区",
    "office.address": "辖区派出所或社区居委会公布的地址",
    "office.hours": "以警务室公示为准",
    "office.phone": "辖区派出所值班电话",
    "station.name": "辖区派出所",
    "station.phone": "辖区派出所值班电话",
    "officers": "请向辖区派出所或社区居委会查询本社区民警",
}

PLACEHOLDERS: frozenset[str] = frozenset(_GENERIC)


class UnknownCommunityError(LookupError):
    def __init__(self, slug: str, known: Iterable[str]) -> None:
        self.slug = slug
        self.known = sorted(known)
        super().__init__(f"unknown community {slug!r}; known: {', '.join(self.known) or '(none)'}")


def _community_values(community: Community | None) -> Mapping[str, str]:
    if community is None:
        return _GENERIC
    officers = "；".join(
        f"{o.role} {o.name}" + (f"（{o.contact}）" if o.contact else "") for o in community.officers
    )
    values = {
        "community.name": community.name,
        "community.district": community.district,
        "office.address": community.office_address,
        "office.hours": community.office_hours,
        "office.phone": community.office_phone,
        "station.name": community.station_name,
        "station.phone": community.station_phone,
        "officers": officers,
    }
    return {k: v or _GENERIC[k] for k, v in values.items()}


def render_placeholders(text: str, community: Community | None) -> str:
    values = _community_values(community)
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)


def _render_answer(answer: Answer, community: Community | None) -> Answer:
    def r(s: str) -> str:
        return render_placeholders(s, community)

    return Answer(
        summary=r(answer.summary),
        who=r(answer.who),
        materials=tuple(r(s) for s in answer.materials),
        steps=tuple(r(s) for s in answer.steps),
        where=r(answer.where),
        fees=r(answer.fees),
        time_limit=r(answer.time_limit),
        legal_basis=r(answer.legal_basis),
        tips=tuple(r(s) for s in answer.tips),
    )


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    communities: dict[str, Community]
    # (community slug, entry id) → the answer with that community's overrides already merged.
    overrides: dict[tuple[str, str], Answer] = field(default_factory=dict)
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()
    referrals: dict[str, Referral] = field(default_factory=dict)

    def community(self, slug: str) -> Community:
        try:
            return self.communities[slug]
        except KeyError:
            raise UnknownCommunityError(slug, self.communities) from None

    def visible(self, slug: str | None, entry: Entry) -> bool:
        if slug is None:
            return entry.community is None
        if entry.community is not None and entry.community != slug:
            return False
        return entry.id not in self.hidden.get(slug, frozenset())

    def visible_ids(self, slug: str | None) -> frozenset[str]:
        return frozenset(eid for eid, e in self.entries.items() if self.visible(slug, e))

    def entry_for(self, slug: str | None, entry_id: str) -> Entry:
        """The entry as this community's residents see it: overrides applied, placeholders filled."""
        entry = self.entries[entry_id]
        community = self.community(slug) if slug is not None else None
        answer = self.overrides.get((slug, entry_id), entry.answer) if slug else entry.answer
        return replace(
            entry,
            title=render_placeholders(entry.title, community),
            answer=_render_answer(answer, community),
        )

    def entries_for(self, slug: str | None) -> list[Entry]:
        return [self.entry_for(slug, eid) for eid, e in self.entries.items() if self.visible(slug, e)]

    def all_questions(self) -> list[str]:
        """Every question residents are known to ask: the entries' own and not-covered ones, and the
        referral topics' (in the order of the files, for a stable fingerprint)."""
        questions = [q for e in self.entries.values() for q in (*e.questions, *e.not_covered)]
        return questions + [q for r in self.referrals.values() for q in r.questions]

    def add_entry(self, entry: Entry) -> None:
        """Make an approved entry live without a restart (the matcher index must be rebuilt too)."""
        self.entries[entry.id] = entry
