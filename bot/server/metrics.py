"""GET /metrics (PRODUCT.md §8): Prometheus text for requests bearing RAPPORT_METRICS_TOKEN.

The outbox figures are read from the database at each scrape, so every process reports the same ones; the
request latency histogram is this process's own.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.clock import Clock
from storage.markers import last_marker
from storage.outbox import outbox_figures
from storage.workspaces import uninstalled_count

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = ("waiting", "pending", "sending", "unknown", "sent", "failed", "dropped")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class OutboxCollector(Collector):
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        with Session(self.engine) as session:
            counts, oldest = outbox_figures(session)
            swept = last_marker(session, "sweep")
            uninstalled = uninstalled_count(session)
        nudges = GaugeMetricFamily("rapport_nudges", "Nudges by status; waiting: due, but not on a card yet (focus)",
                                   labels=["status"])
        for status in STATUSES:
            nudges.add_metric([status], counts.get(status, 0))
        yield nudges
        yield GaugeMetricFamily("rapport_oldest_unsent_nudge_seconds",
                                "Age of the oldest nudge or digest ready to post and not posted yet (0: none)",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield GaugeMetricFamily("rapport_last_sweep_timestamp_seconds",
                                "When a sweep last finished, in any process (Unix time; 0: never)",
                                value=swept.timestamp() if swept else 0.0)
        yield GaugeMetricFamily("rapport_uninstalled_workspaces",
                                "Workspaces where Slack says Rapport was uninstalled or its bot token revoked: nothing "
                                "is planned or posted there (single-workspace mode: alert when above 0)",
                                value=uninstalled)


class Metrics:
    def __init__(self, engine: Engine, token: str, clock: Clock) -> None:
        self._token = token.encode()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(OutboxCollector(engine, clock))
        self.latency = Histogram("rapport_request_duration_seconds", "Time this process took to answer a request",
                                 ["path"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def allowed(self, authorization: str) -> bool:
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)

    def render(self) -> bytes:
        return generate_latest(self.registry)
