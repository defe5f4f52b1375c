"""OPC UA: subscribe to a machine's nodes, map their changes to events by the shared rules."""
