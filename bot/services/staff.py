"""The allowlist of officers and admins, and how they prove who they are on the web."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.core.knowledge import KnowledgeBase
from bot.core.models import NewStaff, Role, Staff
from bot.core.ports import UnitOfWorkFactory

# Verified against when the user name is unknown, so a miss costs as long as a wrong password.
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 10


class StaffService:
    def __init__(self, kb: KnowledgeBase, uow_factory: UnitOfWorkFactory) -> None:
        self._kb = kb
        self._uow = uow_factory

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
        async with self._uow() as uow:
            await uow.staff.deactivate(staff_id)
            await uow.commit()

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


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
