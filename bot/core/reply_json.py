"""The one JSON shape of a reply, below every channel that speaks JSON."""

from __future__ import annotations

from dataclasses import replace

from bot.core.replies import Reply, render_plain


def reply_json(reply: Reply, timezone: str) -> dict[str, object]:
    """A reply as JSON: `ask --json`, the API and the web chat all give this shape. A message with
    several questions adds `parts`, one object of this shape per question; the top level is the first
    (its `text` holds them all)."""
    data: dict[str, object] = {
        "outcome": reply.outcome.value,
        "entry_id": reply.entry_id,
        "candidates": [c.entry_id for c in reply.choices],
        "score": round(reply.score, 2),
        "urgent": reply.urgent,
        "urgent_kind": reply.urgent_kind.value if reply.urgent_kind else None,
        "urgent_also": reply.also_kind.value if reply.also_kind else None,
        "numbers": list(reply.numbers),
        "confidence": round(reply.confidence, 3),
        "evidence": _evidence_json(reply),
        "reason": reply.reason,
        "community": reply.community.slug,
        "matched": reply.matched,
        "ticket": reply.ticket,
        "due_at": reply.due_at.isoformat() if reply.due_at else None,
        "consultation_id": reply.consultation_id,
        "notice": reply.notice.value if reply.notice else None,
        "field": reply.field,
        "from_context": reply.from_context,
        "suggestion": _suggestion_json(reply),
        "text": render_plain(reply, timezone),
    }
    if reply.parts:
        data["parts"] = [reply_json(replace(part, parts=()), timezone) for part in reply.parts]
    return data


def _suggestion_json(reply: Reply) -> dict[str, object] | None:
    s = reply.suggestion
    return None if s is None else {"entry_id": s.entry_id, "title": s.title, "score": round(s.score, 2)}


def _evidence_json(reply: Reply) -> dict[str, object] | None:
    e = reply.evidence
    if e is None:
        return None
    return {
        "scorer": e.scorer,
        "phrasing": e.phrasing,
        "scores": {name: round(value, 3) for name, value in e.scores},
        "uncovered": list(e.uncovered),
    }
