"""Sparkplug B host: births, deaths, aliases, seq and bdSeq, metric changes to events by rules."""
