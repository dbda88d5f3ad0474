"""A rolling restart under load loses nothing: two replicas of `policebot run` behind a small balancer
that, like nginx, sends requests only to replicas whose /readyz answers 200 and tries another replica
only when connecting failed. Each replica in turn gets SIGTERM, drains, exits and is replaced while
clients keep asking: every request must succeed, and every answered question is recorded once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import Settings
from tests.conftest import FIXTURE_KB
from tests.scale.test_crash_recovery import wait_until
from tests.test_app import _free_port
from tests.test_cli import _fitted_triage

DRAIN_SECONDS = 1.0
SHUTDOWN_TIMEOUT_SECONDS = 5.0
EXIT_DEADLINE = DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS
HEALTH_INTERVAL = 0.1  # well inside the drain: the balancer sees "draining" before the replica stops
HEALTH_TIMEOUT = 1.0  # the app's own readiness deadline
START_TIMEOUT = 40.0  # a replica's start: imports, the fitted models loaded, the database migrated
CLIENTS = 4
# Each client pauses between rounds: the ask limits are counted in Redis per community over a minute
# (600), and a few runs of this test in a row must stay under them; and two cores must still have
# room to start a replica while the others serve.
PAUSE = 0.3
QUESTIONS = [
    ("gongyuan", "身份证丢了怎么补办"),
    ("hexi", "身份证到期了怎么换"),
    ("gongyuan", "警务室在哪里，几点上班"),
    ("hexi", "新生儿怎么上户口"),
]
PAGES = ["/", "/c/gongyuan", "/c/hexi"]
ERROR_LINE = re.compile(r'"level": "(ERROR|CRITICAL)"|Traceback')
# Hop-by-hop headers, and the length the proxy sets itself.
NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class Balancer:
    """Round robin over the upstreams its health check says are ready. A request whose connection
    could not be made is tried on the next upstream (nginx's `proxy_next_upstream error`); one that
    failed after it may have reached an upstream is answered 502, never sent again: a retry would
    hide exactly the failures a rolling restart must not cause."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.ready = dict.fromkeys(ports, False)
        self.draining_seen: Counter[int] = Counter()
        self.served: Counter[int] = Counter()
        self.tried_next = 0
        self.failed: list[str] = []
        self._turn = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        # Keep-alive to the upstreams, as the deployment's nginx does (`keepalive 32`).
        self._upstream = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=15))
        self._probes = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._tasks = [asyncio.create_task(self._watch(port)) for port in self.ports]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            await self._upstream.close()
            await self._probes.close()

    async def _watch(self, port: int) -> None:
        while True:
            try:
                async with self._probes.get(f"http://127.0.0.1:{port}/readyz") as response:
                    body = await response.json(content_type=None)
                    self.ready[port] = response.status == 200
                    if body.get("status") == "draining":
                        self.draining_seen[port] += 1
            except (aiohttp.ClientError, TimeoutError, ValueError):
                self.ready[port] = False
            await asyncio.sleep(HEALTH_INTERVAL)

    async def _proxy(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED)
        ready = [port for port in self.ports if self.ready[port]]
        self._turn += 1
        first = self._turn % len(ready) if ready else 0
        for port in ready[first:] + ready[:first]:
            url = f"http://127.0.0.1:{port}{request.path_qs}"
            try:
                async with self._upstream.request(
                    request.method, url, headers=headers, data=body, allow_redirects=False
                ) as upstream:
                    payload = await upstream.read()
                    passed = CIMultiDict(
                        (k, v) for k, v in upstream.headers.items() if k.lower() not in NOT_FORWARDED
                    )
                    self.served[port] += 1
                    return web.Response(status=upstream.status, body=payload, headers=passed)
            except aiohttp.ClientConnectorError:
                self.tried_next += 1  # nothing was sent: the next upstream may take it
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failed.append(f"{request.method} {request.path} via {port}: {exc!r}")
                return web.Response(status=502, text="upstream failed after the request was sent")
        self.failed.append(f"{request.method} {request.path}: no upstream (ready: {self.ready})")
        return web.Response(status=502, text="no upstream")


