"""Login throttling: too many failures for a user name from one address, or from one address over
all user names, and the next attempts are refused for a while. In memory, per process: enough to make
guessing slow; a bureau running several web processes should throttle at the proxy as well."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 30,
        window_seconds: float = 15 * 60,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        waits = [self._wait(key, self._limits[kind]) for kind, key in self._keys(username, address)]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for _, key in self._keys(username, address):
            failures = self._failures.setdefault(key, deque())
            failures.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:  # bounded memory under a spray of names
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop(("user", username.casefold(), address), None)

    def _keys(self, username: str, address: str) -> list[tuple[str, tuple[str, ...]]]:
        return [("user", ("user", username.casefold(), address)), ("address", ("address", address))]

    def _wait(self, key: tuple[str, ...], limit: int) -> float | None:
        failures = self._failures.get(key)
        if not failures:
            return None
        now = self._clock()
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < limit:
            return None
        return self._window - (now - failures[0])
