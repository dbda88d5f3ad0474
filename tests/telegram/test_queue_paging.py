"""/queue in the officers' group: the console's order, ten tickets a page, paging that edits in place."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.channels.telegram.callbacks import MAX_CALLBACK_BYTES
from bot.channels.telegram.markup import MESSAGE_LIMIT, utf16_len
from bot.channels.web.console import PAGE_SIZE as CONSOLE_PAGE_SIZE
from bot.channels.web.console import STATUS_FILTERS
from bot.core.models import (
    Channel,
    CloseReason,
    EscalationSearch,
    NewConsultation,
    NewEscalation,
    Outcome,
    ResidentRef,
    Role,
    Staff,
)
from bot.core.triage.kinds import label_of
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB
from tests.telegram.harness import OFFICER, OFFICERS_CHAT, RESIDENT, STRANGER, Harness, Person, buttons

HOSTILE = "<b>x</b>&"
NAMES = {"gongyuan": "公园社区", "hexi": "河西社区"}
# Three urgent tickets among 25, with kinds whose labels the listing must show.
URGENT = {3: "missing", 11: "fire", 18: "crime"}
CLAIMED = (0, 5, 8)  # claimed by 李警官


@dataclass(frozen=True)
class Ticket:
    ticket: str
    community: str
    due: datetime
    urgent_kind: str | None
    question: str
    claimed: bool

    @property
    def urgent(self) -> bool:
        return self.urgent_kind is not None


async def seed(container: Container, officer: Staff, count: int = 25) -> list[Ticket]:
    """`count` waiting tickets in two communities. Due times are a permutation of the creation order
    (7 is coprime with 25), five are past due, and the ticket ids sort differently from both."""
    now = container.clock.now()
    tickets = []
    async with container.uow_factory() as uow:
        for i in range(count):
            community = "gongyuan" if i % 2 == 0 else "hexi"
            due = now + timedelta(hours=(7 * i) % count - 5, minutes=30)
            question = HOSTILE if i == 3 else f"第{i}号群众的问题"
            consultation = await uow.consultations.add(
                NewConsultation(
                    community=community,
                    resident=ResidentRef(Channel.TELEGRAM, str(5000 + i)),
                    channel=Channel.TELEGRAM,
                    text_masked=question,
                    outcome=Outcome.ESCALATE,
                    entry_id=None,
                    score=0.0,
                    urgent=i in URGENT,
                    created_at=now,
                    urgent_kind=URGENT.get(i),
                )
            )
            escalation = await uow.escalations.open(consultation.id, NewEscalation(due_at=due))
            if i in CLAIMED:
                await uow.escalations.claim(escalation.id, officer, now)
            tickets.append(Ticket(escalation.ticket, community, due, URGENT.get(i), question, i in CLAIMED))
        await uow.commit()
    return tickets


def console_order(tickets: list[Ticket]) -> list[str]:
    """What the web console promises: urgent first, then the earliest due time."""
    return [t.ticket for t in sorted(tickets, key=lambda t: (not t.urgent, t.due))]


def listed(text: str) -> list[str]:
    return re.findall(r"WJ\d{6}", text)


def items(text: str) -> dict[str, str]:
    """Each ticket's paragraph of a listing (the first paragraph is the heading)."""
    return {listed(part)[0]: part for part in text.split("\n\n")[1:]}


def labels(message: dict[str, Any]) -> list[str]:
    return [label for label, _ in buttons(message)]


@pytest.fixture
async def seeded(tg: Harness) -> tuple[Staff, list[Ticket]]:
    officer = await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan", "hexi"], telegram_user_id=OFFICER.id)
    return officer, await seed(tg.c, officer)


async def open_queue(tg: Harness, person: Person = OFFICER) -> dict[str, Any]:
    after = len(tg.api.calls)
    await tg.send(person, "/queue", chat_id=OFFICERS_CHAT)
    return tg.message_of(await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after))


async def press(tg: Harness, message: dict[str, Any], label: str, person: Person = OFFICER) -> Any:
    """Press a button of the listing; returns the editMessageText call it caused."""
    after = len(tg.api.calls)
    answer = await tg.callback_answer(await tg.click(person, message, label))
    assert not answer.get("show_alert")
    return await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)


