"""Log lines: JSON a collector can parse (or text for a terminal), the request id inside a request,
the settings that choose, and the services' events reaching whoever listens."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.core.ports import AttemptResult
from bot.logs import JsonFormatter, RequestIdFilter, TextFormatter, configure_logging, defaults, request_id
from bot.services.signals import Signals
from bot.settings import Settings


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, message, args or ("world",), None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_carries_time_level_logger_and_message() -> None:
    line = json.loads(JsonFormatter().format(record()))
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"]) == ("WARNING", "bot.test")
    stamp = datetime.fromisoformat(line["time"])
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert "request_id" not in line and "exception" not in line  # outside a request, no failure


def test_a_json_line_carries_the_exception_text() -> None:
    try:
        raise RuntimeError("the disk is full")
    except RuntimeError:
        failed = record(exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(failed))
    assert "Traceback" in line["exception"] and "RuntimeError: the disk is full" in line["exception"]
    assert "\n" not in JsonFormatter().format(failed)  # still one line


def test_the_request_id_in_context_is_on_the_line() -> None:
    token = request_id.set("req-123")
    try:
        json_line = json.loads(JsonFormatter().format(record()))
        text_line = TextFormatter("%(levelname)s %(name)s: %(message)s").format(record())
    finally:
        request_id.reset(token)
    assert json_line["request_id"] == "req-123"
    assert text_line == "WARNING bot.test: hello world [request_id=req-123]"


def test_the_filter_stamps_the_id_for_a_handler_that_formats_later() -> None:
    token = request_id.set("req-456")
    try:
        stamped = record()
        RequestIdFilter().filter(stamped)
    finally:
        request_id.reset(token)
    assert json.loads(JsonFormatter().format(stamped))["request_id"] == "req-456"


def test_only_scalar_extras_are_written() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "Authorization: Bearer s3cret"

    line = json.loads(JsonFormatter().format(record(status=200, path="/livez", client=Secretive())))
    assert (line["status"], line["path"]) == (200, "/livez")
    assert "client" not in line and "s3cret" not in json.dumps(line)


def test_the_server_logs_json_at_info_and_the_terminal_text_at_warning_unless_told() -> None:
    assert defaults(None, None, serving=True) == ("json", "INFO")
    assert defaults(None, None, serving=False) == ("text", "WARNING")
    assert defaults("text", "DEBUG", serving=True) == ("text", "DEBUG")
    assert defaults("json", None, serving=False) == ("json", "WARNING")


def test_log_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_LEVEL", "info")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.log_format, settings.log_level) == ("json", "INFO")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_configured_logging_writes_json_lines_to_stderr() -> None:
    program = (
        "import logging\n"
        "from bot.logs import configure_logging\n"
        "configure_logging('json', 'INFO')\n"
        "logging.getLogger('bot.demo').info('started %s', 'up')\n"
        "logging.getLogger('bot.demo').debug('not at INFO')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [("bot.demo", "started up")]


def test_configuring_leaves_handlers_someone_else_installed_alone() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    assert before[0], "pytest installs its capture handlers on the root logger"
    configure_logging("json", "DEBUG")
    assert (list(root.handlers), root.level) == before


class Tally:
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def delivery(self, channel: str, result: AttemptResult) -> None:
        self.seen.append(("delivery", channel, str(result)))

    def urgent(self, kind: str) -> None:
        self.seen.append(("urgent", kind))


class Broken:
    def delivery(self, channel: str, result: AttemptResult) -> None:
        raise RuntimeError("listener bug")

    def urgent(self, kind: str) -> None:
        raise RuntimeError("listener bug")


def test_signals_reach_every_listener_until_it_unsubscribes(caplog: pytest.LogCaptureFixture) -> None:
    signals, tally = Signals(), Tally()
    signals.subscribe(Broken())  # a failing listener is logged, and the others still hear
    unsubscribe = signals.subscribe(tally)
    signals.delivery("web", AttemptResult.SENT)
    signals.urgent("fire")
    unsubscribe()
    signals.urgent("crime")
    assert tally.seen == [("delivery", "web", "sent"), ("urgent", "fire")]
    assert sum("listener" in r.getMessage() for r in caplog.records) == 3
