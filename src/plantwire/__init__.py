"""Plantwire: an integration hub that keeps MES, WMS, ERP and suppliers in sync through events."""

__version__ = "0.1.0"
