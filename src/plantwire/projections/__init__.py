"""Read models built from the journal: each one a subscriber that replay can rebuild."""
