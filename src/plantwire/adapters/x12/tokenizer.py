"""Bytes to X12 segments: delimiters learnt from each ISA, every segment located by number and line.

The ISA is fixed width (106 characters) and names the delimiters: the element separator at offset
3, the component separator (ISA16) at 104 and the segment terminator at 105. Real files bend this
(short ISA fields, a UTF-8 byte-order mark, indentation, CR/LF after the terminator or as it), so when
the fixed positions do not hold we count element separators instead. Anything that cannot be a
segment (a line break inside one, i.e. a missing terminator; an empty segment; a malformed id) is
recorded as a located problem, not raised, so the 997 can name it; only input that is not X12 at all
raises ``InvalidEvent`` here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from plantwire.errors import InvalidEvent, Issue

ISA_LENGTH = 106
_FIXED_SEPARATORS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_BLANK = " \t\r\n"
_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators an interchange declared in its ISA."""

    element: str = "*"
    component: str = ">"  # "" when the ISA left ISA16 out
    segment: str = "~"
    repetition: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its id, its elements (position 1 first), its number in the file and its line."""

    id: str
    elements: tuple[str, ...]
    number: int
    line: int

    def get(self, position: int) -> str:
        """Element `position` (1-based), or "" when absent."""
        return self.elements[position - 1] if position <= len(self.elements) else ""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong at a place: 997 codes say what (AK3 720 for a segment, AK4 723 for an element)."""

    segment: int
    segment_id: str
    line: int
    element: int | None
    code: str
    message: str
    bad_data: str = ""

    def issue(self) -> Issue:
        """The problem as an Issue whose path names the segment number, id and element position."""
        where = f"segment[{self.segment}]/{self.segment_id}"
        if self.element is not None:
            where += f"{self.element:02d}"
        return Issue(where, f"x12-{'element' if self.element else 'segment'}-{self.code}",
                     f"line {self.line}: {self.message}")


@dataclass
class Tokens:
    """The segments of one interchange (ISA to IEA) and what was wrong with them."""

    delimiters: Delimiters
    segments: list[Segment]
    problems: list[Problem] = field(default_factory=list)