async def test_pages_follow_the_console_order_and_edit_the_same_message(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    _, tickets = seeded
    order = console_order(tickets)
    assert order[:3] == [t.ticket for t in sorted(tickets, key=lambda t: t.due) if t.urgent]
    assert order != sorted(order)  # due order is not creation order: the test can tell them apart

    listing = await open_queue(tg)
    assert "共 25 件，第 1/3 页" in listing["text"]
    assert listed(listing["text"]) == order[:10]
    assert labels(listing) == ["第 1/3 页", "下一页 »", "只看我的", "只看超时"]
    assert all(len(data.encode()) <= MAX_CALLBACK_BYTES for _, data in buttons(listing))

    sends = len(tg.api.sent("sendMessage", OFFICERS_CHAT))
    second = await press(tg, listing, "下一页")
    assert int(second.params["message_id"]) == listing["message_id"]
    assert "第 2/3 页" in second.params["text"] and listed(second.params["text"]) == order[10:20]
    assert labels(second.result) == ["« 上一页", "第 2/3 页", "下一页 »", "只看我的", "只看超时"]

    third = await press(tg, second.result, "下一页")
    assert "第 3/3 页" in third.params["text"] and listed(third.params["text"]) == order[20:]
    assert labels(third.result) == ["« 上一页", "第 3/3 页", "只看我的", "只看超时"]

    back = await press(tg, third.result, "上一页")
    assert "第 2/3 页" in back.params["text"] and listed(back.params["text"]) == order[10:20]
    # Paging edited the one listing: nothing new was posted to the group.
    assert len(tg.api.sent("sendMessage", OFFICERS_CHAT)) == sends


async def test_each_ticket_shows_community_status_local_due_and_its_marks(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    _, tickets = seeded
    listing = await open_queue(tg)
    first = listing["text"]  # the fake API edits the message it keeps, so read it before paging
    second = await press(tg, listing, "下一页")
    third = await press(tg, second.result, "下一页")
    shown = items(first) | items(second.params["text"]) | items(third.params["text"])
    assert len(shown) == 25

    now = tg.c.clock.now()
    local = ZoneInfo(tg.settings.timezone)
    for t in tickets:
        item = shown[t.ticket]
        assert NAMES[t.community] in item and t.community not in item
        assert f"限时 {t.due.astimezone(local):%Y-%m-%d %H:%M}" in item
        assert ("已超时" in item) is (t.due < now)
        assert ("🚨" in item) is t.urgent
        if t.urgent:
            assert f"紧急·{label_of(t.urgent_kind)}" in item
        assert ("办理中（李警官）" if t.claimed else "待认领") in item
    assert sum(t.due < now for t in tickets) == 5

    # The resident's words are text, never markup.
    hostile = shown[tickets[3].ticket]
    assert "&lt;b&gt;x&lt;/b&gt;&amp;" in hostile and HOSTILE not in hostile


async def test_someone_not_on_the_allowlist_cannot_page(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    listing = await open_queue(tg)
    for outsider in (STRANGER, RESIDENT):
        after = len(tg.api.calls)
        refused = await tg.callback_answer(await tg.click(outsider, listing, "下一页"))
        assert refused.get("show_alert") in (True, "true") and "名单" in refused["text"]
        # The refusal is all that happens: the handler answers and edits nothing.
        assert not [c for c in tg.api.calls[after:] if c.method == "editMessageText"]

    after = len(tg.api.calls)
    await tg.send(STRANGER, "/queue", chat_id=OFFICERS_CHAT)
    reply = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "名单" in reply.params["text"] and "WJ" not in reply.params["text"]


async def test_an_officer_paging_sees_only_their_own_communities(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    _, tickets = seeded
    listing = await open_queue(tg)
    hexi = Person(2002, "王警官")
    await tg.c.staff.add("王警官", Role.OFFICER, ["hexi"], telegram_user_id=hexi.id)
    first = await press(tg, listing, "第 1/3 页", person=hexi)
    hexi_order = console_order([t for t in tickets if t.community == "hexi"])
    assert "共 12 件，第 1/2 页" in first.params["text"]
    assert listed(first.params["text"]) == hexi_order[:10]
    assert "公园社区" not in first.params["text"]


async def test_a_page_past_the_end_shows_the_last_one_or_says_nothing_waits(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    officer, tickets = seeded
    order = console_order(tickets)
    listing = await open_queue(tg)
    second = await press(tg, listing, "下一页")
    third = await press(tg, second.result, "下一页")

    # Thirteen tickets are closed while the third page is on screen: two pages remain.
    for ticket in order[:13]:
        await tg.c.officers.close(officer, int(ticket.removeprefix("WJ")), CloseReason.SPAM)
    after = len(tg.api.calls)
    answer = await tg.callback_answer(await tg.click(OFFICER, third.result, "第 3/3 页"))
    assert "最后一页" in answer["text"]
    last = await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)
    assert "共 12 件，第 2/2 页" in last.params["text"] and listed(last.params["text"]) == order[23:]

    # A forged page far beyond the end, once nothing waits any more.
    for ticket in order[13:]:
        await tg.c.officers.close(officer, int(ticket.removeprefix("WJ")), CloseReason.SPAM)
    after = len(tg.api.calls)
    await tg.callback_answer(await tg.press(OFFICER, last.result, "q:9999:a"))
    empty = await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)
    assert "没有待办工单" in empty.params["text"] and not listed(empty.params["text"])
    assert "reply_markup" not in empty.params


async def test_filters_for_my_tickets_and_overdue_ones(
    tg: Harness, seeded: tuple[Staff, list[Ticket]]
) -> None:
    _, tickets = seeded
    now = tg.c.clock.now()
    listing = await open_queue(tg)

    mine = await press(tg, listing, "只看我的")
    assert "李警官认领的" in mine.params["text"] and "第 1/1 页" in mine.params["text"]
    assert listed(mine.params["text"]) == console_order([t for t in tickets if t.claimed])
    assert labels(mine.result) == ["第 1/1 页", "全部待办", "只看超时"]

    overdue = await press(tg, mine.result, "只看超时")
    late = console_order([t for t in tickets if t.due < now])
    assert listed(overdue.params["text"]) == late and len(late) == 5
    assert all("已超时" in item for item in items(overdue.params["text"]).values())

    everything = await press(tg, overdue.result, "全部待办")
    assert "共 25 件，第 1/3 页" in everything.params["text"]


async def test_nothing_waiting_says_so_without_buttons(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    after = len(tg.api.calls)
    await tg.send(OFFICER, "/queue", chat_id=OFFICERS_CHAT)
    reply = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "没有待办工单" in reply.params["text"] and "reply_markup" not in reply.params


async def test_a_page_of_very_long_hostile_questions_still_fits_one_message(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    now = tg.c.clock.now()
    async with tg.c.uow_factory() as uow:
        for i in range(10):
            consultation = await uow.consultations.add(
                NewConsultation(
                    community="gongyuan",
                    resident=ResidentRef(Channel.TELEGRAM, str(6000 + i)),
                    channel=Channel.TELEGRAM,
                    text_masked="<&>" * 1000,  # every character escapes to four or five
                    outcome=Outcome.ESCALATE,
                    entry_id=None,
                    score=0.0,
                    urgent=False,
                    created_at=now,
                )
            )
            await uow.escalations.open(consultation.id, NewEscalation(due_at=now + timedelta(hours=i)))
        await uow.commit()
    listing = await open_queue(tg)
    assert utf16_len(listing["text"]) <= MESSAGE_LIMIT
    assert len(listed(listing["text"])) == 10 and "<&>" not in listing["text"]


# ---- the service: the same order as the web console, which makes the same call


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(database_url=database_url, knowledge_dir=FIXTURE_KB, data_dir=tmp_path / "data")
    container = await build_container(settings)
    yield container
    await container.close()


async def test_queue_pages_agree_with_the_console_and_the_old_queue(container: Container) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan", "hexi"])
    tickets = await seed(container, officer)
    paged = []
    for number in (1, 2, 3):
        page = await container.officers.queue_page(officer, number, 10)
        assert (page.total, page.page, page.pages) == (25, number, 3)
        paged += [v.escalation.ticket for v in page.views]
    assert paged == console_order(tickets)

    # The console's default view: "waiting", no search, its own page size.
    console = []
    for number in (1, 2):
        search = EscalationSearch(
            statuses=STATUS_FILTERS["waiting"][1],
            offset=(number - 1) * CONSOLE_PAGE_SIZE,
            limit=CONSOLE_PAGE_SIZE,
        )
        found, total = await container.officers.search(officer, search)
        assert total == 25
        console += [v.escalation.ticket for v in found]
    assert paged == console
    assert paged == [v.escalation.ticket for v in await container.officers.queue(officer)]

    beyond = await container.officers.queue_page(officer, 7, 10)
    assert (beyond.page, beyond.pages, [v.escalation.ticket for v in beyond.views]) == (3, 3, paged[20:])
