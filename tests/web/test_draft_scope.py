"""The draft approval form's scope: 全市通用, 本社区, or 多个社区 ticked by name, checked on the server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.core.models import Channel, DraftStatus, ResidentRef
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.services.test_drafts_scope import three_community_kb
from tests.web.conftest import csrf_of, login
from tests.web.test_admin import make_draft

RESIDENT = ResidentRef(Channel.WEB, "resident-token-000000000003")
FORM = [
    ("title", "路灯坏了找谁修"),
    ("questions", "路灯坏了找谁\n路灯不亮了怎么办\n小区路灯坏了\n楼下路灯不亮\n路灯报修电话"),
    ("answer", "路灯归街道办管，请拨打 12345 反映。"),
    ("section", "为您服务"),
    ("category", "社区警务"),
]


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
        knowledge_dir=three_community_kb(tmp_path),
        data_dir=tmp_path / "data",
    )
    container = await build_container(settings)
    yield container
    await container.close()


@pytest.fixture
async def admin(client: TestClient, people) -> TestClient:
    await people.admin()
    await login(client, "admin")
    return client


async def approve(client: TestClient, draft_id: int, *fields: tuple[str, str]):
    """Post the approval form with these scope fields (a list: `communities` may repeat)."""
    token = await csrf_of(client, "/admin/drafts")
    data = [("csrf", token), *FORM, *fields]
    return await client.post(f"/admin/drafts/{draft_id}/approve", data=data, allow_redirects=False)


def live_for(container: Container, draft_id: int) -> set[str]:
    return {eid for eid in container.kb.entries if eid.endswith(f".d{draft_id}")}


async def test_the_form_offers_every_community_by_name_and_preselects_nothing(
    container: Container, admin: TestClient
) -> None:
    await make_draft(container)
    page = await (await admin.get("/admin/drafts")).text()
    ticks = re.findall(
        r'<input type="checkbox" name="communities" value="([a-z0-9-]+)"> ([^<]+)</label>', page
    )
    assert sorted(ticks) == [
        ("dongguan", "城中区 东关社区"),
        ("gongyuan", "城中区 公园社区"),
        ("hexi", "柳南区 河西社区"),
    ]
    assert 'name="scope" value="city"' in page and 'name="scope" value="several"' in page
    assert "本社区：只用于公园社区（提问的社区）" in page
    assert " checked" not in page


async def test_several_communities_ticked_are_approved_for_exactly_those(
    container: Container, admin: TestClient
) -> None:
    draft_id = await make_draft(container)
    response = await approve(
        admin, draft_id, ("scope", "several"), ("communities", "hexi"), ("communities", "dongguan")
    )
    assert response.status == 303
    page = await (await admin.get(response.headers["Location"])).text()
    assert f"dongguan.d{draft_id}、hexi.d{draft_id}" in page and "没有待审核的草稿" in page
    assert live_for(container, draft_id) == {f"dongguan.d{draft_id}", f"hexi.d{draft_id}"}
    for community in ("hexi", "dongguan"):
        reply = await container.ask.ask(community, RESIDENT, "楼下路灯不亮", Channel.WEB)
        assert reply.entry_id == f"{community}.d{draft_id}"
    reply = await container.ask.ask("gongyuan", RESIDENT, "楼下路灯不亮", Channel.WEB)
    assert reply.entry_id not in live_for(container, draft_id)  # asked there, but not approved for it


async def test_several_with_none_ticked_is_refused_and_the_form_kept(
    container: Container, admin: TestClient
) -> None:
    draft_id = await make_draft(container)
    response = await approve(admin, draft_id, ("scope", "several"))
    assert response.status == 400
    page = await response.text()
    assert "选择了“多个社区”，请勾选适用的社区。" in page
    assert 'value="several" checked' in page and "路灯报修电话" in page  # the admin's choice and edits
    assert [d.status for d in await container.drafts.list()] == [DraftStatus.PENDING]
    assert live_for(container, draft_id) == set()


async def test_ticks_under_another_scope_are_refused(container: Container, admin: TestClient) -> None:
    draft_id = await make_draft(container)
    response = await approve(admin, draft_id, ("scope", "city"), ("communities", "hexi"))
    assert response.status == 400
    page = await response.text()
    assert "勾选的社区只在选择“多个社区”时有效" in page
    assert re.search(r'value="city"[^>]* checked>', page) and 'value="hexi" checked' in page
    assert live_for(container, draft_id) == set()


async def test_an_unknown_community_is_refused(container: Container, admin: TestClient) -> None:
    draft_id = await make_draft(container)
    response = await approve(
        admin, draft_id, ("scope", "several"), ("communities", "hexi"), ("communities", "atlantis")
    )
    assert response.status == 400
    page = await response.text()
    assert "没有这个社区（atlantis）" in page and 'value="hexi" checked' in page
    response = await approve(admin, draft_id, ("scope", "atlantis"))
    assert response.status == 400 and "没有这个社区（atlantis）" in await response.text()
    assert [d.status for d in await container.drafts.list()] == [DraftStatus.PENDING]
    assert live_for(container, draft_id) == set()


async def test_the_scope_form_needs_the_csrf_token(container: Container, admin: TestClient) -> None:
    draft_id = await make_draft(container)
    data = [
        ("csrf", "forged"),
        *FORM,
        ("scope", "several"),
        ("communities", "hexi"),
        ("communities", "dongguan"),
    ]
    response = await admin.post(f"/admin/drafts/{draft_id}/approve", data=data, allow_redirects=False)
    assert response.status == 403
    assert live_for(container, draft_id) == set()
