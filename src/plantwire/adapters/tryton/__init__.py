"""Adapter to a Tryton ERP over JSON-RPC: source of approved POs, released productions and receipts;
sink for goods movements, production postings, transfers and quality blocks."""

from plantwire.adapters.tryton.sink import TrytonSink
from plantwire.adapters.tryton.source import TrytonSource, tryton_source

__all__ = ["TrytonSink", "TrytonSource", "tryton_source"]
