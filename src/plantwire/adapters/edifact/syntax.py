"""UN/EDIFACT syntax (ISO 9735 v1-v4): service string advice, character sets, segments, release.

Pure functions from bytes to located segments and back. Every problem is an Issue whose path names
the segment number (1-based, UNA not counted), its tag, the element and component, and the line and
column, e.g. ``segment 12 (QTY) element 1.2 at line 14 column 9``.

We tokenize ourselves rather than through pydifact: pydifact reports no segment positions, does not
split syntax-v4 repetitions, and reads one character per Python call (several times slower).
``tests/formats/test_edifact_conformance.py`` checks that both read the corpus alike.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from plantwire.errors import InvalidEvent, Issue

__all__ = ["DEFAULT", "Delimiters", "Document", "Segment", "decode", "locate", "serialize", "tokenize"]

Element = tuple[tuple[str, ...], ...]
"""One data element: its repetitions (one unless syntax v4 repeats it), each a tuple of components."""

BOM = b"\xef\xbb\xbf"
TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
FILLER = " \t\r\n"

# Syntax identifier (UNB S001 0001) -> Python codec of the declared repertoire.
CHARSETS = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "iso8859-1", "UNOD": "iso8859-2", "UNOE": "iso8859-5",
    "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4", "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8", "UNOK": "iso8859-9", "UNOL": "iso8859-15", "UNOW": "utf-8", "UNOY": "utf-8",
    "IATA": "ascii", "IATB": "ascii",
}


@dataclass(frozen=True)
class Delimiters:
    """The service characters of an interchange (UNA, or the defaults)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "
    terminator: str = "'"

    def una(self) -> str:
        """The UNA segment that declares these characters."""
        return (f"UNA{self.component}{self.element}{self.decimal}{self.release}"
                f"{self.repetition}{self.terminator}")

    def specials(self) -> str:
        """The characters that must be released inside data."""
        chars = self.component + self.element + self.release + self.terminator
        return chars + (self.repetition if self.repetition != " " else "")


