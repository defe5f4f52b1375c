"""The tally: per-type counts kept per plant, so workers delivering different plants never write the
same counter, and summed on read."""

from __future__ import annotations

from decimal import Decimal

from plantwire.domain.catalog import CATALOG
from plantwire.envelope import JournalEntry
from plantwire.journal.memory import MemoryState
from plantwire.projections import tally
from plantwire.projections.tally import Tally
from plantwire.service.validation import validate_event
from plantwire.simulators.scenario import plant_day


def entries() -> list[JournalEntry]:
    events = [*plant_day(plant="1000", orders=2, seed=1), *plant_day(plant="2000", orders=1, seed=2)]
    return [JournalEntry(i, 0.0, validate_event({**e, "id": f"{i}-{e['id']}"}, CATALOG).envelope)
            for i, e in enumerate(events, 1)]


def test_types_are_counted_per_plant_and_summed_on_read() -> None:
    state, t, es = MemoryState(), Tally(), entries()
    with state.transaction() as tx:
        for e in es:
            t.handle(e, tx)
        rows = dict(tx.scan(tally.TYPES))
        by_type = tally.per_type(tx)
    assert {k.split(tally.SEP)[1] for k in rows} == {"1000", "2000"}
    assert sum(by_type.values()) == len(es)
    assert by_type["production.order.released"] == Decimal(3)


def test_forget_takes_back_exactly_what_handle_counted() -> None:
    state, t, es = MemoryState(), Tally(), entries()
    with state.transaction() as tx:
        for e in es:
            t.handle(e, tx)
        for e in es[:4]:
            t.forget(e, tx)
        assert sum(tally.per_type(tx).values()) == len(es) - 4
        assert {k for k, v in tx.scan(tally.EVENTS) if Decimal(str(v)) == 0} == {
            tally.event_key(e) for e in es[:4]}


def test_it_names_what_it_reads() -> None:
    e = entries()[0]
    assert set(Tally().reads(e)) == {(tally.EVENTS, tally.event_key(e)), (tally.TYPES, tally.type_key(e))}
