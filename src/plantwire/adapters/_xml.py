"""The one hardened XML parser of plantwire: every adapter that reads XML (B2MML, IDoc) uses it.

Hostile input is refused with an `InvalidEvent` whose issue names the line and column:

- no DTD at all: a document with a DOCTYPE (internal subset, external DTD, entity declarations) is
  refused, so XXE (file:// or http:// entities) and billion-laughs expansion cannot happen;
- entities are never resolved, DTDs never loaded, the network never used (``no_network``);
- libxml2's own limits stay on (``huge_tree`` off): nesting deeper than 256 elements, text nodes or
  attribute values over 10 MB and entity amplification are parse errors;
- a size limit before parsing, and an attribute-length limit after it;
- bytes that are not valid in the declared encoding are parse errors (e.g. invalid UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from plantwire.errors import InvalidEvent, Issue

__all__ = ["XmlLimits", "local_name", "location", "parse_xml"]


@dataclass(frozen=True)
class XmlLimits:
    """How much a document may use; the depth limit is libxml2's (256) while huge_tree is off."""

    max_bytes: int = 16 * 1024 * 1024
    max_attribute_chars: int = 64 * 1024


DEFAULT_LIMITS = XmlLimits()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def location(line: int | None, column: int | None = None) -> str:
    """"line L, column C" as issues say where in a document the problem is."""
    if line is None:
        return "document"
    return f"line {line}" if column is None else f"line {line}, column {column}"


def local_name(tag: object) -> str:
    """The element name without its namespace ("" for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """The root element of `data`, or InvalidEvent locating why the document is refused."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidEvent([Issue("document", "xml-type", "an XML document must be given as bytes")])
    if len(data) > limits.max_bytes:
        raise InvalidEvent([Issue("document", "xml-size",
                                  f"document is {len(data)} bytes; at most {limits.max_bytes}")])
    if not data.strip():
        raise InvalidEvent([Issue("line 1", "xml-empty", "the document is empty")])
    _refuse_doctype_bytes(bytes(data))
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (None, None)
        raise InvalidEvent([Issue(location(line, column), _rule(error), f"not well-formed XML: {error.msg}")]
                           ) from None
    _refuse_dtd(root)
    _check_attributes(root, limits)
    return root


def _rule(error: etree.XMLSyntaxError) -> str:
    text = (error.msg or "").lower()
    if "utf-8" in text or "encoding" in text or "char" in text and "range" in text:
        return "xml-encoding"
    if "depth" in text or "huge" in text or "amplification" in text or "entity" in text:
        return "xml-limit"
    return "xml-syntax"


_DOCTYPES = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
_DTD_REFUSED = ("a DOCTYPE is not allowed: DTDs and entity declarations are refused "
                "(no external entities, no entity expansion)")


def _refuse_doctype_bytes(data: bytes) -> None:
    """Refuse a DOCTYPE before libxml2 sees it, so no DTD is ever read, fetched or expanded."""
    for marker in _DOCTYPES:
        at = data.find(marker)
        if at >= 0:
            line = data.count(b"\n", 0, at) + 1
            column = at - (data.rfind(b"\n", 0, at) + 1) + 1
            raise InvalidEvent([Issue(location(line, column), "xml-dtd", _DTD_REFUSED)])


def _refuse_dtd(root: etree._Element) -> None:
    tree = root.getroottree()
    info = tree.docinfo
    if info.doctype or tree.docinfo.internalDTD is not None or info.system_url or info.public_id:
        raise InvalidEvent([Issue(location(1), "xml-dtd", _DTD_REFUSED)])


def _check_attributes(root: etree._Element, limits: XmlLimits) -> None:
    for element in root.iter():
        for name, value in element.attrib.items():
            if len(value) > limits.max_attribute_chars:
                raise InvalidEvent([Issue(
                    location(element.sourceline), "xml-limit",
                    f"attribute {local_name(name)!r} of <{local_name(element.tag)}> is {len(value)} "
                    f"characters; at most {limits.max_attribute_chars}")])
        if isinstance(element, etree._Entity):
            raise InvalidEvent([Issue(location(element.sourceline), "xml-dtd",
                                      "entity references are not allowed")])
