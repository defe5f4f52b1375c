"""The B2MML source: bytes -> hardened parse -> XSD validation -> records -> canonical events.

`B2mmlReader.parse` is the whole inbound path for one document, with no I/O beyond the schemas it
builds once; `B2mmlFolderSource` feeds it from a folder and hands the events to the intake. A
document is all or nothing: either every event it maps to is kept, or none is and the file goes to
error/ with the located issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plantwire.adapters._common import Quarantine, hand_over
from plantwire.adapters._xml import DEFAULT_LIMITS, XmlLimits, parse_xml
from plantwire.adapters.b2mml.client import B2mmlFolder
from plantwire.adapters.b2mml.document import Document, read_document
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version, version_of
from plantwire.adapters.b2mml.translate import to_events
from plantwire.errors import InvalidEvent
from plantwire.ports import Intake

__all__ = ["B2mmlFolderSource", "B2mmlReader", "Parsed"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Parsed:
    """One B2MML document: its release, its records and the canonical events it maps to."""

    version: Version
    document: Document
    events: list[Json] = field(default_factory=list)


class B2mmlReader:
    """Parses, validates and maps B2MML V0401 / V0600 / V0701 documents for one connection."""

    def __init__(self, mapping: B2mmlMapping | None = None, schemas: SchemaSet | None = None,
                 limits: XmlLimits = DEFAULT_LIMITS) -> None:
        self.mapping = mapping or B2mmlMapping()
        self.schemas = schemas or SchemaSet()
        self.limits = limits

    def read(self, data: bytes) -> Document:
        """The records of a well-formed, schema-valid document, or InvalidEvent locating why not."""
        root = parse_xml(data, self.limits)
        version = version_of(root)
        self.schemas.validate(root, version)
        return read_document(root, version)

    def parse(self, data: bytes) -> Parsed:
        """The document and its canonical events (none for nouns without a contract)."""
        document = self.read(data)
        return Parsed(document.version, document, to_events(document, self.mapping))


class B2mmlFolderSource:
    """Reads inbox files one at a time; done/ once their events are kept, error/ when refused."""

    def __init__(self, folder: B2mmlFolder, intake: Intake, reader: B2mmlReader | None = None,
                 quarantine: Quarantine | None = None, name: str = "b2mml") -> None:
        self.folder, self.intake, self.reader = folder, intake, reader or B2mmlReader()
        self.quarantine = quarantine or Quarantine()
        self.name = name

    async def poll_once(self) -> int:
        """Handle every pending file; the number of events kept."""
        kept = 0
        for path in self.folder.pending():
            data = self.folder.read(path)
            try:
                parsed = self.reader.parse(data)
            except InvalidEvent as error:
                self.quarantine.add(f"{self.name}:{path.name}", error, payload=data)
                self.folder.failed(path, "\n".join(f"{i.path}: {i.message} [{i.rule}]" for i in error.issues))
                continue
            await hand_over(self.intake, parsed.events, self.quarantine, f"{self.name}:{path.name}")
            self.folder.done(path)
            kept += len(parsed.events)
        return kept