DEFAULT = Delimiters()


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: tag, elements (repetitions of components), and where it started."""

    tag: str
    elements: tuple[Element, ...]
    number: int = 0
    offset: int = 0

    def get(self, element: int, component: int = 1, default: str = "") -> str:
        """Element `element` (1-based, after the tag), component `component`, first repetition."""
        if element > len(self.elements):
            return default
        first = self.elements[element - 1][0]
        return first[component - 1] if component <= len(first) else default

    def same(self, other: Segment) -> bool:
        """Same tag and values, wherever each stood."""
        return self.tag == other.tag and _trimmed(self.elements) == _trimmed(other.elements)


def _trimmed(elements: tuple[Element, ...]) -> tuple[Element, ...]:
    out = [tuple(tuple(_rstrip(c)) for c in reps) for reps in elements]
    while out and out[-1] in ((), ((),)):
        out.pop()
    return tuple(out)


def _rstrip(components: tuple[str, ...]) -> list[str]:
    parts = list(components)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


@dataclass(frozen=True)
class Document:
    """Decoded text with its delimiters and segments; `locate` turns offsets into line/column."""

    text: str
    delimiters: Delimiters
    segments: tuple[Segment, ...]
    had_una: bool

    def where(self, seg: Segment, element: int | None = None, component: int | None = None) -> str:
        """A located path such as ``segment 4 (DTM) element 1.2 at line 5 column 1``."""
        return locate(self.text, seg, element, component)


def locate(text: str, seg: Segment, element: int | None = None, component: int | None = None) -> str:
    """A person-readable location of a segment (and element/component) in `text`."""
    line, column = line_column(text, seg.offset)
    part = ""
    if element is not None:
        part = f" element {element}" + (f".{component}" if component is not None else "")
    return f"segment {seg.number} ({seg.tag}){part} at line {line} column {column}"


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    starts = [0] + [m.end() for m in re.finditer("\n", text[:offset])]
    index = bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def read_una(data: bytes) -> tuple[Delimiters, int]:
    """The declared delimiters and where the UNB starts, or InvalidEvent for a broken UNA."""
    if not data.startswith(b"UNA"):
        return DEFAULT, 0
    raw = data[3:9]
    where = "segment 0 (UNA) at line 1 column 1"
    try:
        chars = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidEvent([Issue(where, "una", "UNA service characters must be ASCII")]) from None
    if len(chars) < 6:
        raise InvalidEvent([Issue(where, "una", "UNA must declare six service characters")])
    d = Delimiters(*chars)
    used = [d.component, d.element, d.release, d.terminator] + ([d.repetition] * (d.repetition != " "))
    bad = [c for c in used if c.isalnum() or c in "\r\n"]
    if len(set(used)) != len(used) or bad or d.decimal not in ".,":
        raise InvalidEvent([Issue(where, "una", f"UNA declares unusable service characters {chars!r}: "
                                  "separators must be distinct, not letters or digits, decimal . or ,")])
    return d, 9


def decode(data: bytes) -> tuple[str, Delimiters, bool]:
    """Text of an interchange in its declared character set (UTF-8 read leniently for UNOA-UNOL)."""
    data = data[len(BOM):] if data.startswith(BOM) else data
    delimiters, start = read_una(data)
    charset = _syntax_identifier(data[start:start + 40].lstrip(), delimiters)
    codec = CHARSETS.get(charset, "utf-8")
    try:
        # Senders routinely write UTF-8 under UNOA..UNOL; real Latin-n text is almost never valid UTF-8.
        return data.decode("utf-8"), delimiters, start > 0
    except UnicodeDecodeError as exc:
        if codec.startswith("iso8859"):
            return data.decode(codec), delimiters, start > 0
        text = data[: exc.start].decode("utf-8", errors="replace")
        line, column = line_column(text, len(text))
        issue = Issue(f"byte {exc.start} at line {line} column {column}", "charset",
                      f"byte 0x{data[exc.start]:02x} is not valid in {charset or 'UTF-8'} text")
        raise InvalidEvent([issue]) from None


def _syntax_identifier(head: bytes, d: Delimiters) -> str:
    text = head.decode("ascii", errors="replace")
    if not text.startswith("UNB"):
        return ""
    return text[4:].split(d.component, 1)[0].split(d.element, 1)[0][:4]


def tokenize(data: bytes) -> Document:
    """Bytes to located segments, or InvalidEvent naming where the syntax broke."""
    text, d, had_una = decode(data)
    return Document(text, d, tuple(_segments(text, 9 if had_una else 0, d)), had_una)


def _segments(text: str, pos: int, d: Delimiters) -> list[Segment]:
    out: list[Segment] = []
    end = len(text)
    release, term = d.release, d.terminator
    while True:
        while pos < end and text[pos] in FILLER:
            pos += 1
        if pos >= end:
            return out
        stop = text.find(term, pos)
        while stop > 0 and _released(text, stop, release):
            stop = text.find(term, stop + 1)
        probe = Segment(text[pos:pos + 3], (), len(out) + 1, pos)
        if stop < 0:
            raise InvalidEvent([Issue(locate(text, probe), "unterminated-segment",
                                      f"segment does not end with {term!r}: truncated interchange")])
        out.append(_segment(text, pos, stop, d, len(out) + 1))
        pos = stop + 1


def _released(text: str, index: int, release: str) -> bool:
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == release:
        count += 1
    return count % 2 == 1


def _segment(text: str, pos: int, stop: int, d: Delimiters, number: int) -> Segment:
    body = text[pos:stop]
    tag = body[:3]
    probe = Segment(tag, (), number, pos)
    if not TAG.fullmatch(tag) or (len(body) > 3 and body[3] not in (d.element, d.component)):
        raise InvalidEvent([Issue(locate(text, probe), "segment-tag",
                                  f"{body[:12]!r} does not start with a segment tag (three capitals)")])
    tag_end = body.find(d.element)
    rest = body[tag_end + 1:] if tag_end >= 0 else ""
    if d.release not in rest:
        reps = d.repetition if d.repetition != " " and tag not in ("UNA", "UNB") else None
        elements = tuple(_plain_element(e, d.component, reps) for e in rest.split(d.element)) if rest else ()
        return Segment(tag, elements, number, pos)
    return Segment(tag, _released_elements(rest, d, tag), number, pos)


def _plain_element(text: str, comp: str, rep: str | None) -> Element:
    if rep is None or rep not in text:
        return (tuple(text.split(comp)),)
    return tuple(tuple(r.split(comp)) for r in text.split(rep))


def _released_elements(rest: str, d: Delimiters, tag: str) -> tuple[Element, ...]:
    rep = d.repetition if d.repetition != " " and tag not in ("UNA", "UNB") else "\x00"
    elements: list[Element] = []
    reps: list[tuple[str, ...]] = []
    comps: list[str] = []
    buf: list[str] = []
    it = iter(rest)
    for ch in it:
        if ch == d.release:
            buf.append(next(it, ""))
        elif ch == d.component:
            comps.append("".join(buf))
            buf = []
        elif ch == rep or ch == d.element:
            comps.append("".join(buf))
            reps.append(tuple(comps))
            buf, comps = [], []
            if ch == d.element:
                elements.append(tuple(reps))
                reps = []
        else:
            buf.append(ch)
    comps.append("".join(buf))
    reps.append(tuple(comps))
    elements.append(tuple(reps))
    return tuple(elements)


def escape(value: str, d: Delimiters) -> str:
    """A value with its service characters released."""
    specials = d.specials()
    if not any(c in value for c in specials):
        return value
    return "".join(d.release + c if c in specials else c for c in value)


def serialize(segments: list[Segment] | tuple[Segment, ...], d: Delimiters = DEFAULT, una: bool = True,
              newline: bool = True) -> bytes:
    """Segments as interchange bytes (UTF-8), trailing empty elements and components dropped."""
    rep = d.repetition if d.repetition != " " else ""
    lines = [d.una()] if una else []
    for seg in segments:
        elements = _trimmed(seg.elements)
        parts = [seg.tag] + [rep.join(d.component.join(escape(c, d) for c in r) for r in e) for e in elements]
        lines.append(d.element.join(parts) + d.terminator)
    return ("\n" if newline else "").join(lines).encode("utf-8") + (b"\n" if newline else b"")


def seg(tag: str, *elements: str | tuple[str, ...]) -> Segment:
    """A segment from plain values; a tuple is one element's components."""
    return Segment(tag, tuple(((e,),) if isinstance(e, str) else (tuple(e),) for e in elements))
