"""B2MML documents as plain records, read from a (hardened, validated) element tree.

One reader serves V0401, V0600 and V0701: the Production* and Operations* vocabularies share their
shape (request > segment requirement > material requirement; response > segment response > material
actual) and differ in names that the reader accepts side by side (``SegmentRequirementChild``,
``HierarchyScopeChild``, ``StorageLocation``, the V04 ``MaterialProducedActual``...). Every record
keeps the path of its element (``/SyncProductionSchedule/DataArea/ProductionSchedule[1]/...``) and
its line, so a mapping problem is reported where it is in the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from plantwire.adapters._xml import local_name
from plantwire.adapters.b2mml.schemas import NAMESPACES, Version
from plantwire.domain.amounts import AmountError, parse_amount
from plantwire.errors import InvalidEvent, Issue

__all__ = ["Body", "Document", "Lot", "Material", "Qty", "Request", "Scope", "Segment", "read_document"]

SCHEDULES = ("ProductionSchedule", "OperationsSchedule")
PERFORMANCES = ("ProductionPerformance", "OperationsPerformance")
LOTS = ("MaterialLot", "MaterialSubLot", "MaterialInformation")


@dataclass(frozen=True)
class Qty:
    """One Quantity element: an exact value, its unit and optional key (e.g. "Scrap")."""

    value: Decimal
    uom: str | None
    key: str | None


@dataclass(frozen=True)
class Scope:
    """One level of a HierarchyScope or Location chain: equipment id and its ISA-95 level."""

    equipment_id: str
    level: str | None


@dataclass(frozen=True)
class Material:
    """A MaterialRequirement or MaterialActual."""

    where: str
    id: str | None
    material_id: str | None
    use: str | None
    quantities: tuple[Qty, ...]
    lot: str | None
    location: str | None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """A SegmentRequirement or SegmentResponse, with its materials and child segments."""

    where: str
    id: str | None
    process_segment: str | None
    start: str | None
    end: str | None
    state: str | None
    materials: tuple[Material, ...]
    children: tuple[Segment, ...]

    def walk(self) -> Iterator[Segment]:
        """This segment and every segment below it, depth first in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Request:
    """A ProductionRequest / OperationsRequest, or a ProductionResponse / OperationsResponse."""

    where: str
    id: str | None
    request_id: str | None
    scope: tuple[Scope, ...]
    start: str | None
    end: str | None
    state: str | None
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Body:
    """One schedule or performance of the DataArea."""

    where: str
    noun: str
    id: str | None
    scope: tuple[Scope, ...]
    start: str | None
    end: str | None
    requests: tuple[Request, ...]


@dataclass(frozen=True)
class Lot:
    """A MaterialLot or MaterialSubLot: no canonical contract maps it; kept for callers."""

    where: str
    id: str | None
    material_id: str | None
    status: str | None
    quantities: tuple[Qty, ...]
    sublots: tuple[Lot, ...]


