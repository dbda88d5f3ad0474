"""Web channel under load: POST /api/v1/ask throughput and latency, and the admin dashboard's page time
with many consultations in the database.

    python benchmarks/web_load.py [--requests 2000] [--concurrency 16] [--rows 100000]
                                  [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

SQLite always; PostgreSQL too when --pg or POLICEBOT_TEST_PG names a server (a throwaway database is
created there and dropped afterwards). The server is one process of its own (the app from
create_app on the shipped knowledge base); the load generator is this process: an aiohttp client on
loopback with a fixed number of requests and a fixed concurrency, so it is bounded and repeatable.
Questions are the development set's (answer, clarify and escalate mixed), each one recorded as a
consultation like a real one.

Then --rows consultations (spread over the last year, ~5% escalated, some rated) are bulk-inserted
(COPY on PostgreSQL, executemany batches on SQLite) and the dashboard is fetched as an admin: the
default 30-day view and the whole year. The issue's target is 1,000,000 rows on PostgreSQL in
≤ 300 ms. Figures, not tests: nothing here fails on a slow machine.

    python benchmarks/web_load.py --dashboard [--rows 1000000] [--escalated 0.10] [--repeat 20]
                                  [--browser-repeat 10] [--keep] [--reuse]
                                  [--url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_dashboard]

The admin's daily work at scale, PostgreSQL alone (the target: the dashboard's first paint within
1 s at 1,000,000 consultations). The database --url names (or POLICEBOT_BENCH_DASHBOARD_URL) is
created on its server, migrated by the app, and loaded by INSERT ... SELECT over generate_series: a
year of consultations over the shipped communities and entries, 10% escalated with officers'
answers, votes on answers and tickets; then the rollups are rebuilt as after any bulk load. Each
request is timed on a freshly started app (ENCODER=none, the shipped knowledge), signed in as an
admin: the first request (cold; PostgreSQL's caches are as the load left them) and --repeat more
(warm, median and p95): the dashboard and /api/v1/stats for 30 days, a year and one community's
year; the questions behind a busy day and the busiest topic; a month's CSV export. With Chromium at
/usr/bin/chromium and Playwright, the dashboard's first contentful paint and the moment its charts
are drawn. The database is dropped at the end unless --keep; --reuse times a kept one as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import seed_cache, throwaway_database, without_ask_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK_QUESTIONS = [
    ("chengzhong-gongyuan", "身份证丢了怎么补办"),
    ("chengzhong-gongyuan", "身份证"),
    ("liunan-hexi", "我家楼下的路灯坏了好几天了没人修"),
    ("yufeng-xiangyang", "怎么办理居住证"),
]
ADMIN_PASSWORD = "benchmark password"
BATCH = 10_000


def questions() -> list[tuple[str, str]]:
    if not DEV_SET.is_file():
        return FALLBACK_QUESTIONS
    with DEV_SET.open(encoding="utf-8") as f:
        return [(item["community"], item["q"]) for item in map(json.loads, filter(str.strip, f))]


# ---- the server, in a process of its own -----------------------------------------------------------


def serve(database_url: str, data_dir: str, ready: Any, stop: Any, encoder: str | None = None) -> None:
    asyncio.run(_serve(database_url, data_dir, ready, stop, encoder))


async def _serve(database_url: str, data_dir: str, ready: Any, stop: Any, encoder: str | None = None) -> None:
    import logging

    from aiohttp import web

    from bot.channels.web import create_app
    from bot.settings import Settings
    from bot.wiring import build_container

    logging.basicConfig(level=logging.WARNING)
    # No encoder given: the environment's ENCODER (or auto), as a deployment reads it.
    chosen = {} if encoder is None else {"encoder": encoder}
    seed_cache(Path(data_dir))
    container = await build_container(Settings(database_url=database_url, data_dir=Path(data_dir), **chosen))
    app = create_app(container)
    await without_ask_limits(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    ready.put(port)
    while not stop.is_set():
        await asyncio.sleep(0.2)
    await runner.cleanup()
    await container.close()


# ---- load ------------------------------------------------------------------------------------------


async def load(base: str, items: list[tuple[str, str]], total: int, concurrency: int) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    errors = 0
    counter = itertools.count()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            nonlocal errors
            community, question = items[i % len(items)]
            body = {"community": community, "question": question, "resident": f"bench-resident-{i % 500:04d}"}
            started = time.perf_counter()
            async with session.post(f"{base}/api/v1/ask", json=body) as response:
                data = await response.json()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors += 1
            else:
                outcomes[data["outcome"]] = outcomes.get(data["outcome"], 0) + 1

        async def worker() -> None:
            while (i := next(counter)) < total:
                await one(i)

        for i in range(min(50, total)):  # warm-up: connections, caches, the matcher's first calls
            await one(i)
        latencies.clear()
        outcomes.clear()
        counter = itertools.count()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": total / wall,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "errors": errors,
        **{f"outcome_{k}": v for k, v in sorted(outcomes.items())},
    }


# ---- bulk rows for the dashboard -------------------------------------------------------------------


CONSULTATION_COLUMNS = (
    "id", "community", "resident_id", "channel", "text_masked", "outcome", "entry_id", "score", "urgent",
    "via_menu", "candidates", "created_at",
)  # fmt: skip
ESCALATION_COLUMNS = (
    "id", "consultation_id", "community", "status", "created_at", "due_at", "claimed_at", "answered_at",
    "officer", "answer",
)  # fmt: skip
FEEDBACK_COLUMNS = ("consultation_id", "escalation_id", "kind", "value", "created_at")
RESIDENTS = 1000


@dataclass
class Batch:
    consultations: list[tuple[Any, ...]] = field(default_factory=list)
    escalations: list[tuple[Any, ...]] = field(default_factory=list)
    feedback: list[tuple[Any, ...]] = field(default_factory=list)


def batches(rows: int, first_id: int, first_resident: int, seed: int = 11) -> Iterator[Batch]:
    """Consultations over the last 365 days in arrival order, as real ones are written: the table's
    physical order then follows created_at, which the period queries' index range scans rely on.
    75% answered (30% of those from a menu), 20% clarified, 5% escalated (90% of them answered)."""
    from bot.kb.loader import load_knowledge
    from bot.settings import Settings

    rng = random.Random(seed)
    kb = load_knowledge(Settings().knowledge_dir)
    communities, entries = sorted(kb.communities), sorted(kb.entries)
    texts = [q for e in kb.entries.values() for q in e.questions][:3000] or ["问题"]
    now = datetime.now(UTC)
    for start in range(0, rows, BATCH):
        batch = Batch()
        for n in range(start, min(rows, start + BATCH)):
            cid = first_id + n  # escalations reuse the number: ids only need to be unique
            created = now - timedelta(seconds=365 * 86400 * (1 - n / rows) + rng.uniform(0, 30))
            roll = rng.random()
            outcome = "answer" if roll < 0.75 else ("clarify" if roll < 0.95 else "escalate")
            community = rng.choice(communities)
            entry = rng.choice(entries) if outcome == "answer" else None
            via_menu = outcome == "answer" and rng.random() < 0.3
            resident = first_resident + rng.randrange(RESIDENTS)
            score = round(rng.uniform(0, 100), 1)
            urgent = rng.random() < 0.002
            batch.consultations.append(
                (
                    cid,
                    community,
                    resident,
                    "web",
                    rng.choice(texts),
                    outcome,
                    entry,
                    score,
                    urgent,
                    via_menu,
                    "",
                    created,
                )
            )
            if outcome == "escalate":
                answered = created + timedelta(hours=rng.uniform(0.2, 30)) if rng.random() < 0.9 else None
                batch.escalations.append(
                    (
                        cid, cid, community, "answered" if answered else "open", created,
                        created + timedelta(days=1), answered, answered, "李警官" if answered else None,
                        "请带户口簿到派出所办理。" if answered else None,
                    )
                )  # fmt: skip
                if answered and rng.random() < 0.5:
                    value = rng.choice(["satisfied", "satisfied", "basically", "unsatisfied"])
                    batch.feedback.append((None, cid, "satisfaction", value, answered))
            elif outcome == "answer" and rng.random() < 0.05:
                value = rng.choice(["useful", "not_useful"])
                batch.feedback.append((cid, None, "helpfulness", value, created))
        yield batch


async def bulk_insert(database_url: str, rows: int) -> float:
    """COPY on PostgreSQL, executemany batches on SQLite. Returns the seconds taken."""
    from sqlalchemy import func, insert, select

    from bot.storage import rollups
    from bot.storage.db import create_engine
    from bot.storage.tables import ConsultationRow, EscalationRow, FeedbackRow, ResidentRow

    engine = create_engine(database_url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            first_id = (await conn.scalar(select(func.coalesce(func.max(ConsultationRow.id), 0)))) + 1
            first_resident = (await conn.scalar(select(func.coalesce(func.max(ResidentRow.id), 0)))) + 1
            residents = [
                {"id": first_resident + i, "channel": "web", "channel_user_id": f"bulk-{uuid.uuid4().hex}",
                 "created_at": now, "updated_at": now, "language": "zh", "blocked": False}
                for i in range(RESIDENTS)
            ]  # fmt: skip
            await conn.execute(insert(ResidentRow), residents)
        tables = (
            (ConsultationRow, CONSULTATION_COLUMNS, "consultations"),
            (EscalationRow, ESCALATION_COLUMNS, "escalations"),
            (FeedbackRow, FEEDBACK_COLUMNS, "feedback"),
        )
        postgres = engine.dialect.name == "postgresql"
        for batch in batches(rows, first_id, first_resident):
            async with engine.begin() as conn:
                for table, columns, attribute in tables:
                    records = getattr(batch, attribute)
                    if not records:
                        continue
                    if postgres:
                        raw = (await conn.get_raw_connection()).driver_connection
                        await raw.copy_records_to_table(table.__tablename__, records=records, columns=columns)
                    else:
                        await conn.execute(
                            insert(table), [dict(zip(columns, r, strict=True)) for r in records]
                        )
        async with engine.begin() as conn:
            # The rows bypassed the repositories, which keep the statistics' rollups: recompute them.
            await rollups.rebuild(conn)
            if postgres:
                for table, _, _ in tables:
                    # COPY wrote ids explicitly: move the sequences past them; refresh the statistics.
                    name = table.__tablename__
                    sequence = f"pg_get_serial_sequence('{name}', 'id')"
                    await conn.exec_driver_sql(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))")
                for name in ("consultations", "escalations", "feedback", *rollups.TABLES):
                    await conn.exec_driver_sql(f"ANALYZE {name}")
            else:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def dashboard_times(base: str, repeat: int) -> dict[str, float]:
    import aiohttp

    # unsafe=True: the default jar keeps no cookies for bare IP addresses like 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        page = await (await session.get(f"{base}/login")).text()
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        form = {"csrf": token, "username": "bench-admin", "password": ADMIN_PASSWORD}
        async with session.post(f"{base}/login", data=form, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        today = datetime.now(UTC).date()
        views = {
            "dashboard_30d": f"{base}/admin",
            "dashboard_year": f"{base}/admin?since={today - timedelta(days=365)}&until={today}",
        }
        figures: dict[str, float] = {}
        for name, url in views.items():
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200
                samples.append(time.perf_counter() - started)
            figures[f"{name}_median_ms"] = 1000 * statistics.median(samples)
            figures[f"{name}_max_ms"] = 1000 * max(samples)
            # The six charts right after their page: the report is shared, so this is drawing time.
            started = time.perf_counter()
            for kind in ("days", "outcomes", "topics", "communities", "escalations", "satisfaction"):
                async with session.get(url.replace("/admin", f"/admin/chart/{kind}.png", 1)) as response:
                    await response.read()
            figures[f"{name}_charts_ms"] = 1000 * (time.perf_counter() - started)
        return figures


# ---- one database ----------------------------------------------------------------------------------


async def prepare(database_url: str, data_dir: Path) -> None:
    from bot.core.models import Role
    from bot.settings import Settings
    from bot.wiring import build_container

    seed_cache(data_dir)
    container = await build_container(Settings(database_url=database_url, data_dir=data_dir))
    try:
        await container.staff.add("基准管理员", Role.ADMIN, username="bench-admin", password=ADMIN_PASSWORD)
    finally:
        await container.close()


def run_one(label: str, database_url: str, args: argparse.Namespace, data_dir: Path) -> None:
    asyncio.run(prepare(database_url, data_dir))
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(database_url, str(data_dir), ready, stop), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=120)
        base = f"http://127.0.0.1:{port}"
        figures = asyncio.run(load(base, questions(), args.requests, args.concurrency))
        print(
            f"{label:10} POST /api/v1/ask  {args.requests} requests, concurrency {args.concurrency}: "
            f"{figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
            f"errors {figures['errors']:.0f}  "
            + " ".join(f"{k[8:]}={v:.0f}" for k, v in figures.items() if k.startswith("outcome_"))
        )
        if args.rows:
            seconds = asyncio.run(bulk_insert(database_url, args.rows))
            print(f"{label:10} inserted {args.rows:,} consultations in {seconds:.1f} s")
            times = asyncio.run(dashboard_times(base, args.repeat))
            t = times
            print(
                f"{label:10} dashboard with {args.rows:,} rows: "
                f"30 days median {t['dashboard_30d_median_ms']:.0f} ms "
                f"(max {t['dashboard_30d_max_ms']:.0f}), "
                f"whole year median {t['dashboard_year_median_ms']:.0f} ms "
                f"(max {t['dashboard_year_max_ms']:.0f}); "
                f"its six charts {t['dashboard_30d_charts_ms']:.0f} / {t['dashboard_year_charts_ms']:.0f} ms"
            )
    finally:
        stop.set()
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()


def main() -> int:
    from dashboard_scale import DASHBOARD_URL, run_dashboard  # it imports this module's server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rows",
        type=int,
        help="consultations for the dashboard (0: skip); 100,000, or 1,000,000 with --dashboard",
    )
    parser.add_argument("--repeat", type=int, help="warm fetches per view: 5, or 20 with --dashboard")
    parser.add_argument("--pg", default=os.environ.get("POLICEBOT_TEST_PG"), help="PostgreSQL server URL")
    parser.add_argument("--skip-sqlite", action="store_true")
    dashboard = parser.add_argument_group("--dashboard: the admin dashboard at scale on PostgreSQL alone")
    dashboard.add_argument("--dashboard", action="store_true")
    dashboard.add_argument(
        "--url",
        default=os.environ.get("POLICEBOT_BENCH_DASHBOARD_URL", DASHBOARD_URL),
        help="the database to load (created, and dropped afterwards unless --keep)",
    )
    dashboard.add_argument("--escalated", type=float, default=0.10, help="share of consultations escalated")
    dashboard.add_argument("--browser-repeat", type=int, default=10, help="warm page views in Chromium")
    dashboard.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "policebot-dashboard-bench",
        help="the app's data folder, kept for the next run (its fitted matcher and triage)",
    )
    dashboard.add_argument("--keep", action="store_true", help="keep the database afterwards")
    dashboard.add_argument(
        "--reuse", action="store_true", help="time the rows a kept database holds, no load"
    )
    args = parser.parse_args()
    if args.dashboard:
        args.rows = 1_000_000 if args.rows is None else args.rows
        args.repeat = 20 if args.repeat is None else args.repeat
        return run_dashboard(args)
    args.rows = 100_000 if args.rows is None else args.rows
    args.repeat = 5 if args.repeat is None else args.repeat
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server and load generator are two processes"
    )

    with tempfile.TemporaryDirectory(prefix="policebot-web-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        if not args.skip_sqlite:
            run_one("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args, data_dir)
        if args.pg:
            with throwaway_database(args.pg, "policebot_bench") as url:
                run_one("postgresql", url, args, data_dir)
        else:
            print("postgresql skipped: pass --pg URL or set POLICEBOT_TEST_PG")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
