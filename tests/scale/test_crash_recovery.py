"""A replica killed (SIGKILL) in the middle of delivering an officer's answer: the lease it took runs
out, and the process that comes up after it delivers the answer, once."""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.core.models import Channel, ResidentRef, Role
from bot.wiring import Container
from tests.web.test_resident import rows

WORKER = Path(__file__).with_name("delivery_worker.py")
LEASE_SECONDS = 2.0


async def start_worker(mode: str, url: str, path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), mode, url, str(path), str(LEASE_SECONDS)
    )


async def wait_until(condition: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await _value(condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def delivered(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def test_an_answer_in_flight_when_the_process_dies_is_delivered_once_after_restart(
    containers: Callable[[], Awaitable[Container]], tmp_path: Path
) -> None:
    container = await containers()
    url = container.settings.database_url
    reply = await container.ask.ask(
        "gongyuan", ResidentRef(Channel.WEB, "resident-1"), "小区下水道堵了找谁", Channel.WEB
    )
    assert reply.ticket is not None
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    escalation = await container.officers.answer(officer, int(reply.ticket[2:]), "已通知物业疏通。")
    ((answer_id,),) = await rows(
        container, f"select id from outbox where kind = 'officer_answer' and escalation_id = {escalation.id}"
    )

    started, finished = tmp_path / "started", tmp_path / "delivered"
    first = await start_worker("block", url, started)
    try:
        await wait_until(lambda: answer_id in delivered(started), 30, "the first process to send")
        status = await rows(container, f"select status, attempts from outbox where id = {answer_id}")
        assert status == [("pending", 1)]  # leased, in flight
    finally:
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL

    second = await start_worker("record", url, finished)
    try:

        async def sent() -> bool:
            return await rows(container, f"select status from outbox where id = {answer_id}") == [("sent",)]

        await wait_until(sent, 30, "the second process to deliver")
        await asyncio.sleep(LEASE_SECONDS + 0.5)  # another lease's time: nothing is sent twice
    finally:
        second.send_signal(signal.SIGKILL)
        await second.wait()
    assert delivered(finished).count(answer_id) == 1
    assert await rows(container, f"select status, attempts from outbox where id = {answer_id}") == [
        ("sent", 2)
    ]


async def _value(result: Awaitable[bool] | bool) -> bool:
    return await result if inspect.isawaitable(result) else bool(result)
