"""The `plantwire` command: serve, worker, keys, events, dlq, replay, schema, status, demo."""

from __future__ import annotations

from plantwire.cli.app import app


def main() -> None:
    """Entry point of the `plantwire` console script."""
    app()


__all__ = ["app", "main"]
