"""The Telegram channel: residents in private chats, officers in their community's group, admins.

    bot = create_bot(settings)
    await run_polling(container, bot, stop_event)           # until stop_event is set
    notifier = create_notifier(container, bot)              # TelegramNotifier for DeliveryService
    WebhookReceiver(container, bot, dispatcher).install(app) # webhook mode (WEBHOOK_URL), on the web app

Importing this package imports aiogram (about two seconds): keep it out of fast CLI paths.
"""

from bot.channels.telegram.app import (
    create_bot,
    create_dispatcher,
    create_notifier,
    create_shared_state,
    run_polling,
    set_commands,
)
from bot.channels.telegram.limiter import Limits, RateLimiter
from bot.channels.telegram.notifier import TelegramNotifier
from bot.channels.telegram.webhook import WebhookReceiver

__all__ = [
    "Limits",
    "RateLimiter",
    "TelegramNotifier",
    "WebhookReceiver",
    "create_bot",
    "create_dispatcher",
    "create_notifier",
    "create_shared_state",
    "run_polling",
    "set_commands",
]
