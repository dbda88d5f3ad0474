"""Officers' answers become knowledge: a draft, approved by an admin, is live at once and can be
exported to knowledge/approved/ so that it survives in the files staff edit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import CATEGORIES, SECTIONS, Answer, Draft, DraftStatus, Entry, Role, Staff
from bot.core.ports import Clock, ConflictError, NotFoundError, UnitOfWorkFactory
from bot.services.audit import record
from bot.services.officers import PermissionDenied

MIN_QUESTIONS = 5  # the same rule as for every entry in knowledge/
EXPORT_HEADER = (
    "# 由 policebot kb export 生成：管理员审核通过的民警答复。\n# 可以编辑；再次导出会覆盖本文件。\n"
)


@dataclass(frozen=True, slots=True)
class Approval:
    title: str
    questions: tuple[str, ...]
    answer: str
    community: str | None  # one community; None (and no `communities`): city-wide
    section: str = "为您服务"
    category: str = "社区警务"
    communities: tuple[str, ...] = ()  # several communities, in place of `community`


def draft_entry_id(draft: Draft | int, community: str | None) -> str:
    number = draft if isinstance(draft, int) else draft.id
    return f"{community}.d{number}" if community else f"approved.d{number}"


class DraftService:
    def __init__(
        self, kb: KnowledgeBase, matcher: Matcher, uow_factory: UnitOfWorkFactory, clock: Clock
    ) -> None:
        self._kb = kb
        self._matcher = matcher
        self._uow = uow_factory
        self._clock = clock

    async def list(self, status: DraftStatus | None = DraftStatus.PENDING) -> list[Draft]:
        async with self._uow() as uow:
            return await uow.drafts.list(status)

    async def approve(self, admin: Staff, draft_id: int, approval: Approval) -> Entry:
        """The live entry; approved for several communities, the first of them (approve_all: all)."""
        return (await self.approve_all(admin, draft_id, approval))[0]

    async def approve_all(self, admin: Staff, draft_id: int, approval: Approval) -> tuple[Entry, ...]:
        """Approve with the admin's edits and scope; the entries (one per community chosen, or one
        city-wide) are live when this returns. ConflictError when another admin decided first."""
        _require_admin(admin)
        questions = _checked_questions(approval)
        scope = self._scope(approval)
        entry_ids = _entry_ids(draft_id, scope)
        async with self._uow() as uow:
            draft = await uow.drafts.decide(
                draft_id,
                DraftStatus.APPROVED,
                admin.id,
                self._clock.now(),
                entry_id=entry_ids[0],
                title=approval.title.strip(),
                question="\n".join(questions),
                answer=approval.answer.strip(),
                # One community or city-wide stays encoded in the entry id alone, as before.
                approved_for=scope if scope is not None and len(scope) > 1 else (),
            )
            detail = f"{'、'.join(entry_ids)}（{self._scope_label(scope)}）"
            await record(uow, self._clock, admin, "approve_draft", f"草稿 #{draft_id}", detail)
            await uow.commit()
        entries = _entries(draft, approval)
        await self._go_live(entries)
        return entries

    async def reject(self, admin: Staff, draft_id: int) -> Draft:
        _require_admin(admin)
        async with self._uow() as uow:
            draft = await uow.drafts.decide(draft_id, DraftStatus.REJECTED, admin.id, self._clock.now())
            await record(uow, self._clock, admin, "reject_draft", f"草稿 #{draft_id}")
            await uow.commit()
        return draft

    async def load_approved(self) -> int:
        """At start-up: approved drafts not yet exported to knowledge/ go live again (every community's
        entry of a draft approved for several). The number of entries added."""
        async with self._uow() as uow:
            approved = await uow.drafts.list(DraftStatus.APPROVED, limit=10_000)
        missing = [e for e in self._approved_entries(approved) if e.id not in self._kb.entries]
        if missing:
            await self._go_live(missing)
        return len(missing)

    async def export(self, directory: Path) -> list[Path]:
        """Write approved drafts to knowledge/approved/<city|slug>.yaml (whole files, regenerated): each
        entry in the file of the scope it was approved for."""
        async with self._uow() as uow:
            approved = await uow.drafts.list(DraftStatus.APPROVED, limit=10_000)
        by_file: dict[str | None, list[dict]] = {}
        for built in self._approved_entries(approved):
            entry = self._kb.entries.get(built.id, built)  # the live one keeps the section chosen
            by_file.setdefault(built.community, []).append(_entry_yaml(entry))
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for community, entries in sorted(by_file.items(), key=lambda kv: kv[0] or ""):
            path = directory / f"{community or 'city'}.yaml"
            header = EXPORT_HEADER
            body = yaml.safe_dump(
                {"community": community, "entries": entries}, allow_unicode=True, sort_keys=False, width=100
            )
            path.write_text(header + body, encoding="utf-8")
            written.append(path)
        return written

    def _scope(self, approval: Approval) -> tuple[str, ...] | None:
        """None for city-wide, else the communities' slugs: each known, sorted (what is stored and
        audited does not depend on the order they were ticked in). UnknownCommunityError otherwise."""
        if approval.community is not None and approval.communities:
            raise ValueError("适用范围只能选一种：全市通用、一个社区，或多个社区")
        chosen = approval.communities or (() if approval.community is None else (approval.community,))
        if not chosen:
            return None
        for slug in chosen:
            self._kb.community(slug)
        # A single community chosen "among several" is simply that community: the same entry id and
        # stored form as choosing it alone, so there is one way to record each scope.
        return tuple(sorted(set(chosen)))

    def _scope_label(self, scope: tuple[str, ...] | None) -> str:
        if scope is None:
            return "全市通用"
        return "、".join(self._kb.communities[slug].name for slug in scope)

    def _approved_entries(self, approved: list[Draft]) -> list[Entry]:
        # A community since removed from knowledge/ has no residents to answer, and an exported file
        # naming it would stop the knowledge base from loading: its entries are left out.
        entries = (e for d in approved if d.entry_id for e in _entries(d, None))
        return [e for e in entries if e.community is None or e.community in self._kb.communities]

    async def _go_live(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self._kb.add_entry(entry)
        # Seconds of index building, once for all the entries: off the event loop, so residents keep
        # getting answers meanwhile.
        await asyncio.to_thread(self._matcher.rebuild)


def _require_admin(staff: Staff) -> None:
    if staff.role is not Role.ADMIN or not staff.active:
        raise PermissionDenied("只有管理员可以审核知识草稿")


def _checked_questions(approval: Approval) -> tuple[str, ...]:
    questions = tuple(dict.fromkeys(q.strip() for q in approval.questions if q.strip()))
    if len(questions) < MIN_QUESTIONS:
        raise ValueError(f"请至少写 {MIN_QUESTIONS} 种不同的问法（现在 {len(questions)} 种）")
    if not approval.title.strip() or not approval.answer.strip():
        raise ValueError("标题和答复都不能为空")
    if approval.section not in SECTIONS or approval.category not in CATEGORIES:
        raise ValueError("栏目或分类不在允许的范围内")
    return questions


def _entry_ids(draft_id: int, scope: tuple[str, ...] | None) -> tuple[str, ...]:
    if scope is None:
        return (draft_entry_id(draft_id, None),)
    return tuple(draft_entry_id(draft_id, slug) for slug in scope)


def _placements(draft: Draft) -> list[tuple[str, str | None]]:
    """(entry id, community) of each of an approved draft's entries: one per community it was approved
    for, or the one its entry id names (the scope the admin chose, not the community the question came
    from: a city-wide approval reaches every community)."""
    if draft.status is not DraftStatus.APPROVED or not draft.entry_id:
        raise ConflictError(f"draft {draft.id} is not approved")
    if draft.approved_for:
        return [(draft_entry_id(draft, slug), slug) for slug in draft.approved_for]
    return [(draft.entry_id, _scope_of(draft.entry_id))]


def _entries(draft: Draft, approval: Approval | None) -> tuple[Entry, ...]:
    return tuple(_entry(draft, entry_id, community, approval) for entry_id, community in _placements(draft))


def _entry(draft: Draft, entry_id: str, community: str | None, approval: Approval | None) -> Entry:
    questions = tuple(q for q in draft.question.split("\n") if q.strip())
    return Entry(
        id=entry_id,
        section=approval.section if approval else "为您服务",
        category=approval.category if approval else "社区警务",
        kind="info",
        title=draft.title,
        questions=questions,
        keywords=(draft.title,),
        answer=Answer(summary=draft.answer),
        checked=(draft.decided_at or draft.created_at).date() if draft.decided_at else date.today(),
        source="民警答复，经管理员审核",
        community=community,
    )


def _scope_of(entry_id: str) -> str | None:
    scope, _, _ = entry_id.rpartition(".d")
    return None if scope == "approved" else scope


def _entry_yaml(entry: Entry) -> dict:
    return {
        "id": entry.id,
        "section": entry.section,
        "category": entry.category,
        "kind": entry.kind,
        "title": entry.title,
        "questions": list(entry.questions),
        "keywords": list(entry.keywords),
        "answer": {"summary": entry.answer.summary},
        "checked": entry.checked.isoformat() if entry.checked else None,
        "source": entry.source,
    }


__all__ = ["Approval", "DraftService", "NotFoundError", "draft_entry_id"]
