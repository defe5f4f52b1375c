"""B2MML V0600 / V0701 (and V0401 read-only): ProductionSchedule, ProductionPerformance,
OperationsSchedule, OperationsPerformance and MaterialLot, validated against the MESA XSDs."""
