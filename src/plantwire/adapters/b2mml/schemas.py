"""The B2MML versions we read, their namespaces, and XSD validation with located errors.

Each version's schema is built once per process (building V0701 takes about two seconds) from the
MESA XSDs in a schema folder: ``<root>/schema-v0401``, ``schema-v0600``, ``schema-v0701``. The root
comes from settings; `default_schema_root` finds the conformance corpus beside the repository.
xmlschema reads only files under that folder (``allow="sandbox"``), never the network.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import xmlschema
from lxml import etree

from plantwire.adapters._xml import local_name
from plantwire.errors import ConfigurationError, InvalidEvent, Issue

__all__ = ["MAX_ISSUES", "SchemaSet", "Version", "default_schema_root", "version_of"]

MAX_ISSUES = 20
"""Validation issues reported per document (the first ones, in document order)."""


class Version(StrEnum):
    """A B2MML release, by its file-name tag."""

    V0401 = "V0401"
    V0600 = "V0600"
    V0701 = "V0701"


NAMESPACES: dict[Version, str] = {
    Version.V0401: "http://www.wbf.org/xml/B2MML-V0401",
    Version.V0600: "http://www.mesa.org/xml/B2MML-V0600",
    Version.V0701: "http://www.mesa.org/xml/B2MML",
}
"""The target namespace of each release."""

_FILES: dict[Version, tuple[str, ...]] = {
    Version.V0401: ("B2MML-V0401-ProductionSchedule.xsd", "B2MML-V0401-ProductionPerformance.xsd",
                    "B2MML-V0401-Material.xsd"),
    Version.V0600: ("B2MML-V0600-ProductionSchedule.xsd", "B2MML-V0600-ProductionPerformance.xsd",
                    "B2MML-V0600-OperationsSchedule.xsd", "B2MML-V0600-OperationsPerformance.xsd",
                    "B2MML-V0600-Material.xsd"),
    Version.V0701: ("B2MML-OperationsSchedule.xsd", "B2MML-OperationsPerformance.xsd", "B2MML-Material.xsd"),
}
"""The schema files that define the documents this adapter reads and writes, per release."""


def version_of(root: etree._Element) -> Version:
    """The release of a document, from its root element's namespace."""
    namespace = etree.QName(root).namespace
    for version, known in NAMESPACES.items():
        if namespace == known:
            return version
    raise InvalidEvent([Issue(f"/{local_name(root.tag)} (line {root.sourceline})", "b2mml-namespace",
                              f"namespace {namespace!r} is not a B2MML release this adapter reads "
                              f"({', '.join(v.value for v in Version)})")])


def default_schema_root() -> Path:
    """``$PLANTWIRE_B2MML_SCHEMAS``, else ``shared/corpus/b2mml`` beside the repository."""
    configured = os.environ.get("PLANTWIRE_B2MML_SCHEMAS")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared" / "corpus" / "b2mml"


@dataclass(frozen=True)
class _Key:
    root: Path
    version: Version


_CACHE: dict[_Key, xmlschema.XMLSchema] = {}
_LOCK = threading.Lock()


class SchemaSet:
    """The XSDs of every release under one schema root; each is built on first use and kept."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_schema_root()).resolve()

    def schema(self, version: Version) -> xmlschema.XMLSchema:
        """The built schema of a release (shared by every SchemaSet of the same root)."""
        key = _Key(self.root, version)
        with _LOCK:
            if key not in _CACHE:
                _CACHE[key] = self._build(version)
            return _CACHE[key]

    def _build(self, version: Version) -> xmlschema.XMLSchema:
        folder = self.root / f"schema-{version.value.lower()}"
        if not folder.is_dir():
            raise ConfigurationError(f"B2MML {version} schemas not found in {folder}")
        namespace = NAMESPACES[version]
        includes = "".join(f'<xsd:include schemaLocation="{name}"/>' for name in _FILES[version])
        wrapper = (f'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{namespace}" '
                   f'xmlns="{namespace}" elementFormDefault="qualified">{includes}</xsd:schema>')
        return xmlschema.XMLSchema(wrapper, base_url=str(folder), allow="sandbox", defuse="always")

    def validate(self, root: etree._Element, version: Version) -> None:
        """Raise InvalidEvent listing the first schema violations, each with its XPath and line."""
        issues: list[Issue] = []
        for error in self.schema(version).iter_errors(root):
            issues.append(_issue(error))
            if len(issues) >= MAX_ISSUES:
                break
        if issues:
            raise InvalidEvent(issues)


def _issue(error: xmlschema.XMLSchemaValidationError) -> Issue:
    line = getattr(error, "sourceline", None)
    path = error.path or "/"
    where = f"{_plain_path(path)} (line {line})" if line else _plain_path(path)
    reason = error.reason or error.message
    return Issue(where, "b2mml-schema", reason.strip())


def _plain_path(path: str) -> str:
    """An XPath without namespace prefixes, as people read it."""
    return "/".join(step.split(":", 1)[-1] for step in path.split("/"))
