"""The plant edge agent: a durable outbox in front of the hub, for plant links that drop.

Local sources (HTTP, MQTT, Sparkplug B, OPC UA adapters) hand events to the outbox's intake,
which validates them against the contract catalog and fsyncs them before it answers; a forwarder
sends them to the hub's batch ingest when the link is up, by priority and in per-key order.
"""
