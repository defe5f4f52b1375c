"""The supplier's own small X12 translator: reads interchanges, writes 997s and 855s.

It stands for the EDI software on the supplier's side, so it shares nothing with the hub's X12
adapter. Deliberately small: separators from the ISA (element at offset 3, component at 104,
segment terminator at 105), ISA/GS/ST nesting, SE01 segment count and SE02 control number checked,
and just the segments the portal needs. It is not a validator; the hub's adapter is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

ISA_LENGTH = 106


class X12Error(Exception):
    """The bytes are not an interchange this translator can read (no 997 home: answered 400)."""


@dataclass(frozen=True)
class Seg:
    """One segment: id and elements, position 1 first."""

    id: str
    elements: tuple[str, ...]

    def get(self, position: int) -> str:
        """Element `position` (1-based), "" when absent."""
        return self.elements[position - 1].strip() if position <= len(self.elements) else ""


@dataclass
class TSet:
    """ST to SE, with the 997 AK5 code of what is wrong with it ("" when nothing)."""

    id: str
    control: str
    segments: list[Seg]
    error: str = ""
    detail: str = ""

    @property
    def body(self) -> list[Seg]:
        """The segments between ST and SE."""
        return self.segments[1:-1] if self.segments[-1].id == "SE" else self.segments[1:]


@dataclass
class Group:
    """GS to GE: functional id, application codes, control number, version and sets."""

    functional_id: str
    sender: str
    receiver: str
    control: str
    version: str
    sets: list[TSet] = field(default_factory=list)


@dataclass
class Interchange:
    """ISA to IEA: the parties (qualifier, id), control number, usage and groups."""

    sender: tuple[str, str]
    receiver: tuple[str, str]
    control: str
    usage: str
    groups: list[Group] = field(default_factory=list)


def read(data: bytes) -> Interchange:
    """One interchange; X12Error when its envelope cannot be read."""
    try:
        text = data.decode("utf-8").lstrip("\ufeff \r\n\t")
    except UnicodeDecodeError as error:
        raise X12Error(f"not UTF-8 at byte {error.start}") from None
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        raise X12Error("an interchange starts with a 106-character ISA segment")
    element, terminator = text[3], text[105]
    segments = [Seg(parts[0], tuple(parts[1:]))
                for raw in text.split(terminator) if (line := raw.strip(" \r\n\t"))
                for parts in [line.split(element)]]
    isa = segments[0]
    if len(isa.elements) != 16:
        raise X12Error(f"the ISA has {len(isa.elements)} elements, not 16")
    if segments[-1].id != "IEA":
        raise X12Error("the interchange has no IEA trailer")
    ic = Interchange((isa.get(5), isa.get(6)), (isa.get(7), isa.get(8)), isa.get(13), isa.get(15))
    _nest(segments[1:-1], ic)
    return ic


def _nest(segments: Sequence[Seg], ic: Interchange) -> None:
    group: Group | None = None
    tset: TSet | None = None
    for seg in segments:
        if seg.id == "GS":
            group = Group(seg.get(1), seg.get(2), seg.get(3), seg.get(6), seg.get(8))
            ic.groups.append(group)
        elif seg.id == "GE":
            group = None
        elif group is None:
            raise X12Error(f"{seg.id} outside a functional group")
        elif seg.id == "ST":
            tset = TSet(seg.get(1), seg.get(2), [seg])
            group.sets.append(tset)
        elif tset is not None and tset.segments[-1].id != "SE":
            tset.segments.append(seg)
            if seg.id == "SE":
                _close(tset, seg)
        else:
            raise X12Error(f"{seg.id} outside a transaction set")
    for g in ic.groups:
        for s in g.sets:
            if s.segments[-1].id != "SE" and not s.error:
                s.error, s.detail = "2", "no SE trailer"


def _close(tset: TSet, se: Seg) -> None:
    if se.get(2) != tset.control:
        tset.error, tset.detail = "3", f"SE02 {se.get(2)!r} does not match ST02 {tset.control!r}"
    elif se.get(1) != str(len(tset.segments)):
        tset.error, tset.detail = "4", f"SE01 says {se.get(1)} segments, the set has {len(tset.segments)}"


def first(segments: Sequence[Seg], seg_id: str, qualifier: str | None = None) -> Seg | None:
    """The first segment with this id (and element 1 equal to `qualifier`, when given)."""
    return next((s for s in segments if s.id == seg_id and qualifier in (None, s.get(1))), None)


def loops(body: Sequence[Seg], start: str) -> list[list[Seg]]:
    """Each loop beginning with a `start` segment, up to the next one or CTT."""
    out: list[list[Seg]] = []
    for seg in body:
        if seg.id == start:
            out.append([seg])
        elif seg.id in ("CTT", "AMT"):
            break
        elif out:
            out[-1].append(seg)
    return out


def pairs(seg: Seg, first_at: int) -> dict[str, str]:
    """Qualifier/value pairs from element `first_at` on (PO1 product ids)."""
    found: dict[str, str] = {}
    for i in range(first_at, len(seg.elements) + 1, 2):
        if seg.get(i) and seg.get(i + 1):
            found.setdefault(seg.get(i), seg.get(i + 1))
    return found


@dataclass(frozen=True)
class Envelope:
    """Who writes to whom: ISA qualifier/id pairs and GS application codes, version and usage."""

    sender: tuple[str, str]
    receiver: tuple[str, str]
    gs_sender: str
    gs_receiver: str
    version: str
    usage: str = "P"


def write(set_id: str, functional_id: str, body: list[list[str]], env: Envelope, control: int,
          at: datetime, miscount: int = 0) -> bytes:
    """One interchange with one group holding one set; `miscount` falsifies SE01 (a broken partner)."""
    isa_control, st_control = f"{control:09d}", "0001"
    segments = [
        ["ISA", "00", " " * 10, "00", " " * 10, env.sender[0], env.sender[1].ljust(15), env.receiver[0],
         env.receiver[1].ljust(15), f"{at:%y%m%d}", f"{at:%H%M}", "U", "00401", isa_control, "0",
         env.usage, ">"],
        ["GS", functional_id, env.gs_sender, env.gs_receiver, f"{at:%Y%m%d}", f"{at:%H%M}", str(control), "X",
         env.version],
        ["ST", set_id, st_control], *body, ["SE", str(len(body) + 2 + miscount), st_control],
        ["GE", "1", str(control)], ["IEA", "1", isa_control],
    ]
    return "".join("*".join(_trim(s)) + "~\n" for s in segments).encode()


def _trim(segment: list[str]) -> list[str]:
    items = list(segment)
    while len(items) > 1 and items[-1] == "":
        items.pop()
    return items


def ack_997(group: Group) -> list[list[str]]:
    """The 997 body for a received group: AK2/AK5 per set, AK9 for the group."""
    body = [["AK1", group.functional_id, group.control]]
    for s in group.sets:
        body += [["AK2", s.id, s.control], ["AK5", "R" if s.error else "A", s.error]]
    accepted = sum(1 for s in group.sets if not s.error)
    status = "A" if accepted == len(group.sets) else ("R" if accepted == 0 else "P")
    body.append(["AK9", status, str(len(group.sets)), str(len(group.sets)), str(accepted)])
    return body


def read_997(tset: TSet) -> tuple[str, str, str]:
    """(acknowledged group's functional id, its control number, AK9 status) of a received 997."""
    ak1, ak9 = first(tset.body, "AK1"), first(tset.body, "AK9")
    if ak1 is None or ak9 is None:
        raise X12Error(f"997 {tset.control} has no AK1 or AK9")
    return ak1.get(1), ak1.get(2), ak9.get(1)
