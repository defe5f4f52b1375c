"""The canonical manufacturing model and event catalog: pure, no I/O, no clock, no logging."""
