"""Use cases: ingest, delivery, dead letters, replay, queries and API keys."""
