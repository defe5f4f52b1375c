"""Storage backends: journals and state stores that all pass the same contract suites."""