@dataclass(frozen=True)
class Document:
    """A B2MML business object document: verb, noun, sender, creation time and bodies."""

    version: Version
    verb: str
    noun: str
    release_id: str | None
    sender: str | None
    created_at: str | None
    bodies: tuple[Body, ...]
    lots: tuple[Lot, ...]

    @property
    def kind(self) -> str:
        """"schedule", "performance", "lot" or "other"."""
        if self.noun in SCHEDULES:
            return "schedule"
        if self.noun in PERFORMANCES:
            return "performance"
        return "lot" if self.lots else "other"


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def children(self, el: etree._Element, *names: str) -> list[etree._Element]:
        return list(el.iterchildren(*(f"{{{self.ns}}}{name}" for name in names)))

    def child(self, el: etree._Element, *names: str) -> etree._Element | None:
        found = self.children(el, *names)
        return found[0] if found else None

    def text(self, el: etree._Element | None, *names: str) -> str | None:
        node = el if el is None or not names else self.child(el, *names)
        if node is None or node.text is None:
            return None
        value = node.text.strip()
        return value or None

    def scope(self, el: etree._Element) -> tuple[Scope, ...]:
        chain: list[Scope] = []
        node = self.child(el, "HierarchyScope", "Location")
        while node is not None:
            equipment = self.text(node, "EquipmentID")
            if equipment:
                chain.append(Scope(equipment, self.text(node, "EquipmentElementLevel", "EquipmentLevel")))
            node = self.child(node, "HierarchyScope", "HierarchyScopeChild", "Location")
        return tuple(chain)

    def quantities(self, el: etree._Element, where: str) -> tuple[Qty, ...]:
        found: list[Qty] = []
        for n, q in enumerate(self.children(el, "Quantity"), 1):
            raw = self.text(q, "QuantityString")
            if raw is None:
                continue
            try:  # the numeric policy bounds exponent, digits and places before any arithmetic
                value = parse_amount(raw.strip())
            except AmountError as error:
                raise InvalidEvent([Issue(f"{where}/Quantity[{n}]/QuantityString (line {q.sourceline})",
                                          "b2mml-quantity", f"{raw[:40]!r} is not a decimal number "
                                          f"within the policy: {error} [{error.rule}]")]) from None
            found.append(Qty(value, self.text(q, "UnitOfMeasure"), self.text(q, "Key")))
        return tuple(found)

    def properties(self, el: etree._Element) -> dict[str, str]:
        found: dict[str, str] = {}
        for prop in self.children(el, "MaterialRequirementProperty", "MaterialActualProperty",
                                  "MaterialLotProperty"):
            name, value = self.text(prop, "ID"), self.child(prop, "Value")
            text = self.text(value, "ValueString") if value is not None else None
            if name and text is not None:
                found.setdefault(name, text)
        return found

    def location(self, el: etree._Element) -> str | None:
        storage = self.child(el, "StorageLocation")
        if storage is not None:
            return self.text(storage, "Location")
        chain = self.scope(el)
        return chain[-1].equipment_id if chain else None

    def material(self, el: etree._Element, where: str) -> Material:
        use = self.text(el, "MaterialUse")
        name = local_name(el.tag)
        if use is None and name.startswith("MaterialProduced"):
            use = "Produced"
        elif use is None and name.startswith("MaterialConsumed"):
            use = "Consumed"
        return Material(where=f"{where} (line {el.sourceline})", id=self.text(el, "ID"),
                        material_id=self.text(el, "MaterialDefinitionID"), use=use,
                        quantities=self.quantities(el, where), lot=self.text(el, "MaterialLotID"),
                        location=self.location(el), properties=self.properties(el))

    def segment(self, el: etree._Element, where: str) -> Segment:
        materials = [self.material(m, f"{where}/{p}")
                     for m, p in _indexed(self.children(el, *_MATERIALS))]
        kids = [self.segment(s, f"{where}/{p}") for s, p in _indexed(self.children(el, *_SEGMENTS))]
        return Segment(where=f"{where} (line {el.sourceline})", id=self.text(el, "ID"),
                       process_segment=self.text(el, "ProcessSegmentID"),
                       start=self.text(el, "ActualStartTime", "EarliestStartTime"),
                       end=self.text(el, "ActualEndTime", "LatestEndTime"),
                       state=self.text(el, "SegmentState"), materials=tuple(materials), children=tuple(kids))

    def request(self, el: etree._Element, where: str) -> Request:
        segments = [self.segment(s, f"{where}/{p}")
                    for s, p in _indexed(self.children(el, "SegmentRequirement", "SegmentResponse"))]
        return Request(where=f"{where} (line {el.sourceline})", id=self.text(el, "ID"),
                       request_id=self.text(el, "ProductionRequestID", "OperationsRequestID"),
                       scope=self.scope(el), start=self.text(el, "StartTime"), end=self.text(el, "EndTime"),
                       state=self.text(el, "ResponseState", "RequestState"), segments=tuple(segments))

    def body(self, el: etree._Element, where: str) -> Body:
        requests = [self.request(r, f"{where}/{p}") for r, p in _indexed(self.children(el, *_REQUESTS))]
        return Body(where=f"{where} (line {el.sourceline})", noun=local_name(el.tag), id=self.text(el, "ID"),
                    scope=self.scope(el), start=self.text(el, "StartTime"),
                    end=self.text(el, "EndTime", "Endtime"), requests=tuple(requests))

    def lot(self, el: etree._Element, where: str) -> Lot:
        subs = [self.lot(s, f"{where}/{p}") for s, p in _indexed(self.children(el, "MaterialSubLot"))]
        return Lot(where=f"{where} (line {el.sourceline})", id=self.text(el, "ID"),
                   material_id=self.text(el, "MaterialDefinitionID"), status=self.text(el, "Status"),
                   quantities=self.quantities(el, where), sublots=tuple(subs))


_MATERIALS = ("MaterialRequirement", "MaterialActual", "MaterialProducedActual", "MaterialConsumedActual",
              "MaterialProducedRequirement", "MaterialConsumedRequirement")
_SEGMENTS = ("SegmentRequirement", "SegmentRequirementChild", "SegmentResponse", "SegmentResponseChild")
_REQUESTS = ("ProductionRequest", "OperationsRequest", "ProductionResponse", "OperationsResponse")


def _indexed(elements: list[etree._Element]) -> Iterator[tuple[etree._Element, str]]:
    """Each element with its XPath step, numbered among same-named siblings."""
    seen: dict[str, int] = {}
    for el in elements:
        name = local_name(el.tag)
        seen[name] = seen.get(name, 0) + 1
        yield el, f"{name}[{seen[name]}]"


def read_document(root: etree._Element, version: Version) -> Document:
    """The records of a schema-valid B2MML document (verb + noun, e.g. SyncProductionSchedule)."""
    reader = _Reader(NAMESPACES[version])
    top = f"/{local_name(root.tag)}"
    area = reader.child(root, "ApplicationArea")
    data = reader.child(root, "DataArea")
    bodies: list[Body] = []
    lots: list[Lot] = []
    verb, noun = "", local_name(root.tag)
    if data is not None:
        nouns = [c for c in data if isinstance(c.tag, str)]
        verb = local_name(nouns[0].tag) if nouns else ""
        for el, step in _indexed(nouns[1:]):
            noun = local_name(el.tag)
            if noun in SCHEDULES or noun in PERFORMANCES:
                bodies.append(reader.body(el, f"{top}/DataArea/{step}"))
            elif noun in LOTS:
                lots.extend(_lots(reader, el, f"{top}/DataArea/{step}"))
    sender = reader.text(reader.child(area, "Sender"), "LogicalID") if area is not None else None
    return Document(version=version, verb=verb, noun=noun, release_id=root.get("releaseID"), sender=sender,
                    created_at=reader.text(area, "CreationDateTime") if area is not None else None,
                    bodies=tuple(bodies), lots=tuple(lots))


def _lots(reader: _Reader, el: etree._Element, where: str) -> list[Lot]:
    if local_name(el.tag) != "MaterialInformation":
        return [reader.lot(el, where)]
    return [reader.lot(m, f"{where}/{p}") for m, p in _indexed(reader.children(el, "MaterialLot"))]
