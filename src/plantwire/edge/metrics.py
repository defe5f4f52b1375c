"""Prometheus metrics of one edge agent, in its own registry (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

KINDS = ("backlog-count", "backlog-age", "outbox-full")


class EdgeMetrics:
    """Gauges for backlog, link and alarms; counters for intake and settlement."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.backlog = Gauge("plantwire_edge_backlog_events", "Events waiting for the hub", ["priority"],
                             registry=r)
        self.oldest = Gauge("plantwire_edge_backlog_oldest_seconds", "Age of the oldest waiting event",
                            ["priority"], registry=r)
        self.link_up = Gauge("plantwire_edge_link_up", "1 when the last hub call succeeded", registry=r)
        self.alarm = Gauge("plantwire_edge_alarm", "1 while an alarm is raised", ["kind"], registry=r)
        self.accepted = Counter("plantwire_edge_events_accepted", "Events stored in the outbox",
                                registry=r)
        self.refused = Counter("plantwire_edge_intake_refused", "Intake requests refused (outbox full)",
                               registry=r)
        self.outcome = Counter("plantwire_edge_events_settled", "Events the hub answered for",
                               ["outcome"], registry=r)
        self.link_failures = Counter("plantwire_edge_link_failures", "Failed calls to the hub", registry=r)
        for kind in KINDS:
            self.alarm.labels(kind).set(0)

    def settled(self, acked: int, failed: int) -> None:
        """Count what the hub answered and mark the link up."""
        self.outcome.labels("acknowledged").inc(acked)
        self.outcome.labels("failed").inc(failed)
        self.link_up.set(1)

    def link_failure(self) -> None:
        """Count a failed hub call and mark the link down."""
        self.link_failures.inc()
        self.link_up.set(0)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
