"""CSV / flat files: a watched folder whose files become canonical events by a declared column mapping.

``translate`` holds the declared mapping and the pure row -> CloudEvent functions; ``client`` the
file-system boundary (listing, settling, moving, reports); ``source`` the once-per-content-hash
processing loop; ``sink`` writes canonical commands as CSV files for legacy systems to pick up.
"""
