"""The HTTP API: durable event ingest and the operator endpoints."""
