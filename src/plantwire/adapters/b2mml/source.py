"""The B2MML source: bytes -> hardened parse -> XSD validation -> records -> canonical events.

`B2mmlReader.parse` is the whole inbound path for one document, with no I/O beyond the schemas it
builds once; `B2mmlFolderSource` feeds it from a folder and hands the events to the intake. A
document is all or nothing: either every event it maps to is kept, or none is and the file goes to
error/ with the located issues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantwire.adapters._common import Quarantine, hand_over, issues_of
from plantwire.adapters._xml import DEFAULT_LIMITS, XmlLimits, parse_xml
from plantwire.adapters.b2mml.client import B2mmlFolder
from plantwire.adapters.b2mml.document import Document, read_document
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet, Version, version_of
from plantwire.adapters.b2mml.translate import to_events
from plantwire.errors import InvalidEvent, Issue, PermanentError, RetryableError
from plantwire.ports import Intake

__all__ = ["B2mmlFolderSource", "B2mmlReader", "Parsed"]

Json = dict[str, Any]
log = logging.getLogger("plantwire.adapters.b2mml")


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
            data: bytes | None = None
            try:
                data = self.folder.read(path)
                parsed = self.reader.parse(data)
            except RetryableError:
                raise  # the folder is unavailable: the file stays in the inbox
            except Exception as error:  # a fault in one file (refused, too big, a bug) never ends the folder
                self._refuse(path, data, error)
                continue
            await hand_over(self.intake, parsed.events, self.quarantine, f"{self.name}:{path.name}")
            self.folder.done(path)
            kept += len(parsed.events)
        return kept

    def _refuse(self, path: Path, data: bytes | None, error: Exception) -> None:
        """File one unreadable document in error/ with its located report, and quarantine it."""
        if not isinstance(error, PermanentError):
            log.exception("%s: %s could not be processed", self.name, path.name)
        refused = error if isinstance(error, InvalidEvent) else InvalidEvent(
            [Issue(**i) for i in issues_of(error)])
        self.quarantine.add(f"{self.name}:{path.name}", refused, payload=data)
        self.folder.failed(path, "\n".join(f"{i.path}: {i.message} [{i.rule}]" for i in refused.issues))
