"""MQTT with plain JSON payloads: declared topic mappings to canonical events, and a publishing sink."""
