"""Records back to B2MML: the serializer behind the sink's emit functions (no mapping decisions here).

V0600 writes the Production* vocabulary (ProductionSchedule, ProductionPerformance), V0701 the
Operations* one (V0701 has no Production* nouns). Element order follows each release's XSD
sequences; the elements V0701 requires but the canonical model does not know (the operations
definition and segment ids) repeat the segment's process segment id.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from plantwire.adapters.b2mml.document import Body, Material, Request, Scope, Segment
from plantwire.adapters.b2mml.schemas import NAMESPACES, Version

__all__ = ["Header", "write_document"]


class Header:
    """What the ApplicationArea says: verb, sender, creation time and BODID (the idempotency key)."""

    def __init__(self, verb: str, sender: str, created_at: str, bod_id: str | None) -> None:
        self.verb, self.sender, self.created_at, self.bod_id = verb, sender, created_at, bod_id


class _Writer:
    def __init__(self, version: Version) -> None:
        self.version = version
        self.ns = NAMESPACES[version]
        self.ops = version is Version.V0701

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        node = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            node.text = text
        return node

    def opt(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text is not None:
            self.el(parent, name, text)

    def scope(self, parent: etree._Element, chain: tuple[Scope, ...], name: str = "HierarchyScope") -> None:
        node = parent
        for n, level in enumerate(chain):
            child_name = name if n == 0 else ("HierarchyScopeChild" if self.ops else name)
            node = self.el(node, child_name)
            self.el(node, "EquipmentID", level.equipment_id)
            self.el(node, "EquipmentLevel" if self.ops else "EquipmentElementLevel", level.level or "Other")

    def quantities(self, parent: etree._Element, material: Material) -> None:
        for q in material.quantities:
            node = self.el(parent, "Quantity")
            self.el(node, "QuantityString", str(q.value))
            self.el(node, "DataType", "decimal")
            self.opt(node, "UnitOfMeasure", q.uom)
            self.opt(node, "Key", q.key)

    def properties(self, parent: etree._Element, name: str, props: dict[str, str]) -> None:
        for key, value in props.items():
            node = self.el(parent, name)
            self.el(node, "ID", key)
            holder = self.el(node, "Value")
            self.el(holder, "ValueString", value)
            self.el(holder, "DataType", "string")

    def material(self, parent: etree._Element, m: Material, requirement: bool) -> None:
        node = self.el(parent, "MaterialRequirement" if requirement else "MaterialActual")
        if self.ops:
            self.el(node, "ID", m.id or "1")
        self.opt(node, "MaterialDefinitionID", m.material_id)
        self.opt(node, "MaterialLotID", m.lot)
        if not self.ops and m.location is not None:
            self.scope(node, (Scope(m.location, "StorageZone"),), "Location")
        self.opt(node, "MaterialUse", m.use)
        if self.ops and m.location is not None:
            storage = self.el(node, "StorageLocation")
            self.el(storage, "Location", m.location)
            self.el(storage, "LocationType", "Operational Location ID")
        self.quantities(node, m)
        kind = "MaterialRequirementProperty" if requirement else "MaterialActualProperty"
        self.properties(node, kind, m.properties)

    def segment(self, parent: etree._Element, s: Segment, requirement: bool, child: bool) -> None:
        kind = "SegmentRequirement" if requirement else "SegmentResponse"
        node = self.el(parent, f"{kind}Child" if child and self.ops else kind)
        if requirement:
            self._segment_requirement_head(node, s)
        else:
            self._segment_response_head(node, s)
        for m in s.materials:
            self.material(node, m, requirement)
        for c in s.children:
            self.segment(node, c, requirement, child=True)
        if not self.ops:
            self.opt(node, "SegmentState", s.state)

    def _segment_requirement_head(self, node: etree._Element, s: Segment) -> None:
        segment_id = s.process_segment or s.id or "1"
        if self.ops:
            self.el(node, "ID", s.id or segment_id)
            self.opt(node, "EarliestStartTime", s.start)
            self.opt(node, "LatestEndTime", s.end)
            self.el(node, "ProcessSegmentID", segment_id)
            self.el(node, "OperationsDefinitionID", segment_id)
            self.el(node, "OperationsSegmentID", segment_id)
            self.opt(node, "SegmentState", s.state)
            return
        self.opt(node, "ID", s.id)
        self.opt(node, "ProcessSegmentID", s.process_segment)
        self.opt(node, "EarliestStartTime", s.start)
        self.opt(node, "LatestEndTime", s.end)

    def _segment_response_head(self, node: etree._Element, s: Segment) -> None:
        if self.ops:
            self.el(node, "ID", s.id or s.process_segment or "1")
        else:
            self.opt(node, "ID", s.id)
            self.opt(node, "ProcessSegmentID", s.process_segment)
        self.opt(node, "ActualStartTime", s.start)
        self.opt(node, "ActualEndTime", s.end)
        if self.ops:
            self.opt(node, "ProcessSegmentID", s.process_segment)
            self.opt(node, "SegmentState", s.state)

    def request(self, parent: etree._Element, r: Request, schedule: bool) -> None:
        prefix = "Operations" if self.ops else "Production"
        node = self.el(parent, f"{prefix}{'Request' if schedule else 'Response'}")
        self.el(node, "ID", r.id or "1") if self.ops else self.opt(node, "ID", r.id)
        if not self.ops and not schedule:
            self.opt(node, "ProductionRequestID", r.request_id)
        if not self.ops:
            self.scope(node, r.scope)
        self.opt(node, "StartTime", r.start)
        self.opt(node, "EndTime", r.end)
        if self.ops:
            self.scope(node, r.scope)
            self.el(node, "OperationsType", "Production")
            if not schedule:
                self.opt(node, "OperationsRequestID", r.request_id)
            self.opt(node, "RequestState" if schedule else "ResponseState", r.state)
        for s in r.segments:
            self.segment(node, s, schedule, child=False)
        if not self.ops:
            self.opt(node, "RequestState" if schedule else "ResponseState", r.state)

    def body(self, parent: etree._Element, b: Body, schedule: bool) -> None:
        node = self.el(parent, b.noun)
        self.el(node, "ID", b.id or "1") if self.ops else self.opt(node, "ID", b.id)
        if not self.ops:
            self.scope(node, b.scope)
        self.opt(node, "StartTime", b.start)
        self.opt(node, "EndTime" if schedule or not self.ops else "Endtime", b.end)
        if self.ops:
            self.scope(node, b.scope)
            self.el(node, "OperationsType", "Production")
        for r in b.requests:
            self.request(node, r, schedule)


def write_document(version: Version, header: Header, bodies: Iterable[Body]) -> bytes:
    """A complete B2MML document (``<verb><noun>``) as UTF-8 bytes with an XML declaration."""
    items = list(bodies)
    writer = _Writer(version)
    noun = items[0].noun if items else "ProductionSchedule"
    schedule = noun.endswith("Schedule")
    root = etree.Element(f"{{{writer.ns}}}{header.verb}{noun}", nsmap={None: writer.ns})
    root.set("releaseID", version.value)
    area = writer.el(root, "ApplicationArea")
    sender = writer.el(area, "Sender")
    writer.el(sender, "LogicalID", header.sender)
    writer.el(area, "CreationDateTime", header.created_at)
    writer.opt(area, "BODID", header.bod_id)
    data = writer.el(root, "DataArea")
    writer.el(data, header.verb)
    for body in items:
        writer.body(data, body, schedule)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