def decode(data: bytes) -> str:
    """The text of an X12 file: UTF-8 (ASCII being a subset), a leading byte-order mark dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InvalidEvent([Issue(f"byte[{error.start}]", "x12-utf8",
                                  f"line {line}: invalid UTF-8 at byte {error.start}")]) from None


def tokenize(data: bytes) -> list[Tokens]:
    """Every interchange of a file as segments; raises InvalidEvent when an ISA cannot be read."""
    text = decode(data)
    out: list[Tokens] = []
    pos, number, line = 0, 0, 1
    while True:
        start = _skip_blank(text, pos)
        line += text.count("\n", pos, start)
        if start >= len(text):
            break
        if not text.startswith("ISA", start):
            what = "the file" if not out else "after IEA"
            raise InvalidEvent([Issue(f"segment[{number + 1}]", "x12-envelope",
                                      f"line {line}: {what} must start with ISA, found "
                                      f"{text[start:start + 10]!r}")])
        tokens, pos, number, line = _interchange(text, start, number, line)
        out.append(tokens)
    if not out:
        raise InvalidEvent([Issue("segment[1]", "x12-envelope", "line 1: empty input, no ISA")])
    return out


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _BLANK:
        pos += 1
    return pos


def _delimiters(text: str, start: int, number: int, line: int) -> tuple[Delimiters, int]:
    """The delimiters of the ISA at `start`, and where its segment terminator is."""
    element = text[start + 3] if len(text) > start + 3 else ""
    if not element or element.isalnum() or element in _BLANK:
        raise _isa_error(number, line, 0, f"element separator {element!r} is not a usable delimiter")
    fixed = text[start:start + ISA_LENGTH]
    if len(fixed) == ISA_LENGTH and all(fixed[i] == element for i in _FIXED_SEPARATORS):
        end = start + ISA_LENGTH - 1
    else:  # not fixed width: ISA16 follows the 16th element separator
        end = start + 3
        for _ in range(15):
            end = text.find(element, end + 1)
            if end < 0:
                raise _isa_error(number, line, 16, "the ISA is truncated: fewer than 16 elements")
        end += 2
        if end >= len(text):
            raise _isa_error(number, line, 16, "the ISA is truncated: no segment terminator")
    component, terminator = text[end - 1], text[end]
    terminator = "\n" if terminator == "\r" else terminator
    if terminator == "\n" and _next_line(text, end).endswith(component):
        # "...*T*~" + newline with the GS line also ending in "~": ISA16 was left out and "~"
        # is the real terminator (a newline after it is layout); no component separator declared
        return Delimiters(element, "", component, None), end - 1
    fields = text[start + 4:end - 2].split(element)
    version = fields[11] if len(fields) > 11 else ""
    repetition = fields[10] if version >= "00402" and len(fields) > 10 else None
    if repetition is not None and (len(repetition) != 1 or repetition.isalnum()):
        repetition = None
    used = [element, component, terminator] + ([repetition] if repetition else [])
    if len(set(used)) != len(used) or terminator.isalnum() or component.isalnum() or component == " ":
        raise _isa_error(number, line, 16, f"delimiters {used!r} are not distinct, usable separators")
    return Delimiters(element, component, terminator, repetition), end


def _next_line(text: str, end: int) -> str:
    start = _skip_blank(text, end + 1)
    stop = text.find("\n", start)
    return (text[start:] if stop < 0 else text[start:stop]).rstrip("\r")


def _isa_error(number: int, line: int, element: int, message: str) -> InvalidEvent:
    return InvalidEvent([Problem(number + 1, "ISA", line, element or None, "isa", message).issue()])


def _interchange(text: str, start: int, number: int, line: int) -> tuple[Tokens, int, int, int]:
    """The segments from the ISA at `start` to its IEA; returns where the next interchange may start."""
    delimiters, end = _delimiters(text, start, number, line)
    tokens = Tokens(delimiters, [])
    term, sep = delimiters.segment, delimiters.element
    isa = text[start:end]
    if term in isa:
        raise _isa_error(number, line, isa[:isa.index(term)].count(sep),
                         "the ISA contains its own segment terminator (broken across lines?)")
    number += 1
    tokens.segments.append(Segment("ISA", tuple(isa.split(sep)[1:]), number, line))
    pos = end + 1
    if term == "\n":  # the ISA's own line break (a CR LF pair when the ISA declared CR)
        pos += text.startswith("\r\n", end)
        line += 1
    while pos < len(text):
        stop = text.find(term, pos)
        raw = text[pos:] if stop < 0 else text[pos:stop]
        lead = len(raw) - len(raw.lstrip(_BLANK))
        line += raw.count("\n", 0, lead)
        body = raw[lead:].rstrip("\r") if term == "\n" else raw[lead:]
        next_pos = len(text) if stop < 0 else stop + len(term)
        if not body:
            if stop < 0:
                break
            number += 1
            tokens.problems.append(Problem(number, "", line, None, "8", "empty segment (blank line)"))
            line += 1 if term == "\n" else 0
            pos = next_pos
            continue
        number += 1
        segment = _segment(body, sep, number, line, tokens.problems, missing_end=stop < 0)
        tokens.segments.append(segment)
        line += body.count("\n") + (1 if term == "\n" else 0)
        pos = next_pos
        if segment.id == "IEA":
            break
    return tokens, pos, number, line


def _segment(body: str, sep: str, number: int, line: int, problems: list[Problem],
             missing_end: bool) -> Segment:
    parts = body.split(sep)
    seg_id = parts[0]
    if not _SEGMENT_ID.fullmatch(seg_id):
        problems.append(Problem(number, seg_id[:3], line, None, "1",
                                f"segment id {seg_id[:20]!r} is not 2-3 upper-case letters or digits"))
    for position, value in enumerate(parts[1:], start=1):
        if "\n" in value or "\r" in value:
            problems.append(Problem(number, seg_id[:3], line, position, "6",
                                    f"line break inside {seg_id[:3]}{position:02d}: a segment "
                                    "terminator is missing or a different one is used", value[:40]))
            break
    if missing_end:
        problems.append(Problem(number, seg_id[:3], line, None, "8",
                                "the last segment has no segment terminator (truncated?)"))
    return Segment(seg_id, tuple(parts[1:]), number, line)
