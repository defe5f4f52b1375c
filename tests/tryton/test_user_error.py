"""A Tryton UserError lands as a business exception a person can read (Tryton's own message); after the
data is fixed in Tryton, redriving the exception posts the command exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from plantwire.adapters.tryton.mapping import TrytonMapping
from plantwire.flows.exceptions import ExceptionStateError
from plantwire.ports import Command

from .conftest import ADMIN_LOGIN, ADMIN_PASSWORD, client
from .test_round_trip import ITEMS, NOW, Rig, event, make_bins, q, release_production


def test_user_error_is_readable_and_redrives_once(tryton_url: str, tmp_path: Path) -> None:
    admin = client(ADMIN_LOGIN, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:6].upper()
    bins = make_bins(admin, tag)
    # master-data mistake in Tryton: a gasket set up as a service, so no stock move may carry it
    unit = admin.search_read("product.uom", [["symbol", "=", "u"]], ["id"])[0]["id"]
    gasket = f"PWGK{tag}"
    template = admin.model("product.template", "create", [
        {"name": f"gasket {tag}", "code": gasket, "type": "service", "default_uom": unit,
         "products": [["create", [{}]]]}])[0]
    mapping = TrytonMapping.from_tables(
        {"item": {**ITEMS, "RM-GASKET-X": gasket}, "plant": {"1000": "WH"},
         "location": {g: bins[g] for g in ("RM01", "PR01", "FG01")}},
        blocked={"WH": bins["QH"]})
    r = Rig(tmp_path, mapping)
    order = release_production(admin, 1, bins, assign=False)

    r.send(event("production.component.consumed", f"cm-{order}-gk", {
        "order_id": order, "plant": "1000", "consumption_id": f"CM-{order}-GK", "item_id": "RM-GASKET-X",
        "quantity": q(2), "storage_location": "PR01", "consumed_at": NOW}))
    failed = r.hub.exceptions.list(kind="goods-issue-failed")
    assert len(failed) == 1, r.hub.exceptions.list()
    ex = failed[0]
    # what the person reads: which order, what was refused, and Tryton's own words
    assert f"order {order}" in ex["message"] and "2 EA RM-GASKET-X" in ex["message"]
    assert "is not valid according to its domain" in ex["message"], ex["message"]
    assert ex["failed_step"] == f"gi/CM-{order}-GK"
    print(f"\nbusiness exception {ex['id']}: {ex['message']}\n  action: {ex['action']}")
    assert r.sink.created == 0

    # the person fixes the product in Tryton (it is stocked goods), then redrives the exception
    admin.model("product.template", "write", [template], {"type": "goods"})
    r.hub.exceptions.retry(ex["id"])
    r.hub.drain()
    assert r.hub.exceptions.show(ex["id"])["status"] == "resolved"
    moves = admin.search_read("stock.move", [["production_input.number", "=", order],
                                             ["product.code", "=", gasket]], ["quantity", "state"])
    assert [m["quantity"] for m in moves] == [2.0], moves
    assert (r.sink.created, r.sink.existing) == (1, 0)

    # a second redrive is refused (nothing open); the consumption resent under a new id is dropped by the flow
    with pytest.raises(ExceptionStateError):
        r.hub.exceptions.retry(ex["id"])
    r.send(event("production.component.consumed", f"cm-{order}-gk-resent", {
        "order_id": order, "plant": "1000", "consumption_id": f"CM-{order}-GK", "item_id": "RM-GASKET-X",
        "quantity": q(2), "storage_location": "PR01", "consumed_at": NOW}))
    moves = admin.search_read("stock.move", [["production_input.number", "=", order],
                                             ["product.code", "=", gasket]], ["quantity"])
    assert len(moves) == 1

    # the relay sending the same command again with the same key (as after a crash between the
    # Tryton call and the commit of its result): the sink finds its earlier posting and writes nothing
    key = f"consumption/{order}/{ex['failed_step']}"
    again = r.sink.execute(key, Command(**ex["failed_command"]))
    moves = admin.search_read("stock.move", [["production_input.number", "=", order],
                                             ["product.code", "=", gasket]], ["quantity"])
    assert len(moves) == 1 and (r.sink.created, r.sink.existing) == (1, 1), again
    print(f"duplicates prevented: {r.sink.existing} (same key posted again, no second move)")
    pid = admin.search_read("production", [["number", "=", order]], ["id"])[0]["id"]
    admin.model("production", "cancel", [pid])
