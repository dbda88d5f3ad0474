"""The guide pointed to beside a ticket: the entry an escalated question is likelier than not about.

The matcher escalates what it is not sure enough to answer or to offer as "did you mean". When its
calibrated probability still finds one entry likelier right than wrong, the resident is shown that
entry's guide while the officers take the question: a pointer, never an answer.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Candidate, MatchResult, Outcome
from bot.core.replies import Choice

# Likelier right than wrong: the matcher's calibrated probability (0-100) of an entry.
LIKELIER_THAN_NOT = 50.0
SUGGESTION_MIN_SCORE = LIKELIER_THAN_NOT  # of its top entry, for a guide beside the ticket


def suggestion_of(result: MatchResult, visible: Collection[str]) -> Candidate | None:
    """The entry an escalated question is likelier than not about, when the matcher found no entry
    sure enough to answer. Not for another body's matter, another place's rules or a question the
    matcher could not read: there the likeliest entry is not the question's."""
    if (
        result.outcome is not Outcome.ESCALATE
        or result.reason != "no confident match"
        or not result.candidates
    ):
        return None
    top = result.candidates[0]
    return top if top.score >= SUGGESTION_MIN_SCORE and top.entry_id in visible else None


def guide_for(kb: KnowledgeBase, community: str, result: MatchResult) -> Choice | None:
    """The guide to point to beside the ticket, as the community sees it, if any."""
    top = suggestion_of(result, kb.visible_ids(community))
    return (
        None if top is None else Choice(top.entry_id, kb.entry_for(community, top.entry_id).title, top.score)
    )
