"""Prometheus metrics on a registry of the app's own, so tests can build many apps in one process."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Matching takes milliseconds; a recorded consultation adds a database write (tens of ms on a disk).
ASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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
        self.open_escalations = Gauge(
            "policebot_open_escalations",
            "Escalations waiting for an officer (open: unclaimed; claimed: being worked on)",
            ["status"],
            registry=self.registry,
        )
        live = Gauge(
            "policebot_live_streams", "Residents' pages listening for answers", registry=self.registry
        )
        live.set_function(live_streams)

    def render(self, open_counts: Mapping[str, int]) -> bytes:
        for status, count in open_counts.items():
            self.open_escalations.labels(status).set(count)
        return generate_latest(self.registry)
