"""The governed mapping layer: cross-references, units, value maps, data-quality rules, ownership.

Everything here is data kept in the StateStore (versioned where it matters) plus pure functions that
judge an event against it. `checks.MappingChecks` is the one object ingest calls: it reads the data
in one state transaction per event and answers findings with a severity (reject, quarantine, warn).

- ``xref``: system id <-> golden id per system and kind, every change a new version (who, when, why).
- ``uom``: conversions (global and per item) and per-unit rounding rules; exact or declared, never guessed.
- ``valuemaps``: partner code -> canonical code (status codes, plant codes).
- ``rules``: data-quality rules per contract, loaded from TOML or JSON, evaluated by pure functions.
- ``ownership``: which system owns which attribute; non-owner updates refused; no echo loops.
- ``review``: the queue of quarantined events, approved into the journal or rejected by a person.
"""
