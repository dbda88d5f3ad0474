"""The allowlist of officers and admins, and how they prove who they are on the web."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.core.knowledge import KnowledgeBase
from bot.core.models import NewStaff, Role, Staff
from bot.core.ports import Clock, UnitOfWorkFactory

# Verified against when the user name is unknown, so a miss costs as long as a wrong password.
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 10


# A web sign-in ends after this long, however busy: a stolen cookie does not live for ever.
SESSION_LIFETIME = timedelta(hours=12)
# last_seen is written at most this often (it only needs to be as fine as the idle limit).
SESSION_TOUCH = timedelta(minutes=1)


class StaffService:
    def __init__(self, kb: KnowledgeBase, uow_factory: UnitOfWorkFactory, clock: Clock | None = None) -> None:
        self._kb = kb
        self._uow = uow_factory
        self._clock = clock or _UtcClock()

    async def add(
        self,
        name: str,
        role: Role,
        communities: Sequence[str] = (),
        *,
        telegram_user_id: int | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> Staff:
        for slug in communities:
            self._kb.community(slug)  # UnknownCommunityError names the known ones
        if role is Role.OFFICER and not communities:
            raise ValueError("an officer needs at least one community (--community SLUG)")
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        if username is not None and password is None:
            raise ValueError("a web login (username) needs a password")
        async with self._uow() as uow:
            staff = await uow.staff.add(
                NewStaff(
                    name=name,
                    role=role,
                    communities=tuple(sorted(set(communities))),
                    telegram_user_id=telegram_user_id,
                    username=username,
                    password_hash=_hasher.hash(password) if password else None,
                )
            )
            await uow.commit()
        return staff

    async def sync_from_knowledge(self) -> int:
        """Officers listed with a telegram_id in the community files join the allowlist for that
        community (at start-up). Existing accounts are left as they are: the database rules."""
        added = 0
        for community in self._kb.communities.values():
            for officer in community.officers:
                if officer.telegram_id is None:
                    continue
                async with self._uow() as uow:
                    if await uow.staff.by_telegram_id(officer.telegram_id) is not None:
                        continue
                    await uow.staff.add(
                        NewStaff(
                            name=officer.name,
                            role=Role.OFFICER,
                            communities=(community.slug,),
                            telegram_user_id=officer.telegram_id,
                        )
                    )
                    await uow.commit()
                added += 1
        return added

    async def list(self) -> list[Staff]:
        async with self._uow() as uow:
            return await uow.staff.list()

    async def remove(self, staff_id: int) -> None:
        """Off the allowlist, and signed out of every browser at once."""
        async with self._uow() as uow:
            await uow.staff.deactivate(staff_id)
            await uow.staff.revoke_sessions(at=self._clock.now(), staff_id=staff_id)
            await uow.commit()

    # ---- web sessions: the cookie holds a random token, the database whether it still counts ----
    async def start_session(self, staff_id: int) -> str:
        token = secrets.token_urlsafe(32)
        async with self._uow() as uow:
            await uow.staff.open_session(_token_hash(token), staff_id, self._clock.now())
            await uow.commit()
        return token

    async def session_staff(self, token: str, idle: timedelta) -> Staff | None:
        """Who a session token signs in, or None once it was revoked, idle longer than `idle`, older
        than SESSION_LIFETIME, or its account is off the allowlist."""
        now = self._clock.now()
        token_hash = _token_hash(token)
        async with self._uow() as uow:
            session = await uow.staff.session_of(token_hash)
            if (
                session is None
                or session.revoked_at is not None
                or now - session.created_at > SESSION_LIFETIME
                or now - session.last_seen_at > idle
            ):
                return None
            staff = await uow.staff.get(session.staff_id)
            if staff is None or not staff.active:
                return None
            if now - session.last_seen_at >= SESSION_TOUCH:
                await uow.staff.touch_session(token_hash, now)
                await uow.commit()
        return staff

    async def end_session(self, token: str) -> None:
        """Logout: this browser's token stops counting, copies of the cookie included."""
        async with self._uow() as uow:
            await uow.staff.revoke_sessions(at=self._clock.now(), token_hash=_token_hash(token))
            await uow.commit()

    async def end_all_sessions(self, staff_id: int) -> int:
        """Sign out everywhere (a lost phone, a password that leaked); returns how many ended."""
        async with self._uow() as uow:
            ended = await uow.staff.revoke_sessions(at=self._clock.now(), staff_id=staff_id)
            await uow.commit()
        return ended

    async def change_password(self, staff: Staff, current: str, new: str) -> str:
        """A signed-in account's own new password. Every session of the account ends (a copied cookie,
        another browser) and a new one starts for this browser: its token is returned. ValueError
        when the current password is wrong or the new one is too short or the same."""
        if len(new) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"新密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
        if new == current:
            raise ValueError("新密码不能与原密码相同。")
        if staff.username is None or await self.authenticate(staff.username, current) is None:
            raise ValueError("原密码不正确。")
        new_hash = await asyncio.to_thread(_hasher.hash, new)
        async with self._uow() as uow:
            await uow.staff.set_password(staff.id, new_hash)
            await uow.staff.revoke_sessions(at=self._clock.now(), staff_id=staff.id)
            await uow.commit()
        return await self.start_session(staff.id)

    async def authenticate(self, username: str, password: str) -> Staff | None:
        async with self._uow() as uow:
            found = await uow.staff.credentials(username)
        # Argon2 costs ~0.1 s of CPU on purpose: off the event loop, so other requests go on.
        if found is None:
            await asyncio.to_thread(_verify, _DUMMY_HASH, password)
            return None
        staff, password_hash = found
        if not await asyncio.to_thread(_verify, password_hash, password):
            return None
        if _hasher.check_needs_rehash(password_hash):
            async with self._uow() as uow:
                await uow.staff.set_password(staff.id, _hasher.hash(password))
                await uow.commit()
        return staff


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
