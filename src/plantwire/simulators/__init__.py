"""Realistic stand-ins for the systems plantwire connects: used by the demo, tests and benchmarks."""
