"""Prometheus metrics, gathered at scrape time from the hub (no global registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from plantwire.bootstrap import Hub

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HubCollector(Collector):
    """Ingest, journal and delivery figures of one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Read the figures now."""
        hub = self.hub
        ingested = CounterMetricFamily("plantwire_ingest_events", "Events received by outcome",
                                       labels=["status"])
        for status in ("accepted", "duplicate", "rejected", "conflict"):
            ingested.add_metric([status], hub.ingest.counts.get(status, 0))
        yield ingested
        yield CounterMetricFamily("plantwire_journal_commits", "Journal transactions (fsyncs)",
                                  value=hub.ingest.committer.commits)
        yield CounterMetricFamily("plantwire_journal_committed_events", "Events appended via commits",
                                  value=hub.ingest.committer.committed_rows)
        st = hub.queries.status()
        yield GaugeMetricFamily("plantwire_journal_head", "Highest journal sequence",
                                value=st["journal_head"])
        yield GaugeMetricFamily("plantwire_dead_letters_open", "Open dead letters",
                                value=st["dead_letters_open"])
        yield from self._subscribers(st["subscribers"])

    def _subscribers(self, subs: dict[str, dict[str, float | None]]
                     ) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        now = self.hub.clock.now()
        gauges = {k: GaugeMetricFamily(f"plantwire_subscriber_{k}", f"Subscriber {k}",
                                       labels=["subscriber"])
                  for k in ("position", "lag", "retrying", "dead", "blocked")}
        age = GaugeMetricFamily("plantwire_subscriber_sync_lag_seconds",
                                "Age of the oldest event the subscriber has not taken yet",
                                labels=["subscriber"])
        counters = {k: CounterMetricFamily(f"plantwire_subscriber_{k}", f"Events {k}",
                                           labels=["subscriber"])
                    for k in ("delivered", "dead_lettered", "discarded")}
        for name, s in subs.items():
            for k, g in gauges.items():
                g.add_metric([name], s[k] or 0)
            for k, c in counters.items():
                c.add_metric([name], s[k] or 0)
            oldest = s["oldest_waiting_at"]
            age.add_metric([name], max(0.0, now - oldest) if oldest else 0.0)
        yield from gauges.values()
        yield from counters.values()
        yield age


def metrics_endpoint(hub: Hub) -> Callable[[], Response]:
    """A handler that renders the hub's metrics in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub))

    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    return metrics
