"""Pure mapping between B2MML records and the canonical model, both ways.

Inbound (``to_events``):

- ProductionSchedule / OperationsSchedule: each ProductionRequest / OperationsRequest ->
  ``production.order.released``: order = request ID; item and quantity = the first material with
  MaterialUse Produced; components = materials with MaterialUse Consumed (line from a declared
  property, else a numeric ID, else 10, 20, ... by position; operation = the ProcessSegmentID of their
  segment unless that segment holds the produced material; storage location = Location/EquipmentID
  or StorageLocation); plant = HierarchyScope at Site level (request, then schedule) else the mapping's;
  work center = the deepest work-center level of that scope; times = request, then schedule
  StartTime/EndTime, else CreationDateTime when the mapping allows it. Materials without MaterialUse
  (lot allocations) are not components.
- ProductionPerformance / OperationsPerformance: in each response's segments (recursively), a
  Produced MaterialActual (or V04 MaterialProducedActual) -> ``production.goods.completed`` (yield =
  the unkeyed Quantity, scrap = Quantity/Key "Scrap"; final when the response state is Completed or
  Closed) and a Consumed one (or MaterialConsumedActual) -> ``production.component.consumed``. Order =
  ProductionRequestID / OperationsRequestID, else the response ID. Completion / consumption id =
  the actual's ID (V0701), its "ActualID" property (V0600), else response/segment/position.
- MaterialLot, MaterialDefinition and the rest: no canonical contract (no lot or item event yet), so
  no events; the source still parses and validates them.

Event identities come from the document: ``ORD-<order>/released``, ``COMP-<completion>``,
``CONS-<consumption>`` with the sender (ApplicationArea/Sender/LogicalID) as source.

Outbound: ``mes.download_order`` (and a released event) -> one ProductionRequest; a completion and
its consumptions -> one response per event. Parsing what we emit gives the same canonical data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from plantwire.adapters._common import fit_id
from plantwire.adapters.b2mml.document import Body, Document, Material, Qty, Request, Scope, Segment
from plantwire.adapters.b2mml.mapping import (
    ACTUAL_ID,
    CONSUMED,
    FINAL_STATES,
    PRODUCED,
    SCRAP_KEY,
    SITE_LEVELS,
    WORK_CENTER_LEVELS,
    B2mmlMapping,
)
from plantwire.adapters.b2mml.schemas import Version
from plantwire.domain.commands import DownloadProductionOrder
from plantwire.domain.production import ComponentConsumed, ProductionGoodsCompleted, ProductionOrderReleased
from plantwire.errors import InvalidEvent, Issue

Json = dict[str, Any]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")

__all__ = ["completion_bodies", "order_bodies", "released_to_command", "schedule_commands", "to_events"]


# ---- inbound -------------------------------------------------------------------------------------


def to_events(doc: Document, m: B2mmlMapping) -> list[Json]:
    """The canonical CloudEvents of a document (none for nouns without a contract)."""
    if doc.kind == "schedule":
        return [_released_event(doc, body, req, m) for body in doc.bodies for req in body.requests]
    if doc.kind == "performance":
        return [event for body in doc.bodies for req in body.requests
                for event in _response_events(doc, body, req, m)]
    return []


def schedule_commands(doc: Document, m: B2mmlMapping) -> list[DownloadProductionOrder]:
    """The ``mes.download_order`` commands a schedule stands for (the inverse of the emit)."""
    return [_checked(DownloadProductionOrder, _order_fields(doc, body, req, m, with_operation=False),
                     req.where) for body in doc.bodies for req in body.requests]


def released_to_command(data: Json) -> DownloadProductionOrder:
    """The download command for a released order (components without their operation)."""
    lines = [{k: v for k, v in c.items() if k != "operation"} for c in data.get("components", [])]
    fields = {k: data[k] for k in ("order_id", "plant", "item_id", "quantity") if k in data}
    return DownloadProductionOrder.model_validate({**fields, "work_center": data.get("work_center"),
                                                   "components": lines})


def _event(doc: Document, m: B2mmlMapping, event_id: str, type_: str, data: Json) -> Json:
    event: Json = {"specversion": "1.0", "id": fit_id(event_id, 256),
                   "source": f"b2mml/{doc.sender}" if doc.sender else m.source, "type": type_,
                   "datacontenttype": "application/json", "contractversion": "1", "plant": data["plant"]}
    if doc.created_at and _RFC3339.match(doc.created_at):
        event["time"] = doc.created_at
    event["data"] = data
    return event


def _checked(model: type[BaseModel], data: Json, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidEvent([
            Issue(f"{where}: {'.'.join(str(p) for p in e['loc']) or model.__name__}", "b2mml-mapping",
                  e["msg"]) for e in error.errors()]) from None


def _released_event(doc: Document, body: Body, req: Request, m: B2mmlMapping) -> Json:
    fields = _order_fields(doc, body, req, m, with_operation=True)
    fields["scheduled_start"] = _time(req.start or body.start, doc, m, f"{req.where}/StartTime")
    fields["scheduled_end"] = _time(req.end or body.end, doc, m, f"{req.where}/EndTime")
    data = _checked(ProductionOrderReleased, fields, req.where).model_dump(mode="json")
    return _event(doc, m, f"ORD-{data['order_id']}/released", "production.order.released", data)


def _order_fields(doc: Document, body: Body, req: Request, m: B2mmlMapping, with_operation: bool) -> Json:
    produced = [(s, x) for s in _segments(req) for x in s.materials if x.use in PRODUCED]
    if not produced:
        raise InvalidEvent([Issue(req.where, "b2mml-mapping", "the request names no material with "
                                  "MaterialUse Produced, so the item to make is unknown")])
    holder, output = produced[0]
    scope = req.scope or body.scope
    fields: Json = {"order_id": _required(req.id, f"{req.where}/ID"), "plant": _plant(scope, m, req.where),
                    "item_id": _required(output.material_id, f"{output.where}/MaterialDefinitionID"),
                    "quantity": _quantity(output, m)}
    work_center = _work_center(scope)
    if work_center is not None:
        fields["work_center"] = work_center
    # Line order is the canonical order: a schedule nests per-operation components after the others.
    fields["components"] = sorted(_components(req, holder, m, with_operation), key=lambda c: c["line"])
    return fields


def _components(req: Request, holder: Segment, m: B2mmlMapping, with_operation: bool) -> list[Json]:
    lines: list[Json] = []
    for segment in _segments(req):
        for material in segment.materials:
            if material.use not in CONSUMED:
                continue
            item = _required(material.material_id, f"{material.where}/MaterialDefinitionID")
            line: Json = {"line": _line(material, m, len(lines)), "item_id": item,
                          "quantity": _quantity(material, m)}
            if material.location is not None:
                line["storage_location"] = material.location
            operation = segment.process_segment or segment.id
            if with_operation and segment is not holder and operation is not None:
                line["operation"] = operation
            lines.append(line)
    return lines


def _response_events(doc: Document, body: Body, req: Request, m: B2mmlMapping) -> Iterator[Json]:
    scope = req.scope or body.scope
    order = _required(req.request_id or req.id, f"{req.where}/ProductionRequestID")
    common: Json = {"order_id": order, "plant": _plant(scope, m, req.where)}
    for segment in _segments(req):
        for n, material in enumerate(segment.materials, 1):
            fallback = f"{req.id or order}-{segment.id or segment.process_segment or 'segment'}-{n}"
            ident = fit_id(material.id or material.properties.get(ACTUAL_ID) or fallback)
            at = _time(segment.end or req.end or body.end, doc, m, f"{segment.where}/ActualEndTime")
            if material.use in PRODUCED:
                yield _completed(doc, m, common, req, segment, material, ident, at)
            elif material.use in CONSUMED:
                yield _consumed(doc, m, {**common, "work_center": _work_center(scope)}, segment, material,
                                ident, at)


def _completed(doc: Document, m: B2mmlMapping, common: Json, req: Request, segment: Segment,
               material: Material, ident: str, at: str) -> Json:
    scrap = [q for q in material.quantities if q.key == SCRAP_KEY]
    data: Json = {**common, "completion_id": ident,
                  "item_id": _required(material.material_id, f"{material.where}/MaterialDefinitionID"),
                  "yield_quantity": _quantity(material, m),
                  "storage_location": _located(material.location or m.output_location, material),
                  "completed_at": at, "final": (segment.state or req.state) in FINAL_STATES}
    if scrap:
        data["scrap_quantity"] = _qty_json(scrap[0], m, material)
    if material.lot is not None:
        data["lot"] = material.lot
    data = _checked(ProductionGoodsCompleted, data, material.where).model_dump(mode="json")
    return _event(doc, m, f"COMP-{ident}", "production.goods.completed", data)


def _consumed(doc: Document, m: B2mmlMapping, common: Json, segment: Segment, material: Material,
              ident: str, at: str) -> Json:
    data: Json = {**common, "consumption_id": ident,
                  "item_id": _required(material.material_id, f"{material.where}/MaterialDefinitionID"),
                  "quantity": _quantity(material, m),
                  "storage_location": _located(material.location or m.consumption_location, material),
                  "consumed_at": at}
    operation = segment.process_segment
    if operation is not None:
        data["operation"] = operation
    if data.get("work_center") is None:
        data.pop("work_center", None)
    if material.lot is not None:
        data["lot"] = material.lot
    data = _checked(ComponentConsumed, data, material.where).model_dump(mode="json")
    return _event(doc, m, f"CONS-{ident}", "production.component.consumed", data)


def _segments(req: Request) -> Iterator[Segment]:
    for segment in req.segments:
        yield from segment.walk()


def _required(value: str | None, where: str) -> str:
    if value is None:
        raise InvalidEvent([Issue(where, "b2mml-mapping", "required for the canonical event but missing")])
    return value


def _plant(scope: tuple[Scope, ...], m: B2mmlMapping, where: str) -> str:
    for level in scope:
        if level.level in SITE_LEVELS:
            return level.equipment_id
    if m.plant is None:
        raise InvalidEvent([Issue(f"{where}/HierarchyScope", "b2mml-mapping",
                                  "no HierarchyScope at Site level names the plant, and the mapping "
                                  "declares no default plant")])
    return m.plant


def _work_center(scope: tuple[Scope, ...]) -> str | None:
    found = [level.equipment_id for level in scope if level.level in WORK_CENTER_LEVELS]
    return found[-1] if found else None


def _line(material: Material, m: B2mmlMapping, index: int) -> int:
    for name in m.line_properties:
        value = material.properties.get(name, "")
        if value.isdigit():
            return int(value)
    if material.id is not None and material.id.isdigit():
        return int(material.id)
    return 10 * (index + 1)


def _quantity(material: Material, m: B2mmlMapping) -> Json:
    plain = [q for q in material.quantities if q.key != SCRAP_KEY]
    if not plain:
        raise InvalidEvent([Issue(f"{material.where}/Quantity", "b2mml-mapping", "no Quantity is given")])
    return _qty_json(plain[0], m, material)


def _qty_json(q: Qty, m: B2mmlMapping, material: Material) -> Json:
    uom = q.uom or m.default_uom
    if uom is None:
        raise InvalidEvent([Issue(f"{material.where}/Quantity/UnitOfMeasure", "b2mml-mapping",
                                  "the quantity has no unit and the mapping declares no default unit")])
    return {"value": str(q.value), "uom": uom}


def _located(location: str | None, material: Material) -> str:
    if location is None:
        raise InvalidEvent([Issue(f"{material.where}/Location", "b2mml-mapping",
                                  "no storage location is named and the mapping declares no default")])
    return location


def _time(value: str | None, doc: Document, m: B2mmlMapping, where: str) -> str:
    if value is not None:
        return value
    if m.times_from_creation and doc.created_at is not None:
        return doc.created_at
    raise InvalidEvent([Issue(where, "b2mml-mapping", "no time is given and the mapping does not declare "
                              "CreationDateTime as the fallback")])


# ---- outbound ------------------------------------------------------------------------------------


def _noun(version: Version, schedule: bool) -> str:
    prefix = "Operations" if version is Version.V0701 else "Production"
    return f"{prefix}{'Schedule' if schedule else 'Performance'}"


def _scope(plant: str, work_center: str | None) -> tuple[Scope, ...]:
    site = (Scope(plant, "Site"),)
    return site if work_center is None else (*site, Scope(work_center, "WorkCenter"))


def _actual(version: Version, use: str, item: str, qty: Json, *, ident: str, location: str | None,
            lot: str | None = None, scrap: Json | None = None) -> Material:
    """A MaterialActual carrying its event id (the ID element in V0701, a property in V0600)."""
    quantities = [Qty(_decimal(qty["value"]), qty["uom"], None)]
    if scrap is not None:
        quantities.append(Qty(_decimal(scrap["value"]), scrap["uom"], SCRAP_KEY))
    v7 = version is Version.V0701
    return Material(where="", id=ident if v7 else None, material_id=item, use=use,
                    quantities=tuple(quantities), lot=lot, location=location,
                    properties={} if v7 else {ACTUAL_ID: ident})


def _requirement(version: Version, use: str, item: str, qty: Json, line: int | None,
                 location: str | None) -> Material:
    """A MaterialRequirement; a component carries its line (ID in V0701, a property in V0600)."""
    v7 = version is Version.V0701
    ident = str(line if line is not None else 0)
    props = {"LineNumber": ident} if line is not None and not v7 else {}
    return Material(where="", id=ident if v7 else None, material_id=item, use=use,
                    quantities=(Qty(_decimal(qty["value"]), qty["uom"], None),), lot=None, location=location,
                    properties=props)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def order_bodies(order: Json, version: Version, start: str | None = None,
                 end: str | None = None) -> list[Body]:
    """A schedule of one request for an order (released-event or download-command data, as JSON).

    Components without an operation sit beside the produced material; the others in one child
    segment per operation (ProcessSegmentID), in the order the operations first appear.
    """
    head = _requirement(version, "Produced", order["item_id"], order["quantity"], None, None)
    plain: list[Material] = []
    by_operation: dict[str, list[Material]] = {}
    for c in order.get("components", []):
        material = _requirement(version, "Consumed", c["item_id"], c["quantity"], c["line"],
                                c.get("storage_location"))
        op = c.get("operation")
        (by_operation.setdefault(op, []) if op is not None else plain).append(material)
    children = tuple(Segment("", op, op, None, None, None, tuple(ms), ()) for op, ms in by_operation.items())
    main = Segment("", order["order_id"], None, None, None, None, (head, *plain), children)
    request = Request("", order["order_id"], None, _scope(order["plant"], order.get("work_center")),
                      start or order.get("scheduled_start"), end or order.get("scheduled_end"), None, (main,))
    return [Body("", _noun(version, True), order["order_id"], (), None, None, (request,))]


def completion_bodies(completed: Json, consumed: list[Json], version: Version) -> list[Body]:
    """A performance with one response per event: the completion, then each consumption."""
    requests = [_completion_response(completed, version)]
    requests += [_consumption_response(c, version) for c in consumed]
    return [Body("", _noun(version, False), completed["completion_id"], (), None, None, tuple(requests))]


def _completion_response(c: Json, version: Version) -> Request:
    material = _actual(version, "Produced", c["item_id"], c["yield_quantity"], ident=c["completion_id"],
                       location=c["storage_location"], lot=c.get("lot"), scrap=c.get("scrap_quantity"))
    segment = Segment("", c["completion_id"], None, None, c["completed_at"], None, (material,), ())
    state = "Completed" if c.get("final") else "Running"
    return Request("", c["completion_id"], c["order_id"], _scope(c["plant"], None), None, None, state,
                   (segment,))


def _consumption_response(c: Json, version: Version) -> Request:
    material = _actual(version, "Consumed", c["item_id"], c["quantity"], ident=c["consumption_id"],
                       location=c["storage_location"], lot=c.get("lot"))
    segment = Segment("", c["consumption_id"], c.get("operation"), None, c["consumed_at"], None,
                      (material,), ())
    return Request("", c["consumption_id"], c["order_id"], _scope(c["plant"], c.get("work_center")),
                   None, None, None, (segment,))
