"""Accounts, knowledge drafts going live, and the admin figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.models import Channel, DraftStatus, Outcome, ResidentRef, Role, Satisfaction
from bot.kb.loader import load_knowledge
from bot.services.drafts import Approval
from bot.services.officers import PermissionDenied
from bot.services.reports import annual_paragraph, year_query
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB

RESIDENT = ResidentRef(Channel.WEB, "token-abc")
QUESTIONS = (
    "小区狗叫扰民怎么办",
    "邻居家狗天天叫",
    "狗半夜叫个不停找谁",
    "养狗扰民能处罚吗",
    "狗叫吵得睡不着",
)


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    import shutil

    kb_dir = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb_dir)
    settings = Settings(database_url=database_url, knowledge_dir=kb_dir, data_dir=tmp_path / "data")
    container = await build_container(settings)
    yield container
    await container.close()


async def test_passwords_are_argon2_and_checked(container: Container) -> None:
    staff = await container.staff.add(
        "李警官", Role.OFFICER, ["gongyuan"], username="li", password="correct horse"
    )
    assert await container.staff.authenticate("li", "correct horse") == staff
    assert await container.staff.authenticate("li", "wrong password") is None
    assert await container.staff.authenticate("nobody", "correct horse") is None
    async with container.uow_factory() as uow:
        _, stored = await uow.staff.credentials("li")
    assert stored.startswith("$argon2id$")


async def test_account_rules(container: Container) -> None:
    with pytest.raises(ValueError):
        await container.staff.add("无社区", Role.OFFICER, [])
    with pytest.raises(ValueError):
        await container.staff.add("短密码", Role.OFFICER, ["gongyuan"], username="x", password="short")
    from bot.core.knowledge import UnknownCommunityError

    with pytest.raises(UnknownCommunityError):
        await container.staff.add("错社区", Role.OFFICER, ["atlantis"])
    staff = await container.staff.add("王警官", Role.OFFICER, ["hexi"], telegram_user_id=7)
    await container.staff.remove(staff.id)
    assert await container.officers.staff_by_telegram(7) is None


async def test_an_approved_draft_is_live_at_once_and_exported(container: Container, tmp_path: Path) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    admin = await container.staff.add("管理员", Role.ADMIN, telegram_user_id=12)
    reply = await container.ask.ask("gongyuan", RESIDENT, "邻居家的狗天天叫扰民怎么办", Channel.WEB)
    escalation_id = int(reply.ticket.removeprefix("WJ"))
    await container.officers.answer(officer, escalation_id, "可先请物业劝阻；仍扰民的可报警。")
    draft = await container.officers.save_draft(officer, escalation_id)
    assert draft.status is DraftStatus.PENDING and draft.community == "gongyuan"

    with pytest.raises(PermissionDenied):
        await container.drafts.approve(officer, draft.id, Approval("狗叫扰民", QUESTIONS, "答复", "gongyuan"))
    with pytest.raises(ValueError):
        too_few = Approval("狗叫扰民", QUESTIONS[:2], "答复", "gongyuan")
        await container.drafts.approve(admin, draft.id, too_few)
    entry = await container.drafts.approve(
        admin, draft.id, Approval("狗叫扰民怎么办", QUESTIONS, "可先请物业劝阻；仍扰民的可报警。", "gongyuan")
    )
    live = await container.ask.ask("gongyuan", RESIDENT, "邻居家狗天天叫", Channel.WEB)
    assert live.outcome is Outcome.ANSWER and live.entry_id == entry.id
    elsewhere = await container.ask.ask("hexi", RESIDENT, "邻居家狗天天叫", Channel.WEB)
    assert elsewhere.entry_id != entry.id  # a community draft stays in its community

    written = await container.drafts.export(container.settings.knowledge_dir / "approved")
    assert [p.name for p in written] == ["gongyuan.yaml"]
    reloaded = load_knowledge(container.settings.knowledge_dir)  # the exported file passes validation
    assert reloaded.entries[entry.id].community == "gongyuan"


async def test_approved_drafts_survive_a_restart(container: Container) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    admin = await container.staff.add("管理员", Role.ADMIN, telegram_user_id=12)
    reply = await container.ask.ask("gongyuan", RESIDENT, "小区狗叫扰民", Channel.WEB)
    escalation_id = int(reply.ticket.removeprefix("WJ"))
    await container.officers.answer(officer, escalation_id, "可报警处理。")
    draft = await container.officers.save_draft(officer, escalation_id, city_wide=True)
    city_wide = Approval("狗叫扰民", QUESTIONS, "可报警处理。", None)
    entry = await container.drafts.approve(admin, draft.id, city_wide)
    again = await build_container(container.settings)
    try:
        assert entry.id in again.kb.entries
        assert (await again.ask.ask("hexi", RESIDENT, "邻居家狗天天叫", Channel.WEB)).entry_id == entry.id
    finally:
        await again.close()


async def test_report_figures_and_annual_paragraph(container: Container) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    await container.ask.ask("gongyuan", RESIDENT, "身份证丢了怎么补办", Channel.WEB)
    await container.ask.view_entry("gongyuan", RESIDENT, "idcard.renew", Channel.WEB)
    reply = await container.ask.ask("gongyuan", RESIDENT, "路灯坏了好几天没人修", Channel.WEB)
    await container.ask.ask("hexi", RESIDENT, "路灯坏了好几天没人修", Channel.WEB)
    escalation_id = int(reply.ticket.removeprefix("WJ"))
    await container.officers.answer(officer, escalation_id, "已转市政维修。")
    await container.feedback.rate_officer_answer(escalation_id, Satisfaction.SATISFIED)

    year = container.clock.now().astimezone().year
    report = await container.reports.report(year_query(year, "Asia/Shanghai"))
    assert report.snapshot.total == 4
    assert report.answer_rate == 0.5
    assert report.satisfaction_rate == 1.0
    assert report.response.answered == 1 and report.response.within_due == 1
    assert report.unanswered[0].text == "路灯坏了好几天没人修" and report.unanswered[0].count == 2
    text = annual_paragraph(year, report, communities=len(container.kb.communities))
    assert text.startswith(f"{year}年，全市2个社区网上警务室共为群众答疑解惑3次")
    assert "转社区民警办理2次" in text and "浏览办事指南1次" in text and "办结率50.0%" in text
    assert "满意率（含基本满意）100.0%" in text


async def test_officers_with_a_telegram_id_in_the_community_file_join_the_allowlist(
    database_url: str, tmp_path: Path
) -> None:
    import shutil

    import yaml

    kb_dir = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb_dir)
    path = kb_dir / "communities" / "hexi.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["officers"][0]["telegram_id"] = 4242
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = Settings(database_url=database_url, knowledge_dir=kb_dir, data_dir=tmp_path / "data")
    first = await build_container(settings)
    try:
        officer = await first.officers.staff_by_telegram(4242)
        assert officer is not None and officer.communities == ("hexi",) and officer.name == "王警官"
    finally:
        await first.close()
    again = await build_container(settings)  # a restart adds nobody twice
    try:
        assert [s.telegram_user_id for s in await again.staff.list()] == [4242]
    finally:
        await again.close()
