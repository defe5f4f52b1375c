"""Adapter to the supplier portal simulator: source of acknowledgments and delay notices; sink for
purchase orders."""

from plantwire.adapters.sim_supplier.sink import SupplierSink
from plantwire.adapters.sim_supplier.source import supplier_source

__all__ = ["SupplierSink", "supplier_source"]
