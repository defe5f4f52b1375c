"""The relay sends the journal's stored rows (``read_outbox``) without rebuilding envelopes: the
messages must be exactly those the envelopes would give, plant-less events included."""

from __future__ import annotations

from pathlib import Path

from pg import PgDatabase

from plantwire.bus.nats import BusUrl
from plantwire.bus.relay import outgoing
from plantwire.clocks import ManualClock
from plantwire.domain.catalog import CATALOG
from plantwire.envelope import OutboxRow
from plantwire.journal.postgres import PgTarget
from plantwire.journal.postgres_journal import PostgresJournal
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day


def test_stored_rows_make_the_same_messages_as_envelopes(pg_database: PgDatabase, tmp_path: Path) -> None:
    events = [*plant_day(plant="1000", orders=3, seed=1), *plant_day(plant="2000", orders=2, seed=2)]
    events[0] = {k: v for k, v in events[0].items() if k != "plant"}  # an enterprise-wide event
    journal = PostgresJournal(PgTarget.from_url(pg_database.url_for(tmp_path)), ManualClock())
    try:
        journal.append([validate_event(e, CATALOG) for e in events])
        rows, last = journal.read_outbox(0, 1000)
        entries, last_read = journal.read(0, 1000)
    finally:
        journal.close()
    assert last == last_read == len(events) and rows[0].plant is None
    for partition_by in ("plant", "key"):
        url = BusUrl.parse(f"nats://127.0.0.1:4222?partitions=4&partition_by={partition_by}")
        assert outgoing(url, rows, [0] * 4) == outgoing(url, [OutboxRow.of(e) for e in entries], [0] * 4)
