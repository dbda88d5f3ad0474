"""A delivery process for test_crash_recovery.py: the outbox loop of `policebot run` alone, with a
web notifier that either hangs mid-delivery (to be killed there) or records what it delivers.

    python tests/scale/delivery_worker.py block|record DATABASE_URL FILE LEASE_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.core.models import Channel, OutboxMessage
from bot.core.ports import DeliveryOutcome, DeliveryResult, Notifier
from bot.services.delivery import DeliveryService
from bot.storage import UtcClock, create_engine, create_session_factory, make_uow_factory


class FileNotifier(Notifier):
    def __init__(self, mode: str, path: Path) -> None:
        self._mode = mode
        self._path = path

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        with self._path.open("a", encoding="utf-8") as out:
            out.write(f"{message.id}\n")
        if self._mode == "block":
            await asyncio.Event().wait()  # "sending" until SIGKILL
        return DeliveryResult(DeliveryOutcome.SENT)


async def main(mode: str, url: str, path: str, lease: float) -> None:
    engine = create_engine(url)
    uow_factory = make_uow_factory(create_session_factory(engine), UtcClock())
    notifier = FileNotifier(mode, Path(path))
    delivery = DeliveryService(
        uow_factory, UtcClock(), {Channel.WEB: notifier, Channel.API: notifier}, lease_seconds=lease
    )
    try:
        await delivery.run(asyncio.Event(), idle_seconds=0.05)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
