"""The admin dashboard at scale (`python benchmarks/web_load.py --dashboard`): a year of a busy city on
PostgreSQL, then every request an admin makes from the dashboard, timed on the real app."""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import create_database, drop_database
from web_load import ADMIN_PASSWORD, serve

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ---- the dashboard at scale (--dashboard) ----------------------------------------------------------
#
# A year of a busy city on PostgreSQL, loaded by set-based SQL (web_load's own loader spends its time in
# Python building tuples), then every request an admin makes from the dashboard, timed on the real app:
# cold (the first after the app started and the admin signed in) and warm, and in Chromium when there
# is one: first contentful paint and the charts drawn.

DASHBOARD_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_dashboard"
DASHBOARD_RESIDENTS = 20_000
OFFICERS = ["李警官", "王警官", "张警官", "刘警官", "陈警官", "杨警官", "赵警官", "黄警官"]
TARGET_MS = 1000.0

# Residents alternate web and Telegram accounts; a consultation's channel is its resident's.
RESIDENTS_SQL = """
INSERT INTO residents (id, channel, channel_user_id, created_at, updated_at, language, blocked)
SELECT $1 + n, CASE WHEN n % 2 = 0 THEN 'web' ELSE 'telegram' END, 'bulk-' || ($1 + n), $2, $2, 'zh', false
FROM generate_series(0, $3 - 1) AS n
"""

# $1 first id, $2 rows, $3 local midnight a year ago (UTC), $4 now, $5 today's local midnight (UTC),
# $6 communities, $7 entries, $8 question texts, $9 first resident, $10 residents, $11 escalated share.
# Days are uniform over the year and today; within a day 90% fall in office hours (07:00-22:00 local).
# Rows drawn later than now fall into the part of today that has passed, so today is as busy as any
# day: the dashboard counts today in consultations itself (no rollup row yet). Communities and entries
# are skewed (a few topics carry most questions), as in a real question log. Ids follow created_at,
# as rows written live do: the table's physical order is the arrival order.
CONSULTATIONS_SQL = """
INSERT INTO consultations (id, community, resident_id, channel, text_masked, outcome, entry_id, score,
                           urgent, urgent_kind, via_menu, candidates, created_at)
SELECT $1 + row_number() OVER (ORDER BY at) - 1, community, resident,
       CASE WHEN resident % 2 = 0 THEN 'web' ELSE 'telegram' END,
       text, outcome, CASE WHEN outcome = 'answer' THEN entry END, score,
       urgent, CASE WHEN urgent THEN 'crime' END, via_menu, '', at
FROM (
    SELECT CASE WHEN t > $4::timestamptz THEN $4 - r_today * ($4 - $5::timestamptz) ELSE t END AS at,
           ($6::text[])[1 + floor(cardinality($6::text[]) * power(r_community, 1.5))::int] AS community,
           ($7::text[])[1 + floor(cardinality($7::text[]) * power(r_entry, 2))::int] AS entry,
           ($8::text[])[1 + floor(cardinality($8::text[]) * r_text)::int] AS text,
           $9 + floor($10 * r_resident)::int AS resident,
           CASE WHEN r_outcome < $11 THEN 'escalate'
                WHEN r_outcome < $11 + 0.2 THEN 'clarify' ELSE 'answer' END AS outcome,
           round((100 * r_score)::numeric, 1)::float8 AS score,
           r_outcome < $11 * 0.02 AS urgent,
           r_outcome >= $11 + 0.2 AND r_menu < 0.3 AS via_menu
    FROM (
        SELECT $3::timestamptz + floor(random() * 366) * interval '1 day'
                  + CASE WHEN random() < 0.9 THEN interval '7 hours' + random() * interval '15 hours'
                         ELSE random() * interval '24 hours' END AS t,
               random() AS r_today, random() AS r_community, random() AS r_entry, random() AS r_text,
               random() AS r_resident, random() AS r_outcome, random() AS r_score, random() AS r_menu
        FROM generate_series(1, $2)
    ) AS drawn
) AS rows
ORDER BY at
"""

