"""The web channel: residents' online police room, the officers' console, the admins' dashboard and a
JSON API, all in one aiohttp application built by `create_app`."""

from bot.channels.web.app import create_app
from bot.channels.web.live import LiveHub, WebNotifier, live_hub_for, web_notifiers

__all__ = ["LiveHub", "WebNotifier", "create_app", "live_hub_for", "web_notifiers"]
