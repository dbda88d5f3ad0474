"""The API keeps the promises of its OpenAPI document. Schemathesis generates requests for every
operation of the document served at /api/v1/openapi.json (valid ones, invalid ones, methods the
document does not list) and sends them to the real app on a real port of 127.0.0.1. Every check of the
pinned schemathesis runs on each answer, among them: no server error, only documented statuses and
content types, bodies that match their schemas, invalid requests refused, 405 with an Allow header for
an undocumented method (TRACE, QUERY, ...), and no success without the documented credentials.

Bounded to stay quick and stable in CI: the coverage phase's boundary cases and at most 50 generated
examples per operation, a fixed seed, derandomized generation, no example database, and a short
stateful run over the document's links."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web

from bot.channels.web import create_app
from bot.channels.web.api import STATS_DAY_RE
from bot.channels.web.filters import today_in
from bot.channels.web.keys import ASK_LIMIT
from bot.channels.web.openapi import MAX_QUESTION_CHARS, openapi_document
from bot.channels.web.security import SESSION_COOKIE
from bot.channels.web.throttle import AskLimiter
from bot.core.models import Channel, CloseReason, ResidentRef, Role
from bot.kb.loader import load_knowledge
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB
from tests.web.conftest import CSRF_RE, PASSWORD, settings_for

T = TypeVar("T")
API_KEY = "fuzz-site-secret-0123456789abcdef"
UNANSWERABLE = "我家楼下的路灯坏了好几天没人修"  # no entry fits: a ticket for the officers
# Real communities and questions (an answer, a clarification, emergencies, an escalation, a follow-up,
# two questions at once) make most valid requests reach the matcher rather than an unknown-community 404.
COMMUNITIES = sorted(load_knowledge(FIXTURE_KB).communities)
QUESTIONS = [
    "身份证丢了怎么补办",
    "身份证",
    "护照",
    "要多少钱",
    "有人在撬我家门",
    "我想自杀",
    UNANSWERABLE,
    "接到自称公检法的电话要我转账怎么办",
    "身份证丢了怎么补办？另外身份证到期了怎么换",
]


def config(*, generated_credentials: bool) -> schemathesis.Config:
    """What every run shares. With generated_credentials, schemathesis makes up the session cookie of
    /api/v1/stats (or leaves it out), and every such request must be refused; without, the caller
    sends a real one."""
    return schemathesis.Config.from_dict(
        {
            "seed": 20240607,
            "generation": {
                "max-examples": 50,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": generated_credentials,
            },
            "checks": {"enabled": True},
            "dictionaries": {"communities": {"values": COMMUNITIES}, "questions": {"values": QUESTIONS}},
            "parameters": {
                "body.community": {"dictionary": "communities", "probability": 0.8},
                "body.question": {"dictionary": "questions", "probability": 0.6},
            },
            "operations": [
                {
                    # A schema-valid request whose Idempotency-Key came with another body before is
                    # refused with 422, as the Idempotency-Key draft says; generated keys repeat.
                    "include-path": "/api/v1/ask",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 422, 429]
                        }
                    },
                }
            ],
        }
    )


# The document is the function the app serves (test_the_fuzzed_document_is_the_served_one): loaded
# here, at collection, so that pytest lists one test per operation.
anonymous = schemathesis.openapi.from_dict(openapi_document(), config=config(generated_credentials=True))
signed_in = schemathesis.openapi.from_dict(openapi_document(), config=config(generated_credentials=False))


class LiveServer:
    """The app on a free port of 127.0.0.1, served by an event loop of its own in another thread:
    schemathesis sends blocking requests, which would stall a server on the test's own loop."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = settings_for(tmp_path, api_keys=f"fuzz-site:{API_KEY}")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzzed-app", daemon=True)
        self._runner: web.AppRunner | None = None
        self.container: Container | None = None
        self.url = ""

    def __enter__(self) -> LiveServer:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs a coroutine on the server's loop (where its container lives) and waits for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    async def _start(self) -> None:
        self.container = await build_container(self.settings)
        await self.container.staff.add("管理员", Role.ADMIN, username="admin", password=PASSWORD)
        app = create_app(self.container)
        # Hundreds of questions a minute from one address: the real limits would answer most with a
        # 429 and leave the answer path untried. The limits have tests of their own.
        app[ASK_LIMIT] = AskLimiter(per_resident=100_000, per_address=100_000, per_community=100_000)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.container is not None:
            await self.container.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("fuzzed")) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(live: LiveServer) -> dict[str, str]:
    """A signed-in admin's session (what /api/v1/stats asks for) and a site's API key. The session
    goes as a Cookie header of the call: schemathesis then knows the credentials were given, and
    sends the same request without them and with a wrong one (check ignored_auth)."""
    with requests.Session() as browser:
        token = CSRF_RE.search(browser.get(f"{live.url}/login", timeout=10).text)
        assert token, "no CSRF token on /login"
        form = {"csrf": token.group(1), "username": "admin", "password": PASSWORD}
        signed = browser.post(f"{live.url}/login", data=form, allow_redirects=False, timeout=10)
        assert signed.status_code == 303, signed.text
        return {"X-Api-Key": API_KEY, "Cookie": f"{SESSION_COOKIE}={browser.cookies[SESSION_COOKIE]}"}


