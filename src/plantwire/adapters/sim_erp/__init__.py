"""Adapter to the ERP simulator (SAP-like): source of released orders and approved POs; sink for
goods movements, reversals, financial postings and PO confirmations."""

from plantwire.adapters.sim_erp.sink import ErpSink
from plantwire.adapters.sim_erp.source import erp_source

__all__ = ["ErpSink", "erp_source"]
