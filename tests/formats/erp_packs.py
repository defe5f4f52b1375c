"""Per-pack document kinds for the SAP, Oracle Fusion and D365 conformance tests and benchmarks.

Each kind: parse(bytes) -> canonical model, events(bytes) -> canonical CloudEvents (or [] when the
kind maps to a command, not an event), emit(model) -> bytes of the vendor document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from plantwire.adapters._erp_json import rows
from plantwire.adapters.d365 import translate as dt
from plantwire.adapters.d365.mapping import D365Mapping
from plantwire.adapters.oracle_fusion import translate as orc
from plantwire.adapters.oracle_fusion.mapping import OracleMapping
from plantwire.adapters.sap.idoc import translate as it
from plantwire.adapters.sap.mapping import SapMapping
from plantwire.adapters.sap.odata import translate as ot

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = Path(__file__).parent / "_results"
SAP, ORACLE, D365 = SapMapping(), OracleMapping(), D365Mapping()
T = datetime(2026, 11, 27, 6, 15, tzinfo=UTC)
DAY = date(2026, 11, 27)


@dataclass(frozen=True)
class Kind:
    parse: Callable[[bytes], Any]
    events: Callable[[bytes], list[dict[str, Any]]]
    emit: Callable[[Any], bytes]


def _j(data: bytes) -> Any:
    return json.loads(data)


def _d(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _one_row(body: Any) -> Any:
    found = rows(body)
    assert len(found) == 1
    return found[0]


SAP_KINDS = {
    "loipro": Kind(
        lambda b: it.parse_loipro(b, SAP)[0],
        lambda b: it.loipro_events(b, SAP),
        lambda o: it.emit_loipro(o, "k", SAP, T),
    ),
    "orders": Kind(lambda b: it.parse_orders(b, SAP), lambda b: [], lambda o: it.emit_orders(o, "k", SAP, T)),
    "ordrsp": Kind(
        lambda b: it.parse_ordrsp(b, SAP)[0],
        lambda b: it.ordrsp_events(b, SAP),
        lambda o: it.emit_ordrsp(o, "k", SAP),
    ),
    "desadv": Kind(
        lambda b: it.parse_desadv(b, SAP),
        lambda b: it.desadv_events(b, SAP),
        lambda o: it.emit_desadv(o, "k", SAP),
    ),
    "mbgmcr": Kind(
        lambda b: it.parse_mbgmcr(b, SAP)[0], lambda b: [], lambda o: it.emit_mbgmcr(o, "k", SAP, T)
    ),
    "confirmation": Kind(
        lambda b: ot.parse_confirmation(_j(b), SAP),
        lambda b: ot.confirmation_events(_j(b), SAP),
        lambda o: _d(ot.emit_confirmation(o, SAP)),
    ),
    "material_document": Kind(
        lambda b: ot.parse_material_document(_j(b), SAP)[0],
        lambda b: [],
        lambda o: _d(ot.emit_material_document(o, "k", SAP, DAY)),
    ),
    "production_order": Kind(
        lambda b: ot.parse_production_order(_j(b), SAP),
        lambda b: ot.production_order_events(_j(b), SAP),
        lambda o: _d(ot.emit_production_order(o, SAP)),
    ),
}
ORACLE_KINDS = {
    "work_order": Kind(
        lambda b: orc.parse_work_order(_one_row(_j(b)), ORACLE),
        lambda b: orc.work_order_events(_j(b), ORACLE),
        lambda o: _d({"items": [orc.emit_work_order(o, ORACLE)]}),
    ),
    "purchase_order": Kind(
        lambda b: orc.parse_purchase_order(_one_row(_j(b)), ORACLE),
        lambda b: orc.purchase_order_events(_j(b), ORACLE),
        lambda o: _d({"items": [orc.emit_purchase_order(o, ORACLE)]}),
    ),
    "receipt_request": Kind(
        lambda b: orc.parse_receipt_request(_j(b), ORACLE)[0],
        lambda b: [],
        lambda o: _d(orc.emit_receipt_request(o, "k", ORACLE)),
    ),
}
D365_KINDS = {
    "production_order": Kind(
        lambda b: dt.parse_production_order(_j(b), D365),
        lambda b: dt.production_order_events(_j(b), D365),
        lambda o: _d(dt.emit_production_order(o, D365)),
    ),
    "purchase_order": Kind(
        lambda b: dt.parse_purchase_order(_j(b), D365),
        lambda b: dt.purchase_order_events(_j(b), D365),
        lambda o: _d(dt.emit_purchase_order(o, D365)),
    ),
    "journal": Kind(
        lambda b: dt.parse_journal(_j(b), D365)[0],
        lambda b: [],
        lambda o: _d(dt.emit_journal(o, "REF", D365, DAY)),
    ),
}
PACKS = {"sap": SAP_KINDS, "oracle": ORACLE_KINDS, "d365": D365_KINDS}
