"""ASC X12 (004010 and 005010): 850, 855, 856, 810 to and from canonical events, with 997s.

- ``tokenizer``: delimiters from the ISA, bytes to segments, located problems.
- ``segments``: segment and element definitions as data (from StAEDI and pyx12's dictionary).
- ``envelope``: ISA/GS/ST nesting, counts and control numbers; writing interchanges.
- ``validate``: element and structure checks that become 997 AK3/AK4 codes.
- ``ack``: the 997 for every received functional group, and reading received 997s.
- ``translate``: pure mapping between transaction sets and canonical events and commands.
- ``client`` / ``source`` / ``sink``: the file drop, inbound (events + 997 out), outbound (850).
- ``http_client``: an HTTP EDI mailbox (``x12+http://`` role URLs) for ``X12HttpSink`` and
  ``X12MailboxSource`` (docs/edi.md).
"""
