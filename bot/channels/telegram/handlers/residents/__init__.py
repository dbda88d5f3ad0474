"""Residents, in private chats with the bot."""

from __future__ import annotations

from aiogram import Router

from bot.channels.telegram.filters import PrivateChat
from bot.channels.telegram.handlers.residents import asking, browse, inputs, onboarding
from bot.channels.telegram.middlewares import ResidentThrottle


def setup(throttle: ResidentThrottle) -> Router:
    router = Router(name=__name__)
    for observer in (router.message, router.edited_message, router.callback_query):
        observer.filter(PrivateChat())
        observer.middleware(throttle)  # inner: counts only what a resident handler takes
    router.include_routers(onboarding.setup(), browse.setup(), asking.setup(), inputs.setup())
    return router