# Tickets for the escalated consultations: 3% open, 3% claimed, 60% answered, the rest closed (mostly
# after an answer; by phone, referred, duplicate or spam otherwise). Urgent ones are due in 15 minutes,
# the others in a day; some answers come late. Nothing is dated after now. $1 first consultation id,
# $2 officers, $3 now.
ESCALATIONS_SQL = """
INSERT INTO escalations (consultation_id, community, status, officer, answer, created_at, due_at,
                         claimed_at, answered_at, closed_at, reminded, close_reason, close_note)
SELECT id, community, status, CASE WHEN status <> 'open' THEN officer END,
       CASE WHEN answered THEN '请携带户口簿和本人身份证到社区警务室办理，工作日 9:00-17:00。' END,
       created_at, due_at,
       CASE WHEN status <> 'open' THEN claimed_at END,
       CASE WHEN answered THEN answered_at END,
       CASE WHEN status = 'closed'
            THEN LEAST(GREATEST(answered_at, claimed_at) + r_close * interval '2 days', $3) END,
       0, reason,
       CASE WHEN reason IN ('phone', 'referred') THEN '已电话联系群众说明办理流程。' END
FROM (
    SELECT *, status IN ('answered', 'closed') AND coalesce(reason, 'answered') = 'answered' AS answered
    FROM (
        SELECT c.id, c.community, c.created_at, r_close,
               c.created_at + CASE WHEN c.urgent THEN interval '15 minutes'
                                   ELSE interval '1 day' END AS due_at,
               LEAST(c.created_at + (0.05 + 4 * r_claim) * interval '1 hour', $3) AS claimed_at,
               LEAST(c.created_at + (0.2 + 30 * r_answer) * interval '1 hour', $3) AS answered_at,
               ($2::text[])[1 + floor(cardinality($2::text[]) * r_officer)::int] AS officer,
               CASE WHEN r_status < 0.03 THEN 'open' WHEN r_status < 0.06 THEN 'claimed'
                    WHEN r_status < 0.66 THEN 'answered' ELSE 'closed' END AS status,
               CASE WHEN r_status < 0.66 THEN NULL WHEN r_reason < 0.8 THEN 'answered'
                    WHEN r_reason < 0.88 THEN 'phone' WHEN r_reason < 0.92 THEN 'referred'
                    WHEN r_reason < 0.96 THEN 'duplicate' ELSE 'spam' END AS reason
        FROM (
            SELECT c.*, random() AS r_status, random() AS r_reason, random() AS r_claim,
                   random() AS r_answer, random() AS r_close, random() AS r_officer
            FROM consultations AS c
            WHERE c.id >= $1 AND c.outcome = 'escalate'
        ) AS c
    ) AS t
) AS e
ORDER BY created_at
"""

# Votes: 5% of the questions answered outright rated helpful or not; half the tickets with an answer
# rated for satisfaction (70% satisfied, 20% basically, 10% not).
HELPFULNESS_SQL = """
INSERT INTO feedback (consultation_id, kind, value, created_at)
SELECT id, 'helpfulness', CASE WHEN random() < 0.8 THEN 'useful' ELSE 'not_useful' END,
       LEAST(created_at + interval '2 minutes', $2)
FROM consultations
WHERE id >= $1 AND outcome = 'answer' AND NOT via_menu AND random() < 0.05
"""
SATISFACTION_SQL = """
INSERT INTO feedback (escalation_id, kind, value, created_at)
SELECT e.id, 'satisfaction',
       CASE WHEN r < 0.7 THEN 'satisfied' WHEN r < 0.9 THEN 'basically' ELSE 'unsatisfied' END,
       LEAST(e.answered_at + interval '3 hours', $2)
FROM (SELECT *, random() AS r FROM escalations) AS e
JOIN consultations AS c ON c.id = e.consultation_id
WHERE c.id >= $1 AND e.answered_at IS NOT NULL AND random() < 0.5
"""


async def prepare_dashboard(url: str, data_dir: Path) -> None:
    """The app's own schema (migrate), then its start-up work (communities from the knowledge base, the
    rollups' day offset stored) and an admin to sign in as."""
    from bot.core.models import Role
    from bot.settings import Settings
    from bot.storage.schema import migrate
    from bot.wiring import build_container

    await migrate(url)
    container = await build_container(Settings(database_url=url, data_dir=data_dir, encoder="none"))
    try:
        if await container.staff.authenticate("bench-admin", ADMIN_PASSWORD) is None:
            await container.staff.add(
                "基准管理员", Role.ADMIN, username="bench-admin", password=ADMIN_PASSWORD
            )
    finally:
        await container.close()