def put_the_period_in_order(case: schemathesis.Case, timezone: str) -> None:
    """GET /api/v1/stats: `from` is not after `to`, today by default (the document says so; a rule
    between two parameters, which JSON Schema cannot state). Well-formed days in the wrong order are
    swapped, so that a valid request stays valid; anything else is left as generated."""
    if case.operation.path != "/api/v1/stats" or not isinstance(case.query, dict):
        return
    since = case.query.get("from")
    until = case.query.get("to", today_in(timezone).isoformat())
    days = (since, until)
    if all(isinstance(day, str) and STATS_DAY_RE.fullmatch(day) for day in days) and since > until:
        case.query.update({"from": until, "to": since})


def test_the_fuzzed_document_is_the_served_one(live: LiveServer) -> None:
    served = requests.get(f"{live.url}/api/v1/openapi.json", timeout=10)
    assert served.status_code == 200 and served.json() == openapi_document()
    # Every documented operation is loaded, none dropped as unreadable: each one is fuzzed below.
    documented = {(method.upper(), path) for path, item in served.json()["paths"].items() for method in item}
    loaded = {(op.ok().method.upper(), op.ok().path) for op in anonymous.get_all_operations()}
    assert loaded == documented and len(documented) == 8


@anonymous.parametrize()
def test_anonymous_callers_get_what_the_document_promises(case: schemathesis.Case, live: LiveServer) -> None:
    put_the_period_in_order(case, live.settings.timezone)
    case.call_and_validate(base_url=live.url)


@signed_in.parametrize()
def test_an_admin_and_a_keyed_site_get_what_the_document_promises(
    case: schemathesis.Case, live: LiveServer, admin_headers: dict[str, str]
) -> None:
    put_the_period_in_order(case, live.settings.timezone)
    case.call_and_validate(base_url=live.url, headers=admin_headers)


def test_what_follows_an_answer_keeps_the_promises(live: LiveServer) -> None:
    """The document's links: an answer's ref and resident_token, handed back to POST /api/v1/escalate
    and GET /api/v1/escalations, reach the successes that made-up values never do."""
    statuses: Counter[tuple[str, int]] = Counter()
    linked = anonymous.include(path_regex="^/api/v1/(ask|escalate|escalations)$")

    class Scenario(linked.as_state_machine()):
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": live.url}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            statuses[(case.operation.path, response.status_code)] += 1

    Scenario.run(
        settings=hypothesis.settings(
            max_examples=20, stateful_step_count=5, derandomize=True, database=None, deadline=None
        )
    )
    assert statuses[("/api/v1/escalate", 200)] and statuses[("/api/v1/escalations", 200)], statuses


STATS_EDGES = [
    # The calendar's first and last days: their local midnights are out of datetime's range.
    pytest.param({"from": "0001-01-01"}, 400, id="first-day-of-the-calendar"),
    pytest.param({"to": "9999-12-31"}, 400, id="last-day-of-the-calendar"),
    pytest.param({"from": "1999-12-31"}, 400, id="before-2000"),
    pytest.param({"to": "2100-01-01"}, 400, id="after-2099"),
    # Other ISO 8601 forms, which date.fromisoformat reads too.
    pytest.param({"to": "20240101"}, 400, id="basic-format"),
    pytest.param({"from": "2024-W01-1"}, 400, id="week-date"),
    pytest.param({"from": "2024-02-30"}, 400, id="no-such-day"),
    pytest.param({"from": "2024-03-01", "to": "2024-02-01"}, 400, id="from-after-to"),
    pytest.param({"from": "2000-01-01", "to": "2099-12-31"}, 200, id="the-documented-years"),
]


@pytest.mark.parametrize(("query", "status"), STATS_EDGES)
def test_days_the_generator_rarely_draws(
    query: dict[str, str], status: int, live: LiveServer, admin_headers: dict[str, str]
) -> None:
    case = signed_in["/api/v1/stats"]["GET"].Case(query=query)
    response = case.call_and_validate(base_url=live.url, headers=admin_headers)
    assert response.status_code == status, response.text


def test_a_question_over_the_read_length_is_answered_from_its_beginning(live: LiveServer) -> None:
    question = "身份证丢了怎么补办" + "问" * MAX_QUESTION_CHARS
    case = anonymous["/api/v1/ask"]["POST"].Case(body={"community": "gongyuan", "question": question})
    response = case.call_and_validate(base_url=live.url)
    assert response.status_code == 200, response.text
    assert response.json()["notice"] == "truncated"


def test_a_held_resident_and_the_closed_tickets_are_as_documented(live: LiveServer) -> None:
    """Tickets marked 无效信息 hold the resident's next one (notice `held`), and read back closed."""
    resident = "site-user-marked-01"
    assert live.container is not None
    live.run(_mark_as_spam(live.container, resident, live.settings.spam_hold_marks))
    ask = anonymous["/api/v1/ask"]["POST"].Case(
        body={"community": "gongyuan", "question": UNANSWERABLE, "resident": resident}
    )
    held = ask.call_and_validate(base_url=live.url).json()
    assert held["notice"] == "held" and held["ticket"] is None
    mine = {"resident": resident, "token": held["resident_token"]}
    tickets = anonymous["/api/v1/escalations"]["GET"].Case(query=mine).call_and_validate(base_url=live.url)
    closed = tickets.json()["escalations"]
    assert len(closed) == live.settings.spam_hold_marks
    assert {(t["status"], t["close_reason"]) for t in closed} == {("closed", "spam")}


async def _mark_as_spam(container: Container, resident: str, times: int) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    for n in range(times):
        reply = await container.ask.ask(
            "gongyuan", ResidentRef(Channel.API, resident), f"{UNANSWERABLE}第{n}次", Channel.API
        )
        assert reply.ticket is not None
        await container.officers.close(officer, int(reply.ticket.removeprefix("WJ")), CloseReason.SPAM)
