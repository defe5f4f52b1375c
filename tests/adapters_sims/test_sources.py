"""The four sources against real simulators and a real embedded hub: feed to journal, durable
watermark across restarts, harmless re-reads, duplicated webhooks, quarantine, and the run loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantwire.adapters.sim_erp import erp_source
from plantwire.adapters.sim_mes import mes_source
from plantwire.adapters.sim_supplier import supplier_source
from plantwire.adapters.sim_wms import wms_source
from plantwire.adapters.simfeed import WATERMARKS, FeedSource
from plantwire.bootstrap import Hub
from plantwire.service.intake import HubIntake
from plantwire.simulators.testing import SimProcess, WebhookReceiver

from . import record

SOURCES = {"erp": erp_source, "mes": mes_source, "wms": wms_source, "supplier": supplier_source}
DRIVERS = {
    "erp": record.drive_erp,
    "mes": record.drive_mes,
    "wms": record.drive_wms,
    "supplier": record.drive_supplier,
}
EXPECTED = {
    "erp": {"procurement.po.approved": 1, "production.order.released": 1},
    "mes": {"production.component.consumed": 4, "production.goods.completed": 2},
    "wms": {"procurement.goods.received": 1, "inventory.transferred": 1},
    "supplier": {"procurement.supplier.acknowledged": 1, "procurement.shipment.delayed": 1},
}


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Any]:
    """Start a simulator of its own for one test (state from this test only)."""
    started: list[SimProcess] = []

    def start(system: str) -> SimProcess:
        sim = SimProcess(system, tmp_path / f"sim-{system}").start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.kill()


def journal(hub: Hub) -> list[Any]:
    entries, _ = hub.journal.read(0, 100_000)
    return [e.envelope for e in entries]


def source(system: str, sim: SimProcess, hub: Hub, **kw: Any) -> FeedSource:
    made: FeedSource = SOURCES[system](sim.url, HubIntake(hub.ingest), hub.state, **kw)
    return made


async def drain(src: FeedSource) -> int:
    """Poll until the feed has nothing new; the number of simulator events read."""
    total = 0
    while (result := await src.poll_once()).read:
        total += result.read
    return total


@pytest.mark.parametrize("system", ["erp", "mes", "wms", "supplier"])
def test_source_journals_its_feed_once(system: str, fresh: Any, hub: Hub) -> None:
    sim = fresh(system)
    with sim.client() as c:
        DRIVERS[system](c)
        head = c.get("/healthz").json()["head"]
    src = source(system, sim, hub, batch=4)
    read = asyncio.run(drain(src))
    assert read == head and src.watermark() == head
    assert Counter(e.type for e in journal(hub)) == EXPECTED[system]
    assert src.quarantined() == []


def test_restart_resumes_from_the_durable_watermark_and_rereads_are_harmless(fresh: Any, hub: Hub) -> None:
    sim = fresh("mes")
    with sim.client() as c:
        record.drive_mes(c)

    async def scenario() -> None:
        first = source("mes", sim, hub, batch=3)
        assert (await first.poll_once()).watermark == 3
        sim.kill()  # the MES goes away and comes back with its durable feed
        sim.start()
        again = source("mes", sim, hub, batch=3)  # a restarted adapter: only the state store survives
        assert again.watermark() == 3
        await drain(again)
        assert len(journal(hub)) == 6
        with hub.state.transaction() as tx:  # a crash between accept and watermark: re-read it all
            tx.put(WATERMARKS, "sim-mes", 0)
        replayed = source("mes", sim, hub, batch=100)
        result = await replayed.poll_once()
        assert (result.accepted, result.duplicates) == (0, 6)
        assert len(journal(hub)) == 6

    asyncio.run(scenario())


def test_duplicated_and_reordered_webhooks_make_no_duplicate_journal_entries(fresh: Any, hub: Hub) -> None:
    sim = fresh("mes")
    with WebhookReceiver() as receiver, sim.client() as c:
        c.post("/admin/webhooks", json={"url": receiver.url}).raise_for_status()
        c.put(
            "/admin/faults", json={"duplicate_webhook_rate": 1.0, "reorder_window": 4, "seed": 7}
        ).raise_for_status()
        record.drive_mes(c)
        head = c.get("/healthz").json()["head"]
        receiver.wait_for(lambda got: len(got) >= 2 * head, timeout=20)
        pushed = list(receiver.received)
    assert len(pushed) >= 2 * head

    async def scenario() -> None:
        src = source("mes", sim, hub)
        result = await src.push(pushed)
        assert result.accepted == 6 and result.emitted >= 12 and result.duplicates == result.emitted - 6
        await drain(src)  # the feed after the webhooks: everything already there

    asyncio.run(scenario())
    ids = [(e.source, e.id) for e in journal(hub)]
    assert len(ids) == len(set(ids)) == 6


def test_untranslatable_and_rejected_events_are_quarantined_and_the_feed_moves_on(
    fresh: Any, hub: Hub
) -> None:
    sim = fresh("mes")
    with sim.client() as c:
        c.post(
            "/api/v1/work-orders",
            json={
                "erpOrderNumber": "000001000009",
                "partNumber": "P-7731",
                "quantity": 4,
                "uom": "pcs",
                "bom": [{"partNumber": "P-9999", "quantity": 4, "uom": "pcs", "location": "LINESIDE-1"}],
            },
        )
        c.post("/admin/work-orders/000001000009/run", json={"goodQty": 0, "final": False}).raise_for_status()
        c.post("/admin/work-orders/000001000009/run", json={"goodQty": 4}).raise_for_status()
        head = c.get("/healthz").json()["head"]
    src = source("mes", sim, hub)
    asyncio.run(drain(src))
    assert src.watermark() == head
    held = src.quarantined()
    unknown = [q for q in held if q["cloud_event"] is None]
    rejected = [q for q in held if q["cloud_event"] is not None]
    assert unknown and all("P-9999" in q["issues"][0]["message"] for q in unknown)
    assert unknown[0]["sim_event"]["eventType"] == "MaterialConsumed"
    assert len(rejected) == 1 and rejected[0]["sim_event"]["payload"]["goodQty"] == 0
    assert "yield or scrap" in str(rejected[0]["issues"])
    assert Counter(e.type for e in journal(hub)) == {"production.goods.completed": 1}


def test_run_loop_backs_off_while_the_system_is_down_and_catches_up(fresh: Any, hub: Hub) -> None:
    sim = fresh("erp")

    async def scenario() -> None:
        src = source("erp", sim, hub, interval=0.05)
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=sim.url) as c:
            (await c.put("/admin/faults", json={"down_seconds": 1.0})).raise_for_status()
            runner = asyncio.create_task(src.run(stop))
            (
                await c.post("/admin/production-orders", json={"MATNR": "10000200", "GAMNG": 3})
            ).raise_for_status()
            for _ in range(200):
                if any(e.type == "production.order.released" for e in journal(hub)):
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(runner, 5)
        assert [e.id for e in journal(hub)] == ["ORD-000001000001/released"]

    asyncio.run(scenario())
