"""The EDIFACT envelope: UNB/UNZ, UNG/UNE and UNH/UNT with their counts and references checked.

`read_interchange` never raises for a bad envelope: it returns every located fault, because the
CONTRL that answers the interchange has to name them. `require_valid` turns faults into InvalidEvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.edifact.syntax import DEFAULT, Delimiters, Document, Segment, read_una, tokenize
from plantwire.errors import InvalidEvent, Issue

__all__ = ["Fault", "Interchange", "Message", "read_interchange", "require_valid"]

# UN/EDIFACT syntax error codes (data element 0085) used in CONTRL.
MISSING, REFS_DIFFER, COUNT_DIFFERS, OUTSIDE, UNSPECIFIED, INVALID_VALUE, BAD_CHARS = (
    "13", "28", "29", "33", "18", "12", "21")


@dataclass(frozen=True)
class Fault:
    """One envelope or syntax problem: the issue, its 0085 code, and where (for UCM/UCS/UCD)."""

    issue: Issue
    code: str
    message: int | None = None  # index of the message it belongs to; None for the interchange
    segment: Segment | None = None
    element: int | None = None
    component: int | None = None
    position: int | None = None  # segment position within the message (UNH = 1)


@dataclass(frozen=True)
class Message:
    """One UNH..UNT message with its identifier (type, version, release, agency, association code)."""

    ref: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    segments: tuple[Segment, ...]

    @property
    def body(self) -> tuple[Segment, ...]:
        """The segments between UNH and UNT."""
        end = -1 if self.segments and self.segments[-1].tag == "UNT" else len(self.segments)
        return self.segments[1:end]

    def position(self, seg: Segment) -> int:
        """Position of a segment in this message, UNH being 1 (as UCS counts)."""
        return seg.number - self.segments[0].number + 1


@dataclass(frozen=True)
class Interchange:
    """A read interchange: its header fields, messages, and every fault found."""

    document: Document | None
    delimiters: Delimiters
    header: Segment | None
    messages: tuple[Message, ...]
    faults: tuple[Fault, ...] = field(default=())

    @property
    def sender(self) -> str:
        return self.header.get(2) if self.header else ""

    @property
    def recipient(self) -> str:
        return self.header.get(3) if self.header else ""

    @property
    def control_ref(self) -> str:
        return self.header.get(5) if self.header else ""

    @property
    def syntax(self) -> tuple[str, str]:
        """Syntax identifier and version, e.g. ("UNOC", "3")."""
        return (self.header.get(1, 1), self.header.get(1, 2)) if self.header else ("UNOC", "3")

    @property
    def ok(self) -> bool:
        return not self.faults


def require_valid(ic: Interchange) -> Interchange:
    """The interchange, or InvalidEvent listing every located fault."""
    if ic.faults:
        raise InvalidEvent([f.issue for f in ic.faults])
    return ic


def read_interchange(data: bytes) -> Interchange:
    """Tokenize and check the envelope; syntax errors become a single interchange fault."""
    try:
        doc = tokenize(data)
    except InvalidEvent as exc:
        faults = tuple(Fault(i, BAD_CHARS if i.rule == "charset" else UNSPECIFIED) for i in exc.issues)
        return Interchange(None, _sniff_delimiters(data), _sniff_unb(data), (), faults)
    return _Checker(doc).run()


class _Checker:
    """Walks the segments once, building messages and collecting faults."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.faults: list[Fault] = []
        self.messages: list[Message] = []
        self.groups = 0
        self.group_open: Segment | None = None
        self.group_messages = 0

    def fault(self, seg: Segment | None, rule: str, text: str, code: str, element: int | None = None,
              message: int | None = None, position: int | None = None) -> None:
        where = self.doc.where(seg, element) if seg else "end of interchange"
        self.faults.append(Fault(Issue(where, rule, text), code, message, seg, element, None, position))

    def run(self) -> Interchange:
        segs = self.doc.segments
        if not segs:
            self.fault(None, "empty", "no segments", MISSING)
            return self._result(None)
        header = segs[0] if segs[0].tag == "UNB" else None
        if header is None:
            self.fault(segs[0], "missing-unb", f"interchange must start with UNB, found {segs[0].tag}",
                       MISSING)
        else:
            self._check_unb(header)
        i = 1 if header else 0
        trailer: Segment | None = None
        while i < len(segs):
            s = segs[i]
            if trailer is not None:
                self.fault(s, "after-unz", f"{s.tag} after UNZ", OUTSIDE)
                break
            if s.tag == "UNH":
                i = self._message(segs, i)
                continue
            if s.tag == "UNZ":
                trailer = s
            elif s.tag in ("UNG", "UNE"):
                self._group(s)
            elif not (self.faults and self.faults[-1].issue.rule == "outside-message"):
                self.fault(s, "outside-message", f"{s.tag} outside any UNH..UNT message (and any that "
                           "follow it up to the next UNH)", OUTSIDE)
            i += 1
        self._close(header, trailer)
        return self._result(header)

    def _result(self, header: Segment | None) -> Interchange:
        return Interchange(self.doc, self.doc.delimiters, header, tuple(self.messages), tuple(self.faults))

    def _check_unb(self, unb: Segment) -> None:
        if not unb.get(1, 1) or not unb.get(1, 2):
            self.fault(unb, "unb-syntax", "UNB lacks the syntax identifier and version (S001)", MISSING, 1)
        if not unb.get(5):
            self.fault(unb, "unb-reference", "UNB lacks the interchange control reference (0020)", MISSING, 5)

    def _group(self, s: Segment) -> None:
        if s.tag == "UNG":
            if self.group_open:
                self.fault(s, "unexpected-ung", "UNG before the previous group's UNE", OUTSIDE)
            self.group_open, self.group_messages, self.groups = s, 0, self.groups + 1
            return
        if self.group_open is None:
            self.fault(s, "unexpected-une", "UNE without a UNG", OUTSIDE)
            return
        if s.get(1) != str(self.group_messages):
            self.fault(s, "une-count", f"UNE counts {s.get(1)!r} messages; the group has "
                       f"{self.group_messages}", COUNT_DIFFERS, 1)
        if s.get(2) != self.group_open.get(5):
            self.fault(s, "une-reference", f"UNE reference {s.get(2)!r} differs from UNG's "
                       f"{self.group_open.get(5)!r}", REFS_DIFFER, 2)
        self.group_open = None

    def _message(self, segs: tuple[Segment, ...], start: int) -> int:
        unh = segs[start]
        index = len(self.messages)
        end = start + 1
        while end < len(segs) and segs[end].tag not in ("UNT", "UNH", "UNZ", "UNE", "UNG"):
            end += 1
        closed = end < len(segs) and segs[end].tag == "UNT"
        body = segs[start:end + 1] if closed else segs[start:end]
        ident = unh.elements[1][0] if len(unh.elements) > 1 else ()
        parts = [*ident, "", "", "", "", ""][:5]
        kind, version, release, agency, association = parts[:5]
        self.messages.append(Message(unh.get(1), kind, version, release, agency, association, tuple(body)))
        self.group_messages += 1
        if not unh.get(1) or not parts[0]:
            self.fault(unh, "unh", "UNH lacks the message reference (0062) or type (S009)", MISSING, 1,
                       index, 1)
        if not closed:
            self.fault(unh, "missing-unt", f"message {unh.get(1)!r} has no UNT", MISSING, None, index, 1)
            return end
        self._check_unt(unh, segs[end], index)
        return end + 1

    def _check_unt(self, unh: Segment, unt: Segment, index: int) -> None:
        actual = unt.number - unh.number + 1
        position = actual
        if unt.get(1) != str(actual):
            self.fault(unt, "unt-count", f"UNT counts {unt.get(1)!r} segments; the message has {actual} "
                       "(UNH to UNT)", COUNT_DIFFERS, 1, index, position)
        if unt.get(2) != unh.get(1):
            self.fault(unt, "unt-reference", f"UNT reference {unt.get(2)!r} differs from UNH's "
                       f"{unh.get(1)!r}", REFS_DIFFER, 2, index, position)

    def _close(self, header: Segment | None, trailer: Segment | None) -> None:
        if self.group_open is not None:
            self.fault(self.group_open, "missing-une", "group has no UNE", MISSING)
        if header is None:
            return
        if trailer is None:
            self.fault(None, "missing-unz", "interchange has no UNZ: truncated", MISSING)
            return
        expected = self.groups or len(self.messages)
        if trailer.get(1) != str(expected):
            what = "groups" if self.groups else "messages"
            self.fault(trailer, "unz-count", f"UNZ counts {trailer.get(1)!r}; the interchange has {expected} "
                       f"{what}", COUNT_DIFFERS, 1)
        if trailer.get(2) != header.get(5):
            self.fault(trailer, "unz-reference", f"UNZ reference {trailer.get(2)!r} differs from UNB's "
                       f"{header.get(5)!r}", REFS_DIFFER, 2)


def _sniff_delimiters(data: bytes) -> Delimiters:
    try:
        return read_una(data.removeprefix(b"\xef\xbb\xbf"))[0]
    except InvalidEvent:
        return DEFAULT


def _sniff_unb(data: bytes) -> Segment | None:
    """The UNB of an interchange whose later syntax is broken, so a CONTRL can still be addressed."""
    d = _sniff_delimiters(data)
    text = data.decode("latin-1")
    at = text.find("UNB" + d.element)
    end = text.find(d.terminator, at)
    if at < 0 or end < 0:
        return None
    try:
        doc = tokenize((d.una() + text[at:end + 1]).encode("latin-1"))
    except InvalidEvent:
        return None
    return doc.segments[0] if doc.segments else None
