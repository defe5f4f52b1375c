"""Operator routes of the mapping layer: cross-references, units, value maps, rules, review, owners.

Wire with ``add_mapping_routes(app, hub)`` after ``create_app``; every change records the API key's
name as who made it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from plantwire.api.bodies import MappedValue, Note, OptionalNote, RoundingRule, RuleSet, XrefChange
from plantwire.api.responses import json_response
from plantwire.bootstrap import Hub
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.domain.quantities import DomainError, Quantity, UomConversion
from plantwire.errors import RequestRejected
from plantwire.mapping.book import DQ, OWNERS, RuleBook
from plantwire.mapping.ownership import parse_book
from plantwire.mapping.review import ReviewQueue
from plantwire.mapping.rules import parse_rules
from plantwire.mapping.uom import Rounding, Units
from plantwire.mapping.valuemaps import ValueMaps
from plantwire.mapping.xref import XrefStore
from plantwire.mapping.xref_csv import export_csv, import_csv


def _who(request: Request) -> str:
    return str(getattr(request.state, "api_key", None) or "api")


def _bad(rule: str, exc: Exception, path: str = "$") -> RequestRejected:
    return RequestRejected(422, rule, str(exc), path)


def add_mapping_routes(app: FastAPI, hub: Hub) -> None:
    """Add the mapping layer's routes to a hub's app."""
    _xref_routes(app, XrefStore(hub.state, hub.clock))
    _uom_routes(app, Units(hub.state, hub.clock))
    _valuemap_routes(app, ValueMaps(hub.state, hub.clock))
    _rule_routes(app, RuleBook(hub.state, hub.clock))
    _review_routes(app, hub, ReviewQueue(hub.state, hub.clock))


def _xref_routes(app: FastAPI, store: XrefStore) -> None:
    @app.get("/v1/xref")
    def xref_list(system: str | None = None, kind: str | None = None) -> Response:
        return json_response({"xrefs": [v.as_dict() for v in store.list(system, kind)],
                              "revision": store.revision()})

    @app.get("/v1/xref/export")
    def xref_export(system: str | None = None, kind: str | None = None) -> Response:
        return Response(export_csv(store.list(system, kind)), media_type="text/csv")

    @app.post("/v1/xref/import")
    async def xref_import(request: Request, system: str | None = None, kind: str | None = None,
                          why: str = "") -> Response:
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as bad:
            raise _bad("utf-8", bad) from None
        report = import_csv(store.state, store.clock, text, _who(request), why, system, kind)
        return json_response(report.as_dict())

    @app.get("/v1/xref/{system}/{kind}/{system_id}")
    def xref_get(system: str, kind: str, system_id: str,
                 revision: Annotated[int | None, Query(ge=0)] = None) -> Response:
        return json_response(store.get(system, kind, system_id, revision).as_dict())

    @app.get("/v1/xref/{system}/{kind}/{system_id}/history")
    def xref_history(system: str, kind: str, system_id: str) -> Response:
        return json_response({"versions": [v.as_dict() for v in store.history(system, kind, system_id)]})

    @app.put("/v1/xref/{system}/{kind}/{system_id}")
    def xref_set(request: Request, system: str, kind: str, system_id: str, body: XrefChange) -> Response:
        done = store.set(system, kind, system_id, body.golden, _who(request), body.why)
        return json_response({"changed": done is not None,
                              "mapping": store.get(system, kind, system_id).as_dict()})

    @app.delete("/v1/xref/{system}/{kind}/{system_id}")
    def xref_remove(request: Request, system: str, kind: str, system_id: str, why: str = "") -> Response:
        store.get(system, kind, system_id)
        done = store.set(system, kind, system_id, None, _who(request), why)
        return json_response({"changed": True, "version": done.as_dict() if done else None})


def _uom_routes(app: FastAPI, units: Units) -> None:
    @app.get("/v1/uom")
    def uom_list() -> Response:
        return json_response(units.listing())

    @app.put("/v1/uom/conversions")
    def uom_set(request: Request, conversion: Annotated[dict[str, Any], Body()]) -> Response:
        try:
            conv = UomConversion.model_validate(conversion)
        except ValidationError as bad:
            raise _bad("uom-conversion", bad, "$.conversion") from None
        units.set_conversion(conv, _who(request))
        return json_response(conv.model_dump(mode="json"))

    @app.put("/v1/uom/rounding/{unit}")
    def uom_rounding(request: Request, unit: str, body: RoundingRule) -> Response:
        places, mode = body.places, body.mode
        try:
            rule = Rounding(places, mode)
        except ValueError as bad:
            raise _bad("uom-rounding", bad) from None
        units.set_rounding(unit, rule, _who(request))
        return json_response({"unit": unit, "places": places, "mode": mode})

    @app.get("/v1/uom/convert")
    def uom_convert(value: str, from_uom: Annotated[str, Query(alias="from")],
                    to_uom: Annotated[str, Query(alias="to")], item: str | None = None) -> Response:
        try:
            amount = parse_amount(value)  # the one numeric policy, before any arithmetic
        except AmountError as bad:
            raise _bad(bad.rule, bad, "$.value") from None
        try:
            qty = Quantity(value=amount, uom=from_uom)
            return json_response(units.convert(qty, to_uom, item).model_dump(mode="json"))
        except (DomainError, ValidationError) as bad:
            raise _bad("uom-convert", bad) from None


def _valuemap_routes(app: FastAPI, maps: ValueMaps) -> None:
    @app.get("/v1/valuemaps")
    def valuemap_list(partner: str | None = None) -> Response:
        return json_response({"values": maps.list(partner)})

    @app.put("/v1/valuemaps/{partner}/{map_name}/{partner_value}")
    def valuemap_set(request: Request, partner: str, map_name: str, partner_value: str,
                     body: MappedValue) -> Response:
        maps.set(partner, map_name, partner_value, body.value, _who(request))
        return json_response({"partner": partner, "map": map_name, "partner_value": partner_value,
                              "value": body.value})


def _rule_routes(app: FastAPI, book: RuleBook) -> None:
    @app.get("/v1/dq/rules")
    def rules_get(version: Annotated[int | None, Query(ge=1)] = None) -> Response:
        return json_response(book.record(DQ, version))

    @app.put("/v1/dq/rules")
    def rules_put(request: Request, body: RuleSet) -> Response:
        version = book.load_rules(parse_rules(body.rules), _who(request), "api")
        return json_response(book.record(DQ, version))

    @app.get("/v1/owners")
    def owners_get(version: Annotated[int | None, Query(ge=1)] = None) -> Response:
        return json_response(book.record(OWNERS, version))

    @app.put("/v1/owners")
    def owners_put(request: Request, doc: Annotated[dict[str, Any], Body()]) -> Response:
        version = book.load_owners(parse_book(doc), _who(request), "api")
        return json_response(book.record(OWNERS, version))


def _review_routes(app: FastAPI, hub: Hub, queue: ReviewQueue) -> None:
    @app.get("/v1/dq/review")
    def review_list(status: str = "open", limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Response:
        return json_response({"review": queue.list(None if status == "all" else status, limit)})

    @app.get("/v1/dq/review/{review_id}")
    def review_show(review_id: str) -> Response:
        return json_response(queue.show(review_id))

    @app.post("/v1/dq/review/{review_id}/approve")
    def review_approve(request: Request, review_id: str, body: OptionalNote | None = None) -> Response:
        item = queue.approve(review_id, hub.journal, _who(request), body.note if body else "")
        hub.worker.notify()
        return json_response(item)

    @app.post("/v1/dq/review/{review_id}/reject")
    def review_reject(request: Request, review_id: str, body: Note) -> Response:
        return json_response(queue.reject(review_id, _who(request), body.note))
