"""Officers' answers become knowledge: a draft, approved by an admin, is live at once and can be
exported to knowledge/approved/ so that it survives in the files staff edit."""

from __future__ import annotations

import asyncio
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
    community: str | None
    section: str = "为您服务"
    category: str = "社区警务"


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
        _require_admin(admin)
        questions = tuple(dict.fromkeys(q.strip() for q in approval.questions if q.strip()))
        if len(questions) < MIN_QUESTIONS:
            raise ValueError(f"请至少写 {MIN_QUESTIONS} 种不同的问法（现在 {len(questions)} 种）")
        if not approval.title.strip() or not approval.answer.strip():
            raise ValueError("标题和答复都不能为空")
        if approval.section not in SECTIONS or approval.category not in CATEGORIES:
            raise ValueError("栏目或分类不在允许的范围内")
        if approval.community is not None:
            self._kb.community(approval.community)
        entry_id = draft_entry_id(draft_id, approval.community)
        async with self._uow() as uow:
            draft = await uow.drafts.decide(
                draft_id,
                DraftStatus.APPROVED,
                admin.id,
                self._clock.now(),
                entry_id=entry_id,
                title=approval.title.strip(),
                question="\n".join(questions),
                answer=approval.answer.strip(),
            )
            scope = "全市通用" if approval.community is None else approval.community
            await record(
                uow, self._clock, admin, "approve_draft", f"草稿 #{draft_id}", f"{entry_id}（{scope}）"
            )
            await uow.commit()
        entry = _entry(draft, approval)
        await self._go_live(entry)
        return entry

    async def reject(self, admin: Staff, draft_id: int) -> Draft:
        _require_admin(admin)
        async with self._uow() as uow:
            draft = await uow.drafts.decide(draft_id, DraftStatus.REJECTED, admin.id, self._clock.now())
            await record(uow, self._clock, admin, "reject_draft", f"草稿 #{draft_id}")
            await uow.commit()
        return draft

    async def load_approved(self) -> int:
        """At start-up: approved drafts not yet exported to knowledge/ go live again."""
        async with self._uow() as uow:
            approved = await uow.drafts.list(DraftStatus.APPROVED, limit=10_000)
        added = 0
        for draft in approved:
            if draft.entry_id and draft.entry_id not in self._kb.entries and _community_ok(self._kb, draft):
                self._kb.add_entry(_entry(draft, None))
                added += 1
        if added:
            await asyncio.to_thread(self._matcher.rebuild)
        return added

    async def export(self, directory: Path) -> list[Path]:
        """Write approved drafts to knowledge/approved/<city|slug>.yaml (whole files, regenerated)."""
        async with self._uow() as uow:
            approved = await uow.drafts.list(DraftStatus.APPROVED, limit=10_000)
        by_file: dict[str | None, list[dict]] = {}
        for draft in approved:
            entry = self._kb.entries.get(draft.entry_id or "") or _entry(draft, None)
            by_file.setdefault(draft.community, []).append(_entry_yaml(entry))
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

    async def _go_live(self, entry: Entry) -> None:
        self._kb.add_entry(entry)
        # Seconds of index building: off the event loop, so residents keep getting answers meanwhile.
        await asyncio.to_thread(self._matcher.rebuild)


def _require_admin(staff: Staff) -> None:
    if staff.role is not Role.ADMIN or not staff.active:
        raise PermissionDenied("只有管理员可以审核知识草稿")


def _community_ok(kb: KnowledgeBase, draft: Draft) -> bool:
    return draft.community is None or draft.community in kb.communities


def _entry(draft: Draft, approval: Approval | None) -> Entry:
    if draft.status is not DraftStatus.APPROVED or not draft.entry_id:
        raise ConflictError(f"draft {draft.id} is not approved")
    questions = tuple(q for q in draft.question.split("\n") if q.strip())
    return Entry(
        id=draft.entry_id,
        section=approval.section if approval else "为您服务",
        category=approval.category if approval else "社区警务",
        kind="info",
        title=draft.title,
        questions=questions,
        keywords=(draft.title,),
        answer=Answer(summary=draft.answer),
        checked=(draft.decided_at or draft.created_at).date() if draft.decided_at else date.today(),
        source="民警答复，经管理员审核",
        # The scope the admin chose, which the entry id records (draft_entry_id), not the community
        # the question came from: a city-wide approval reaches every community.
        community=approval.community if approval else _scope_of(draft.entry_id),
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
