"""Prometheus metrics on a registry of the app's own, so tests can build many apps in one process.

Two kinds: counters and histograms the app updates as things happen (questions, deliveries, urgent
consultations, server errors), and gauges read when Prometheus scrapes (what waits in the database,
the pool, Redis). The scraped gauges come from `Scrape`, taken by the /metrics handler just before
rendering; a source that did not answer leaves its gauges out rather than repeat stale values, and
says so in policebot_metrics_source_up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.core.models import Backlog
from bot.core.ports import AttemptResult

# Matching takes milliseconds; a recorded consultation adds a database write (tens of ms on a disk).
ASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class Scrape:
    """What the /metrics handler read for this scrape. None: that source did not answer in time."""

    now: datetime
    backlog: Backlog | None
    pool_in_use: int | None = None  # None also when the pool cannot tell
    redis_up: bool | None = None  # None when no Redis is configured


class WebMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, live_streams: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.consultations = Counter(
            "policebot_consultations",
            "Questions asked on the web and the API, by outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.ask_seconds = Histogram(
            "policebot_ask_seconds",
            "Time to answer a question, matching and recording included",
            ["channel"],
            buckets=ASK_BUCKETS,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "policebot_deliveries",
            "Outbox delivery attempts recorded by this process's delivery loop, by channel and result "
            "(sent, retried, blocked, gave_up)",
            ["channel", "result"],
            registry=self.registry,
        )
        self.urgent_consultations = Counter(
            "policebot_urgent_consultations",
            "Consultations triaged as urgent in this process, by kind (crime, fire, medical, ...)",
            ["kind"],
            registry=self.registry,
        )
        self.server_errors = Counter(
            "policebot_http_server_errors",
            "HTTP responses with a 5xx status, by route template and status",
            ["route", "status"],
            registry=self.registry,
        )
        live = Gauge(
            "policebot_live_streams", "Residents' pages listening for answers", registry=self.registry
        )
        live.set_function(live_streams)
        self._scraped = _ScrapedGauges()
        self.registry.register(self._scraped)

    # OperationsEvents: the services report through the container's signals.
    def delivery(self, channel: str, result: AttemptResult) -> None:
        self.deliveries.labels(channel, str(result)).inc()

    def urgent(self, kind: str) -> None:
        self.urgent_consultations.labels(kind).inc()

    def render(self, scrape: Scrape) -> bytes:
        # No await between taking the scrape and rendering it: concurrent scrapes cannot interleave.
        self._scraped.latest = scrape
        return generate_latest(self.registry)


class _ScrapedGauges(Collector):
    """The gauges read at scrape time, rebuilt from the latest Scrape on every collection."""

    def __init__(self) -> None:
        self.latest: Scrape | None = None

    def describe(self) -> list[Metric]:
        return []  # the families vary with what answered: nothing to check for clashes up front

    def collect(self) -> Iterator[Metric]:
        scrape = self.latest
        if scrape is None:
            return
        yield _sources(scrape)
        if scrape.backlog is not None:
            yield from _backlog(scrape.backlog, scrape.now)
        if scrape.pool_in_use is not None:
            yield GaugeMetricFamily(
                "policebot_db_pool_connections_in_use",
                "Database connections checked out of this process's pool",
                value=scrape.pool_in_use,
            )


def _sources(scrape: Scrape) -> Metric:
    family = GaugeMetricFamily(
        "policebot_metrics_source_up",
        "Whether a source answered this scrape in time (1) or not (0): database always, redis when "
        "REDIS_URL is set. The gauges read from a source that did not answer are left out",
        labels=["source"],
    )
    family.add_metric(["database"], 1 if scrape.backlog is not None else 0)
    if scrape.redis_up is not None:
        family.add_metric(["redis"], 1 if scrape.redis_up else 0)
    return family


def _backlog(backlog: Backlog, now: datetime) -> Iterator[Metric]:
    waiting = GaugeMetricFamily(
        "policebot_open_escalations",
        "Escalations waiting for an officer (open: unclaimed; claimed: being worked on)",
        labels=["status"],
    )
    for status, count in backlog.open_escalations.items():
        waiting.add_metric([status], count)
    yield waiting
    yield GaugeMetricFamily(
        "policebot_outbox_pending",
        "Outbox messages not delivered yet, those waiting to retry included",
        value=backlog.outbox_pending,
    )
    age = (now - backlog.outbox_oldest).total_seconds() if backlog.outbox_oldest else 0.0
    yield GaugeMetricFamily(
        "policebot_outbox_oldest_pending_age_seconds",
        "Age of the oldest undelivered outbox message (0 when none waits)",
        value=max(age, 0.0),
    )
    yield GaugeMetricFamily(
        "policebot_webhook_inbox_pending",
        "Telegram webhook updates stored and not handled yet",
        value=backlog.inbox_pending,
    )
