"""Adapter to the WMS simulator: source of goods receipts and stock transfers; sink for staging,
put-away and lot blocks."""

from plantwire.adapters.sim_wms.sink import WmsSink
from plantwire.adapters.sim_wms.source import wms_source

__all__ = ["WmsSink", "wms_source"]
