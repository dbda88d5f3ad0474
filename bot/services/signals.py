"""The services' operational events, passed on to whoever listens: the metrics of each running web app
in this process (none on the command line, several in tests). Services depend on the port only, never
on the web channel that counts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.ports import AttemptResult, OperationsEvents

log = logging.getLogger(__name__)


class Signals:
    def __init__(self) -> None:
        self._listeners: list[OperationsEvents] = []

    def subscribe(self, listener: OperationsEvents) -> Callable[[], None]:
        """Returns the call that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def delivery(self, channel: str, result: AttemptResult) -> None:
        for listener in list(self._listeners):
            self._tell(listener.delivery, channel, result)

    def urgent(self, kind: str) -> None:
        for listener in list(self._listeners):
            self._tell(listener.urgent, kind)

    @staticmethod
    def _tell(call: Callable[..., None], *args: object) -> None:
        try:
            call(*args)
        except Exception:  # a metric must never fail the use case that reported it
            log.exception("an operations listener failed")
