"""Logging for the processes: one JSON object a line for a log collector, or text for a person at a
terminal. While the web channel handles a request, every line logged carries that request's id, so one
request's lines can be found together across the access log, the services and the errors.

Nothing here imports aiohttp or aiogram: the command line configures logging on its fast paths too.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["json", "text"]

# Set by the web channel's request middleware for the time a request is handled. A ContextVar follows
# the request into whatever its handler awaits, and no further: aiohttp runs every request in a task
# of its own, which starts from a copy of the context.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
_SCALARS = (str, int, float, bool, type(None))


def defaults(log_format: LogFormat | None, level: str | None, *, serving: bool) -> tuple[LogFormat, str]:
    """The settings' choice, else the command's: JSON at INFO for the server (its access lines are
    INFO), text at WARNING for the terminal commands, whose output is for a person."""
    chosen_format: LogFormat = log_format or ("json" if serving else "text")
    return chosen_format, level or ("INFO" if serving else "WARNING")


def configure_logging(log_format: LogFormat, level: str | int, stream: TextIO | None = None) -> None:
    """The root logger writes to stderr in `log_format`. Like logging.basicConfig, this does nothing
    when the root logger already has handlers (an embedding program, or pytest, set up its own)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level, handlers=[handler])


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on the record when it is logged: a handler that formats later
    (a queue, a buffer) still has it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def _request_id_of(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or request_id.get()


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, message, request_id inside a request, exception text when
    there is one, and the scalar `extra=` fields a caller added (the access log's method, status, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = _request_id_of(record)
        if rid:
            entry["request_id"] = rid
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the request's id appended inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = _request_id_of(record)
        if not rid:
            return text
        first, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{first} [request_id={rid}]{newline}{rest}"


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    # Scalars only: an object passed along by a library must not reach the log by its repr.
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_FIELDS and not key.startswith("_") and isinstance(value, _SCALARS)
    }