async def bulk_load(url: str, rows: int, escalated: float) -> dict[str, float]:
    """Consultations, tickets and votes by INSERT ... SELECT over generate_series, then the rollups
    rebuilt as after any bulk load (rollups.rebuild at the stored day offset) and the planner's
    statistics refreshed. Seconds per step."""
    from zoneinfo import ZoneInfo

    from bot.kb.loader import load_knowledge
    from bot.settings import Settings
    from bot.storage import rollups
    from bot.storage.db import DatabaseLimits, create_engine

    settings = Settings()
    kb = load_knowledge(settings.knowledge_dir)
    texts = sorted({q for e in kb.entries.values() for q in e.questions})
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    midnight = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    year_ago = (midnight - timedelta(days=365)).astimezone(UTC)
    steps: dict[str, float] = {}
    engine = create_engine(url, limits=DatabaseLimits(statement_seconds=3600))  # not a request's 15 s
    try:
        async with engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("SELECT setseed(0.11)")  # the same draws on every run
            first_id = await raw.fetchval("SELECT coalesce(max(id), 0) + 1 FROM consultations")
            first_resident = await raw.fetchval("SELECT coalesce(max(id), 0) + 1 FROM residents")
            started = time.perf_counter()
            await raw.execute(RESIDENTS_SQL, first_resident, now, DASHBOARD_RESIDENTS)
            await raw.execute(
                CONSULTATIONS_SQL, first_id, rows, year_ago, now, midnight.astimezone(UTC),
                sorted(kb.communities), sorted(kb.entries), texts, first_resident, DASHBOARD_RESIDENTS,
                escalated,
            )  # fmt: skip
            steps["consultations"] = time.perf_counter() - started
            started = time.perf_counter()
            await raw.execute(ESCALATIONS_SQL, first_id, OFFICERS, now)
            await raw.execute(HELPFULNESS_SQL, first_id, now)
            await raw.execute(SATISFACTION_SQL, first_id, now)
            steps["tickets and votes"] = time.perf_counter() - started
            for name in ("consultations", "residents"):
                # Ids were written explicitly: move the sequence past them.
                sequence = f"pg_get_serial_sequence('{name}', 'id')"
                await raw.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))")
        started = time.perf_counter()
        async with engine.begin() as conn:
            await rollups.rebuild(conn)  # at the offset the app stored on its first start
        steps["rollups rebuilt"] = time.perf_counter() - started
        started = time.perf_counter()
        async with engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside one
            for name in ("residents", "consultations", "escalations", "feedback", *rollups.TABLES):
                await conn.exec_driver_sql(f"VACUUM ANALYZE {name}")  # as autovacuum would, soon after
        steps["vacuum analyze"] = time.perf_counter() - started
    finally:
        await engine.dispose()
    return steps


@dataclass
class Case:
    label: str
    path: str


@dataclass
class Timing:
    cold_ms: float
    warm_ms: list[float]
    size: int = 0
    first_byte_ms: list[float] = field(default_factory=list)  # every request's, cold first

    def p50(self) -> float:
        return statistics.median(self.warm_ms)

    def p95(self) -> float:
        return nearest_rank(self.warm_ms, 0.95)