@dataclass
class Replica:
    """One `policebot run` process on a fixed port (its replacement takes the same port)."""

    port: int
    env: dict[str, str] = field(repr=False)
    workdir: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    async def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"replica-{self.port}-{self.starts}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env={**self.env, "WEB_PORT": str(self.port)},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )

    async def wait_ready(self, http: aiohttp.ClientSession) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"replica exited at start:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise AssertionError(f"replica on {self.port} not ready in {START_TIMEOUT} s:\n{self.log_tail()}")

    async def terminate(self) -> tuple[int | None, float]:
        """SIGTERM, as an orchestrator sends it; the exit code and how long the process took to exit."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), EXIT_DEADLINE + 5)
        except TimeoutError:
            code = None
        return code, time.monotonic() - began

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 10)

    def log_lines(self) -> list[str]:
        return [line for p in self.logs for line in p.read_text(errors="replace").splitlines()]

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in self.logs)


@dataclass
class Load:
    """Steady traffic through the balancer; every request's result, kept with when it finished."""

    url: str
    api_key: str
    run: str
    results: list[tuple[float, str, int | str]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # residents whose question was answered
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, http: aiohttp.ClientSession, n: int) -> None:
        turn = 0
        while not self.stop.is_set():
            turn += 1
            community, question = QUESTIONS[(n + turn) % len(QUESTIONS)]
            resident = f"roll-{self.run}-{n}-{turn}"  # one each: a question recorded twice would show
            ask = {"community": community, "question": question, "resident": resident}
            status = await self._call(
                http, "POST", "/api/v1/ask", json=ask, headers={"X-Api-Key": self.api_key}
            )
            if status == 200:
                self.asked.append(resident)
            for page in (PAGES[(n + turn) % len(PAGES)], PAGES[(n + turn + 1) % len(PAGES)]):
                await self._call(http, "GET", page)
            await asyncio.sleep(PAUSE)

    async def _call(self, http: aiohttp.ClientSession, method: str, path: str, **kwargs: object) -> int | str:
        outcome: int | str
        try:
            async with http.request(method, self.url + path, **kwargs) as response:  # type: ignore[arg-type]
                await response.read()
                outcome = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        self.results.append((time.monotonic(), f"{method} {path}", outcome))
        return outcome

    def finished_between(self, start: float, end: float) -> int:
        return sum(1 for at, _, _ in self.results if start <= at <= end)


async def slow_question(port: int, api_key: str, resident: str) -> int:
    """A question sent straight to a replica whose body is held back until the replica has stopped
    accepting connections: a request in flight at that moment, which it must still answer."""
    question = {"community": "gongyuan", "question": QUESTIONS[0][1], "resident": resident}
    body = json.dumps(question).encode()
    head = (
        f"POST /api/v1/ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Api-Key: {api_key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body[:8])
        await writer.drain()
        async with asyncio.timeout(EXIT_DEADLINE):
            await refused(port)
        writer.write(body[8:])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 15)
        return int(status_line.split()[1]) if status_line else 0  # 0: closed without an answer
    finally:
        writer.close()


async def refused(port: int) -> None:
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return
        writer.close()
        await asyncio.sleep(0.05)


def replica_env(pg_url: str, redis_url: str, data_dir: Path, api_key: str) -> dict[str, str]:
    # Nothing of the caller's settings leaks in (a DATABASE_URL or WEB_PORT of the shell).
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return env | {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "KNOWLEDGE_DIR": str(FIXTURE_KB),
        "DATA_DIR": str(data_dir),
        "ENCODER": "none",
        "WEB_HOST": "127.0.0.1",
        "SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
        "SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_TIMEOUT_SECONDS),
        # Replicas share the cookie key, as a deployment's do (else each would make its own file).
        "SESSION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # Counted per key rather than per address: every request comes from the balancer's address.
        "API_KEYS": api_key,
        "LOG_LEVEL": "WARNING",
    }


async def recorded_questions(pg_url: str) -> Counter[str]:
    """Consultations asked through the API, per resident."""
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text(
                    "select r.channel_user_id from consultations c join residents r on r.id = c.resident_id "
                    "where c.channel = 'api'"
                )
            )
            return Counter(row[0] for row in found)
    finally:
        await engine.dispose()


