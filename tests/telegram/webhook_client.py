"""Posting updates to the webhook receiver the way Telegram does."""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp.test_utils import TestClient

SECRET = "s" * 24 + "-webhook-secret-for-tests"  # ≥ 32 characters
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"
PATH = "/telegram/webhook"
_ids = itertools.count(5000)


def message_update(user_id: int, text: str, update_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": update_id if update_id is not None else next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "张三"},
            "from": {"id": user_id, "is_bot": False, "first_name": "张三"},
            "text": text,
        },
    }


async def post(client: TestClient, update: Any, secret: str | None = SECRET, **kwargs: Any) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    response = await client.post(PATH, json=update, headers=headers, **kwargs)
    return response.status