def nearest_rank(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


async def busiest(url: str) -> tuple[str, str, str]:
    """The busiest whole day and topic, and the busiest community, from the rollups: what an admin
    clicks through to on a year's dashboard."""
    from sqlalchemy import text

    from bot.storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            day = await conn.scalar(
                text(
                    "SELECT day FROM consultation_days GROUP BY day"
                    " ORDER BY sum(consultations - menu_views) DESC, day LIMIT 1"
                )
            )
            entry = await conn.scalar(
                text(
                    "SELECT entry_id FROM entry_days GROUP BY entry_id"
                    " ORDER BY sum(consultations) DESC, entry_id LIMIT 1"
                )
            )
            community = await conn.scalar(
                text(
                    "SELECT community FROM consultation_days GROUP BY community"
                    " ORDER BY sum(consultations) DESC LIMIT 1"
                )
            )
    finally:
        await engine.dispose()
    return day, entry, community


def dashboard_cases(today: date, day: str, entry: str, community: str) -> list[Case]:
    year = f"since={today - timedelta(days=364)}&until={today}"
    last_month_end = today.replace(day=1) - timedelta(days=1)
    month = f"since={last_month_end.replace(day=1)}&until={last_month_end}"
    month_ago = f"since={today - timedelta(days=29)}&until={today}"
    return [
        Case("GET /admin (30 days, all)", "/admin"),
        Case("GET /admin (year, all)", f"/admin?{year}"),
        Case("GET /admin (year, one community)", f"/admin?{year}&community={community}"),
        Case("GET /api/v1/stats (30 days, all)", "/api/v1/stats"),
        Case(
            "GET /api/v1/stats (year, all)",
            f"/api/v1/stats?from={today - timedelta(days=364)}&to={today}",
        ),
        Case(
            "GET /api/v1/stats (year, one community)",
            f"/api/v1/stats?from={today - timedelta(days=364)}&to={today}&community={community}",
        ),
        # The dashboard's own links: a day's bar (questions only), a topic's bar (views too).
        Case(f"GET /admin/questions day={day}", f"/admin/questions?{year}&day={day}"),
        Case(
            f"GET /admin/questions entry={entry} (30 days)",
            f"/admin/questions?{month_ago}&entry={entry}&views=1",
        ),
        Case(f"GET /admin/questions entry={entry} (year)", f"/admin/questions?{year}&entry={entry}&views=1"),
        Case("GET /admin/export/consultations.csv (a month)", f"/admin/export/consultations.csv?{month}"),
    ]


class AppProcess:
    """The app in a process of its own, started afresh for each cold figure."""

    def __init__(self, url: str, data_dir: Path, encoder: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Queue(), context.Event()
        self._process = context.Process(
            target=serve, args=(url, str(data_dir), self._ready, self._stop, encoder), daemon=True
        )

    def __enter__(self) -> str:
        self._process.start()
        return f"http://127.0.0.1:{self._ready.get(timeout=300)}"

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()


async def sign_in(session: Any, base: str) -> None:
    page = await (await session.get(f"{base}/login")).text()
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    # Not followed: the redirect is to /admin, whose first fetch is the cold figure.
    form = {"csrf": token, "username": "bench-admin", "password": ADMIN_PASSWORD}
    async with session.post(f"{base}/login", data=form, allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"sign-in failed: {response.status} {await response.text()}")


async def time_requests(base: str, path: str, repeat: int) -> Timing:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await sign_in(session, base)
        samples, first_bytes, size = [], [], 0
        for _ in range(1 + repeat):
            started = time.perf_counter()
            async with session.get(f"{base}{path}") as response:
                head = await response.content.readany()
                first_bytes.append(1000 * (time.perf_counter() - started))
                body = head + await response.read()  # the whole body: the export streams
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
            samples.append(1000 * (time.perf_counter() - started))
            size = len(body)
    return Timing(samples[0], samples[1:], size, first_bytes)


# Set before the page's scripts run: the moment dashboard.js marks the charts drawn.
DRAWN_PROBE = """
window.__drawnAt = null;
new MutationObserver((_, observer) => {
  const box = document.getElementById("charts");
  if (box && box.dataset.drawn === "true") {
    window.__drawnAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-drawn"] });
"""
PAINT_FIGURES = """() => {
  const paint = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/stats"));
  return {
    html: nav ? nav.responseEnd : null,
    fcp: paint ? paint.startTime : null,
    stats_sent: api ? api.startTime : null,
    stats_received: api ? api.responseEnd : null,
    drawn: window.__drawnAt,
  };
}"""
# What the browser figures are called in the output, in the order things happen.
BROWSER_FIGURES = {
    "html": "HTML received",
    "fcp": "first contentful paint",
    "stats_sent": "/api/v1/stats asked",
    "stats_received": "/api/v1/stats received",
    "drawn": "charts drawn",
}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def browser_available() -> str | None:
    """Why the browser figures cannot be taken here, or None."""
    if not CHROMIUM.exists():
        return f"no {CHROMIUM}"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


async def time_browser(base: str, path: str, repeat: int) -> dict[str, Timing]:
    """A fresh browser signs in, then opens `path` 1 + `repeat` times: the first is cold (the app's
    first dashboard since it started, and an empty browser cache), the rest warm. Milliseconds from
    the navigation's start: the HTML received, first contentful paint, the charts drawn."""
    from playwright.async_api import async_playwright

    figures: dict[str, list[float]] = {key: [] for key in BROWSER_FIGURES}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            await context.add_init_script(DRAWN_PROBE)
            page = await context.new_page()
            # Signed in to a light page, so that the dashboard's first view is the measured one.
            await page.goto(f"{base}/login?next=/account/password")
            await page.fill('input[name="username"]', "bench-admin")
            await page.fill('input[name="password"]', ADMIN_PASSWORD)
            await page.click("form.login button")
            await page.wait_for_url("**/account/password")
            for _ in range(1 + repeat):
                await page.goto(f"{base}{path}", wait_until="load")
                # A selector, not a predicate: the page's CSP forbids the eval a predicate needs.
                await page.wait_for_selector('#charts[data-drawn="true"]', state="attached", timeout=120_000)
                values = await page.evaluate(PAINT_FIGURES)
                for key in figures:
                    figures[key].append(values[key])
        finally:
            await browser.close()
    return {key: Timing(values[0], values[1:]) for key, values in figures.items()}


def print_timing(label: str, timing: Timing, extra: str = "") -> None:
    slowest = max(timing.cold_ms, timing.p95())
    verdict = "≤ 1 s" if slowest <= TARGET_MS else "OVER 1 s"
    print(
        f"  {label:62} cold {timing.cold_ms:7.0f} ms   warm p50 {timing.p50():7.0f} ms"
        f"  p95 {timing.p95():7.0f} ms   {verdict}{extra}"
    )


def run_dashboard(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from bot.channels.web.filters import today_in
    from bot.settings import Settings

    url = args.url
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {shown}; app with ENCODER=none")
    created = asyncio.run(create_database(url, fresh=not args.reuse))
    try:
        # Kept between runs: the matcher and triage the app fits on its first start (minutes) are reused.
        data_dir = args.data_dir
        asyncio.run(prepare_dashboard(url, data_dir))
        if created:
            started = time.perf_counter()
            steps = asyncio.run(bulk_load(url, args.rows, args.escalated))
            print(
                f"loaded {args.rows:,} consultations ({args.escalated:.0%} escalated) in "
                f"{time.perf_counter() - started:.1f} s: "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
            )
        print("in the database: " + ", ".join(f"{n:,} {t}" for t, n in asyncio.run(row_counts(url))))
        day, entry, community = asyncio.run(busiest(url))
        today = today_in(Settings().timezone)
        print(f"busiest day {day}, topic {entry}, community {community}; today {today}")
        print(f"each figure: a fresh app process, signed in, then 1 cold + {args.repeat} warm requests")
        over: list[str] = []
        for case in dashboard_cases(today, day, entry, community):
            with AppProcess(url, data_dir, "none") as base:
                timing = asyncio.run(time_requests(base, case.path, args.repeat))
            streamed = ""
            if case.path.startswith("/admin/export/"):  # a download: when it starts matters too
                first = timing.first_byte_ms
                streamed = (
                    f", first bytes cold {first[0]:.0f} ms, warm p50 {statistics.median(first[1:]):.0f} ms"
                )
            print_timing(case.label, timing, f"   {timing.size / 1024:,.0f} KiB{streamed}")
            if max(timing.cold_ms, timing.p95()) > TARGET_MS:
                over.append(case.label)
        missing = browser_available()
        if missing:
            print(f"browser figures skipped: {missing}")
        else:
            print(f"Chromium: a fresh browser and app each, 1 cold + {args.browser_repeat} warm page views")
            year = f"since={today - timedelta(days=364)}&until={today}"
            pages = {
                "/admin (30 days, all)": "/admin",
                "/admin (year, all)": f"/admin?{year}",
                "/admin (year, one community)": f"/admin?{year}&community={community}",
            }
            for label, path in pages.items():
                with AppProcess(url, data_dir, "none") as base:
                    figures = asyncio.run(time_browser(base, path, args.browser_repeat))
                for key, name in BROWSER_FIGURES.items():
                    print_timing(f"{label} {name}", figures[key])
                    if key in ("fcp", "drawn") and max(figures[key].cold_ms, figures[key].p95()) > TARGET_MS:
                        over.append(f"{label} {name}")
        print("over 1 s: " + ("; ".join(over) if over else "none"))
    finally:
        if args.keep:
            print(f"kept {shown}")
        else:
            asyncio.run(drop_database(url))
    return 0


async def row_counts(url: str) -> list[tuple[str, int]]:
    from sqlalchemy import text

    from bot.storage.db import create_engine

    engine = create_engine(url)
    tables = ("consultations", "escalations", "feedback", "consultation_days", "entry_days", "knowledge_gaps")
    try:
        async with engine.connect() as conn:
            return [(t, await conn.scalar(text(f"SELECT count(*) FROM {t}"))) for t in tables]
    finally:
        await engine.dispose()
