"""Adapter to the MES simulator: source of consumptions and production reports; sink for order
downloads."""

from plantwire.adapters.sim_mes.sink import MesSink
from plantwire.adapters.sim_mes.source import mes_source

__all__ = ["MesSink", "mes_source"]