async def test_a_rolling_restart_under_load_fails_no_request(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "cache").mkdir(parents=True)
    for fitted in _fitted_triage(FIXTURE_KB):  # else each replica fits the triage model at start (~20 s)
        shutil.copy2(fitted, data_dir / "cache" / fitted.name)
    run = secrets.token_hex(4)
    name, secret = f"rolling-{run}", secrets.token_urlsafe(24)
    env = replica_env(pg_url, redis_url, data_dir, f"{name}:{secret}")
    replicas = [Replica(_free_port(), env, tmp_path), Replica(_free_port(), env, tmp_path)]
    balancer = Balancer([r.port for r in replicas])
    workers: list[asyncio.Task[None]] = []
    exits: list[tuple[int | None, float]] = []
    windows: list[tuple[float, float]] = []
    slow_answers: list[int] = []
    served_when_back: dict[int, int] = {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as probe:
            await asyncio.gather(*(r.start() for r in replicas))
            await asyncio.gather(*(r.wait_ready(probe) for r in replicas))
            await balancer.start()
            await wait_until(lambda: all(balancer.ready.values()), 5, "the balancer to see both replicas")

            load = Load(f"http://127.0.0.1:{balancer.port}", secret, run)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
                workers = [asyncio.create_task(load.client(http, n)) for n in range(CLIENTS)]
                load_began = time.monotonic()
                await asyncio.sleep(1.0)
                for n, replica in enumerate(replicas):
                    resident = f"roll-{run}-slow-{n}"
                    slow = asyncio.create_task(slow_question(replica.port, secret, resident))
                    workers.append(slow)
                    await asyncio.sleep(0.2)  # its headers are in: the replica is reading its body
                    began = time.monotonic()
                    exits.append(await replica.terminate())
                    slow_answers.append(await asyncio.wait_for(slow, 15))
                    if slow_answers[-1] == 200:
                        load.asked.append(resident)
                    await replica.start()
                    await replica.wait_ready(probe)
                    await wait_until(
                        lambda r=replica: balancer.ready[r.port], 5, "the balancer to see it back"
                    )
                    windows.append((began, time.monotonic()))
                    served_when_back[replica.port] = balancer.served[replica.port]
                await asyncio.sleep(1.0)
                load.stop.set()
                async with asyncio.timeout(20):
                    await asyncio.gather(*workers)
                load_ended = time.monotonic()
        recorded = await recorded_questions(pg_url)
    finally:
        for task in workers:
            task.cancel()
        await balancer.stop()
        for replica in replicas:
            await replica.kill()

    logs = "\n".join(r.log_tail() for r in replicas)
    print(
        f"{len(load.results)} requests, {len(load.asked)} questions, served {dict(balancer.served)}, "
        f"retried on connect {balancer.tried_next}, exits {exits}, slow {slow_answers}, "
        f"restarts {[round(end - start, 2) for start, end in windows]}, load {load_ended - load_began:.1f} s"
    )
    failures = [
        (what, got) for _, what, got in load.results if not (isinstance(got, int) and 200 <= got < 300)
    ]
    assert not failures and not balancer.failed, (
        f"{len(failures)} of {len(load.results)} requests failed: {failures[:10]}\n"
        f"{balancer.failed[:10]}\n{logs}"
    )
    assert len(load.results) > 100 and len(load.asked) > 50, (len(load.results), len(load.asked))
    for (began, ended), replica in zip(windows, replicas, strict=True):
        assert load_began < began and ended < load_ended
        assert load.finished_between(began, ended) > 10, "the load ran through the restart"
        assert balancer.draining_seen[replica.port] > 0, "the balancer saw the replica drain"
        assert balancer.served[replica.port] > served_when_back[replica.port], "the new replica serves"
    assert slow_answers == [200, 200], f"a request in flight as the replica stopped accepting\n{logs}"
    for code, took in exits:
        assert code == 0 and took <= EXIT_DEADLINE, (code, took, logs)
    troubles = [line for r in replicas for line in r.log_lines() if ERROR_LINE.search(line)]
    assert not troubles, troubles[:20]
    # Nothing lost, nothing recorded twice: one consultation per answered question, none for others.
    assert recorded == Counter(load.asked), (
        f"{sum(recorded.values())} recorded for {len(load.asked)} answered; "
        f"missing {set(load.asked) - set(recorded)}, extra {+(recorded - Counter(load.asked))}"
    )
