"""The four sinks against the real simulators: the shared contract plus each system's refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from plantwire.adapters.sim_erp import ErpSink
from plantwire.adapters.sim_erp.translate import reference
from plantwire.adapters.sim_mes import MesSink
from plantwire.adapters.sim_supplier import SupplierSink
from plantwire.adapters.sim_wms import WmsSink
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.ports import Command, Sink
from plantwire.simulators.testing import SimProcess

from .sink_suite import SinkContract


def qty(value: Any, uom: str = "EA") -> dict[str, str]:
    return {"value": str(value), "uom": uom}


def counts(client: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/admin/counts").json()
    return answer


# -- ERP -------------------------------------------------------------------------------------------
def erp_post(client: httpx.Client, ref: str, **item: Any) -> dict[str, Any]:
    body = {"GOODSMVT_HEADER": {"REF_DOC_NO": ref}, "ITEMS": [{"WERKS": "1000", "LGORT": "RM01", **item}]}
    resp = client.post("/api/goods-movements", json=body)
    resp.raise_for_status()
    return dict(resp.json()["DOCUMENT"])


def erp_po(client: httpx.Client, matnr: str = "20000027") -> tuple[str, str]:
    """An approved PO and a goods receipt (101) to its item 10: (EBELN, MBLNR)."""
    po = client.post(
        "/admin/purchase-orders",
        json={"LIFNR": "0000100200", "ITEMS": [{"MATNR": matnr, "MENGE": 10, "NETPR": "5.00"}]},
    ).json()["EBELN"]
    gr = erp_post(client, f"gr-{po}", BWART="101", MATNR=matnr, ERFMG=10, EBELN=po, EBELP=10)
    return po, gr["MBLNR"]


def transfer(item: str = "RM-HOUSING-A", quantity: Any = 1) -> Command:
    return Command(
        "erp",
        "post_goods_movement",
        {
            "movement": "transfer",
            "plant": "1000",
            "item_id": item,
            "quantity": qty(quantity),
            "storage_location": "RM01",
            "to_location": "PR01",
        },
    )


class TestErpSink(SinkContract):
    system = "erp"

    def make_sink(self, url: str, timeout: float = 10.0) -> Sink:
        return ErpSink(url, timeout=timeout)

    def examples(self, client: httpx.Client, unique: str) -> list[Command]:
        erp_post(client, f"seed-{unique}", BWART="561", MATNR="20000011", ERFMG=10)
        seeded = erp_post(client, f"seed2-{unique}", BWART="561", MATNR="20000058", ERFMG=5)
        po, gr = erp_po(client)
        return [
            transfer(),
            Command("erp", "reverse_document", {"document": f"{seeded['MBLNR']}/{seeded['MJAHR']}"}),
            Command(
                "erp", "post_financial_document", {"po_number": po, "receipt_document": gr, "plant": "1000"}
            ),
            Command(
                "erp",
                "update_po_lines",
                {"po_number": po, "revision": 0, "lines": [{"line": 10, "status": "accepted"}]},
            ),
        ]

    def effects(self, client: httpx.Client) -> int:
        return int(counts(client)["material_documents"]["total"])

    def unknown(self, unique: str) -> Command:
        return transfer(item=f"RM-UNKNOWN-{unique}")

    def test_deficit_is_a_business_refusal_with_the_m7_message(self, sim: SimProcess) -> None:
        with pytest.raises(BusinessRuleViolation, match=r"M7 021 Deficit of SL Unrestricted-use"):
            ErpSink(sim.url).execute("deficit-1", transfer("RM-MOTOR-2KW", 99999))

    def test_answer_names_the_material_document(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        self.examples(client, unique)
        answer = ErpSink(sim.url).execute(f"doc-{unique}", transfer())
        doc = client.get(f"/api/goods-movements/{answer['document']}", params={"MJAHR": answer["year"]})
        assert doc.json()["REF_DOC_NO"] == f"doc-{unique}" and doc.json()["ITEMS"][0]["UMLGO"] == "PR01"

    def test_long_key_hashes_and_checks_before_write_across_a_timeout(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        self.examples(client, unique)
        key = f"flow:completion/{unique}/step:transfer-to-line-side/" + "x" * 40
        ref, before = reference(key), self.effects(client)
        # every request hangs: whether the lookup or the posting timed out, the retry posts once
        client.put("/admin/faults", json={"timeout_rate": 1.0, "timeout_seconds": 1.5}).raise_for_status()
        with pytest.raises(TargetUnavailable):
            ErpSink(sim.url, timeout=0.4).execute(key, transfer())
        client.delete("/admin/faults").raise_for_status()
        first = ErpSink(sim.url).execute(key, transfer())
        again = ErpSink(sim.url).execute(key, transfer())
        assert again["existing"] is True and again["document"] == first["document"]
        assert first["reference"] == ref and len(ref) == 40
        assert counts(client)["material_documents"]["by_reference"][ref] == 1
        assert self.effects(client) == before + 1

    def test_reversal_answers_the_reversal_document(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        doc = erp_post(client, f"rv-{unique}", BWART="561", MATNR="20000011", ERFMG=2)
        answer = ErpSink(sim.url).execute(
            f"rev-{unique}", Command("erp", "reverse_document", {"document": doc["MBLNR"]})
        )
        assert answer["reversal_of"] == f"{doc['MBLNR']}/{doc['MJAHR']}"

    def test_financial_posting_refusals_are_permanent(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        po, gr = erp_po(client)
        other, _ = erp_po(client)
        sink = ErpSink(sim.url)
        wrong = {"po_number": other, "receipt_document": gr, "plant": "1000"}
        with pytest.raises(BusinessRuleViolation, match="not a goods receipt for PO"):
            sink.execute(f"fi-wrong-{unique}", Command("erp", "post_financial_document", wrong))
        client.put(f"/admin/purchase-orders/{po}/accounting", json={"fail": True}).raise_for_status()
        right = {"po_number": po, "receipt_document": gr, "plant": "1000"}
        with pytest.raises(BusinessRuleViolation, match="F5 155"):
            sink.execute(f"fi-{unique}", Command("erp", "post_financial_document", right))
        assert counts(client)["accounting_documents"]["by_reference"].get(f"fi-{unique}") is None

    def test_po_change_raises_the_erp_revision(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        po, _ = erp_po(client)
        change = {
            "po_number": po,
            "revision": 0,
            "lines": [{"line": 10, "status": "changed", "quantity": qty(8), "delivery_date": "2026-12-10"}],
        }
        answer = ErpSink(sim.url).execute(f"ack-{unique}", Command("erp", "update_po_lines", change))
        assert answer == {"po_number": po, "revision": 1}
        item = client.get(f"/api/purchase-orders/{po}").json()["ITEMS"][0]
        assert (item["MENGE"], item["EINDT"], item["CONF_STATUS"]) == ("8.000", "2026-12-10", "CHANGED")


# -- MES -------------------------------------------------------------------------------------------
def download(order_id: str, item: str = "FG-PUMP-100") -> Command:
    return Command(
        "mes",
        "download_order",
        {
            "order_id": order_id,
            "plant": "1000",
            "item_id": item,
            "quantity": qty(5),
            "components": [
                {"line": 10, "item_id": "RM-HOUSING-A", "quantity": qty(5)},
                {"line": 20, "item_id": "RM-PA6-RESIN", "quantity": qty("1.25", "KG")},
            ],
        },
    )


class TestMesSink(SinkContract):
    system = "mes"

    def make_sink(self, url: str, timeout: float = 10.0) -> Sink:
        return MesSink(url, timeout=timeout)

    def examples(self, client: httpx.Client, unique: str) -> list[Command]:
        return [download(f"ORD-{unique}")]

    def effects(self, client: httpx.Client) -> int:
        return int(counts(client)["work_orders"]["total"])

    def unknown(self, unique: str) -> Command:
        return download(f"ORD-{unique}", item=f"RM-UNKNOWN-{unique}")

    def test_work_order_carries_mes_parts_units_and_line(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        answer = MesSink(sim.url).execute(unique, download(f"ORD-{unique}"))
        wo = client.get(f"/api/v1/work-orders/{answer['work_order']}").json()
        assert (wo["partNumber"], wo["uom"], wo["line"]) == ("P-7731", "pcs", "LINE-1")
        assert [(b["partNumber"], b["quantity"], b["uom"], b["location"]) for b in wo["bom"]] == [
            ("P-1001", 5, "pcs", "LINESIDE-1"),
            ("P-2040", 1.25, "kg", "LINESIDE-1"),
        ]


# -- WMS -------------------------------------------------------------------------------------------
def putaway(unique: str, item: str = "FG-PUMP-100") -> Command:
    return Command(
        "wms",
        "create_putaway",
        {
            "order_id": f"ORD-{unique}",
            "plant": "1000",
            "item_id": item,
            "quantity": qty(3),
            "lot": f"FG-{unique}",
            "from_location": "FG01",
        },
    )


class TestWmsSink(SinkContract):
    system = "wms"

    def make_sink(self, url: str, timeout: float = 10.0) -> Sink:
        return WmsSink(url, timeout=timeout)

    def examples(self, client: httpx.Client, unique: str) -> list[Command]:
        client.post(
            "/admin/stock", json={"sku": "SKU-20027", "qty": 5, "lot": f"L-{unique}"}
        ).raise_for_status()
        hold = {"hold_id": f"QH-{unique}", "plant": "1000", "item_id": "RM-IMPELLER-7", "lot": f"L-{unique}"}
        return [
            putaway(unique),
            Command(
                "wms",
                "request_staging",
                {
                    "order_id": f"ORD-{unique}",
                    "plant": "1000",
                    "lines": [{"line": 10, "item_id": "RM-IMPELLER-7", "quantity": qty(2)}],
                },
            ),
            Command("wms", "block_lot", {**hold, "reason": "visual"}),
            Command("wms", "unblock_lot", hold),
        ]

    def effects(self, client: httpx.Client) -> int:
        return int(counts(client)["requests"].get("PUTAWAY", 0))

    def unknown(self, unique: str) -> Command:
        return putaway(unique, item=f"RM-UNKNOWN-{unique}")

    def test_insufficient_stock_is_a_business_refusal(self, sim: SimProcess, unique: str) -> None:
        staging = {
            "order_id": f"ORD-{unique}",
            "plant": "1000",
            "lines": [{"line": 10, "item_id": "RM-MOTOR-2KW", "quantity": qty(99999)}],
        }
        with pytest.raises(BusinessRuleViolation, match="INSUFFICIENT_STOCK"):
            WmsSink(sim.url).execute(unique, Command("wms", "request_staging", staging))

    def test_hold_without_lot_is_refused_before_calling(self, sim: SimProcess, unique: str) -> None:
        hold = {"hold_id": f"QH-{unique}", "plant": "1000", "item_id": "RM-IMPELLER-7"}
        with pytest.raises(BusinessRuleViolation, match="per lot"):
            WmsSink(sim.url).execute(unique, Command("wms", "block_lot", hold))

    def test_staging_goes_to_the_line_side_bin(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        commands = self.examples(client, unique)
        answer = WmsSink(sim.url).execute(unique, commands[1])
        task = client.get(f"/api/tasks/{answer['tasks'][0]}").json()
        assert (task["sku"], task["toBin"], task["type"]) == ("SKU-20027", "90-01-01", "STAGE")


# -- supplier --------------------------------------------------------------------------------------
def send_po(po: str, revision: int = 0, item: str = "RM-HOUSING-A") -> Command:
    return Command(
        "supplier",
        "send_purchase_order",
        {
            "po_number": po,
            "revision": revision,
            "plant": "1000",
            "supplier_id": "SUP-200",
            "currency": "EUR",
            "lines": [
                {
                    "line": 10,
                    "item_id": item,
                    "quantity": qty(100),
                    "delivery_date": "2026-12-04",
                    "unit_price": "12.50",
                }
            ],
        },
    )


class TestSupplierSink(SinkContract):
    system = "supplier"

    def make_sink(self, url: str, timeout: float = 10.0) -> Sink:
        return SupplierSink(url, timeout=timeout)

    def examples(self, client: httpx.Client, unique: str) -> list[Command]:
        return [send_po(f"45{unique}")]

    def effects(self, client: httpx.Client) -> int:
        return int(counts(client)["order_revisions"])

    def unknown(self, unique: str) -> Command:
        return send_po(f"45{unique}", item=f"RM-UNKNOWN-{unique}")

    def test_stale_revision_is_a_business_refusal(self, sim: SimProcess, unique: str) -> None:
        sink = SupplierSink(sim.url)
        sink.execute(f"{unique}-1", send_po(f"45{unique}", revision=1))
        with pytest.raises(BusinessRuleViolation, match="STALE_REVISION"):
            sink.execute(f"{unique}-0", send_po(f"45{unique}", revision=0))

    def test_po_reaches_the_supplier_in_its_parts_and_units(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        SupplierSink(sim.url).execute(unique, send_po(f"45{unique}"))
        order = client.get(f"/api/purchase-orders/45{unique}").json()
        assert order["buyer"] == "PLANT-1000"
        assert [(ln["supplierPart"], ln["unit"], ln["quantity"]) for ln in order["lines"]] == [
            ("HSG-A1", "PCE", 100)
        ]
