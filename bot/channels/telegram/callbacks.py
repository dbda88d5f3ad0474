"""Typed callback data for every inline button. Telegram allows 64 bytes (about 21 Chinese
characters), so fields are indices, ids and slugs, never titles; prefixes are one letter.

A bad client can send any callback data it likes for a message it has, so ids that matter are
either checked by the service (officers: the allowlist and their communities) or signed for the
resident the button was made for (ratings, "did you mean" picks): the signature is a truncated HMAC
over the user id and the values, keyed from a server secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData

from bot.channels.untrusted import same_secret

MAX_CALLBACK_BYTES = 64


class DistrictCb(CallbackData, prefix="d"):
    i: int  # index into the sorted district names


class CommunityCb(CallbackData, prefix="c"):
    slug: str


class SectionCb(CallbackData, prefix="s"):
    s: int  # index into core.models.SECTIONS


class CategoryCb(CallbackData, prefix="g"):
    s: int
    c: int  # index into core.models.CATEGORIES
    p: int = 0  # page


class EntryCb(CallbackData, prefix="e"):
    e: str  # entry token (see entry_token)
    s: int
    c: int


class MenuCb(CallbackData, prefix="m"):
    to: str  # "menu" | "my" | "community"


class PickCb(CallbackData, prefix="k"):
    """A "did you mean" choice: opens the entry and counts the view, like a menu click."""

    e: str


class NoneOfTheseCb(CallbackData, prefix="n"):
    q: int  # consultation id
    sig: str


class HelpfulCb(CallbackData, prefix="u"):
    q: int
    v: int  # 1 useful, 0 not useful
    sig: str


class SatisfactionCb(CallbackData, prefix="r"):
    x: int  # escalation id
    v: int  # index into SATISFACTION_ORDER
    sig: str


class LanguageCb(CallbackData, prefix="l"):
    lang: str


class EscalationCb(CallbackData, prefix="x"):
    """Officers' buttons on an escalation post."""

    # c claim, a answer, h hand over, z close (zd duplicate, zs spam, zx back), k save as knowledge
    a: str
    x: int


class HandOverCb(CallbackData, prefix="h"):
    x: int
    to: str  # community slug, or "-" to cancel


class QueueCb(CallbackData, prefix="q"):
    """A page of the officers' /queue listing: "q:10000:m" is 9 bytes, far below the limit."""

    p: int  # 1-based page
    f: str = "a"  # a all waiting, m claimed by whoever presses, o overdue


class Signer:
    """Binds a button to the resident it was sent to, so forged ids do nothing."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"policebot telegram callbacks\x00" + secret.encode()).digest()

    def sign(self, user_id: int, *values: object) -> str:
        message = ":".join(str(v) for v in (user_id, *values)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:6]
        return base64.urlsafe_b64encode(digest).decode()  # 8 characters, no padding for 6 bytes

    def valid(self, signature: str, user_id: int, *values: object) -> bool:
        return same_secret(signature, self.sign(user_id, *values))


@lru_cache(maxsize=4)
def signer_for(token: str) -> Signer:
    """The bot token is the secret: only this server knows it, and it survives restarts."""
    return Signer(token)


# Entry ids are short slugs today (at most 29 bytes). An id too long for a button is replaced by a
# short digest, resolved against the knowledge base when clicked.
_ENTRY_ID_BUDGET = 30


def entry_token(entry_id: str) -> str:
    if len(entry_id.encode()) <= _ENTRY_ID_BUDGET and ":" not in entry_id and not entry_id.startswith("~"):
        return entry_id
    return "~" + hashlib.blake2b(entry_id.encode(), digest_size=9).hexdigest()


def resolve_entry_token(token: str, entry_ids: Iterable[str]) -> str | None:
    """The entry id behind a token, among `entry_ids`; None if it is gone."""
    if not token.startswith("~"):
        return token
    return next((entry_id for entry_id in entry_ids if entry_token(entry_id) == token), None)
